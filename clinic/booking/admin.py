"""Staff pages for calls: the agenda per UK day and clinic, and each call's outcome."""

from datetime import date, timedelta

import phonenumbers
import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional, ValidationError

from clinic.accounts.roles import no_store, require_roles
from clinic.accounts.urls import safe_next
from clinic.audit.services import record
from clinic.booking import queries
from clinic.booking.models import Booking
from clinic.booking.services import (
    STATUS_LABELS,
    OutcomeRefused,
    can_take_outcome,
    record_outcome,
    uk_today,
)
from clinic.booking.slots import to_local
from clinic.content.models import Clinic
from clinic.extensions import db

bp = Blueprint("booking_admin", __name__, url_prefix="/admin/bookings")
bp.before_request(require_roles("staff"))
bp.after_request(no_store)

DEFAULT_DAYS = 7
FIRST_YEAR, LAST_YEAR = 2000, 2999
LONGEST_RANGE = 62  # days: two months of calls is as much as one page should hold


def in_years(_form, field) -> None:
    """Refuse a date no call can be on (9999-12-31 would overflow a day later): a clear 422."""
    if field.data and not FIRST_YEAR <= field.data.year <= LAST_YEAR:
        raise ValidationError(f"Enter a date from the year {FIRST_YEAR} to {LAST_YEAR}.")


class AgendaFilter(FlaskForm):
    """Which calls to list: read from the query string, so no CSRF token (it changes nothing)."""

    class Meta:
        csrf = False

    clinic = SelectField("Clinic", choices=[SelectChoice("", "All clinics")], default="")
    start = DateField("From", name="from", default=uk_today, validators=[Optional(), in_years])
    end = DateField("To", name="to", validators=[Optional(), in_years])

    def first_day(self) -> date:
        return self.start.data or uk_today()

    def last_day(self) -> date:
        return self.end.data or self.first_day() + timedelta(days=DEFAULT_DAYS)

    def validate_end(self, field) -> None:
        if self.start.errors or field.errors:
            return  # a date out of range: nothing to compare
        if self.last_day() < self.first_day():
            raise ValidationError("The end date must be the same as or after the start date.")
        if (self.last_day() - self.first_day()).days > LONGEST_RANGE:
            raise ValidationError(f"Choose at most {LONGEST_RANGE} days at a time.")


class OutcomeForm(FlaskForm):
    outcome = SelectField(
        "Outcome", choices=[SelectChoice("done", "Call done"), SelectChoice("no_show", "No show")],
        validators=[InputRequired("Choose whether the call took place.")],
    )  # fmt: skip
    next = HiddenField()


def display_phone(number: str | None) -> str:
    """Show an E.164 number the way people write it: national for the UK, else international."""
    if not number:
        return ""
    try:
        parsed = phonenumbers.parse(number, "GB")
    except phonenumbers.NumberParseException:
        return number
    style = phonenumbers.PhoneNumberFormat
    return phonenumbers.format_number(
        parsed, style.NATIONAL if parsed.country_code == 44 else style.INTERNATIONAL
    )


@bp.get("")
def agenda():
    """List calls per UK day and clinic, with buttons to record how each call went."""
    clinics = list(db.session.scalars(sa.select(Clinic).order_by(Clinic.id)))
    form = AgendaFilter(request.args)
    form.clinic.choices = [SelectChoice("", "All clinics"),
                           *(SelectChoice(c.slug, c.city) for c in clinics)]  # fmt: skip
    if not form.validate():
        for field in (form.start, form.end):
            if field.process_errors:
                field.raw_data = []  # a date input cannot show what is not a date
        return _render_agenda(form, days=[]), 422
    clinic = next((c for c in clinics if c.slug == form.clinic.data), None)
    first, last = form.first_day(), form.last_day()
    form.end.data = last  # show the end the list uses, also when it came from the default
    calls = queries.calls_between(first, last, clinic)
    days = queries.by_day_and_clinic(calls)
    # Who looked at whose calls: the filter and the ids of the leads listed, never their details.
    leads = ",".join(map(str, dict.fromkeys(call.lead_id for call in calls)))
    record("agenda_viewed", "lead", None, f"clinic={clinic.slug if clinic else 'all'} "
           f"from={first.isoformat()} to={last.isoformat()} leads={leads or 'none'}")  # fmt: skip
    page = _render_agenda(form, days=days, first=first, last=last)
    # Render first: committing expires the loaded calls, and reloading them costs a query each.
    db.session.commit()
    return page


def _render_agenda(form: AgendaFilter, **context) -> str:
    return render_template(
        "booking_admin/agenda.html", form=form, today=uk_today(), local=to_local,
        can_take_outcome=can_take_outcome, status_labels=STATUS_LABELS,
        display_phone=display_phone, **context,
    )  # fmt: skip


@bp.post("/<int:booking_id>/outcome")
def outcome(booking_id: int):
    """Record that a call took place, or that the patient did not answer."""
    booking = db.get_or_404(Booking, booking_id)
    form = OutcomeForm()
    back = safe_next(form.next.data, url_for(".agenda"))
    if not form.validate_on_submit():
        return _refused("Choose “Call done” or “No show”.", back, 422)
    try:
        record_outcome(booking, form.outcome.data, current_user.email)
    except OutcomeRefused as refusal:
        return _refused(str(refusal), back, 409)
    record("booking_outcome", "booking", booking.id, detail=form.outcome.data)
    db.session.commit()
    local = to_local(booking.starts_at)
    flash(f"The {local:%H:%M} call in {booking.clinic.city} on {local.day} {local:%B} is "
          f"now marked “{STATUS_LABELS[booking.status]}”.")  # fmt: skip
    return redirect(back, 303)


def _refused(message: str, back: str, status: int):
    return render_template(
        "admin/problem.html", heading="We could not record that outcome", message=message,
        back_url=back, back_label="Back to the calls",
    ), status  # fmt: skip
