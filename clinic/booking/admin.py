"""Staff pages for calls: the agenda per UK day and clinic, each call's outcome, and booking,
moving or cancelling a call for a patient on the phone."""

import secrets
from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from clinic import uktime
from clinic.accounts.roles import no_store, require_roles
from clinic.booking import catalogue, picker, queries, services
from clinic.booking.forms import (
    AgendaFilter,
    CancelForm,
    OutcomeForm,
    StaffBookingForm,
    StaffMoveForm,
)
from clinic.booking.models import Booking
from clinic.booking.picker import read_choice, read_time
from clinic.booking.services import (
    STATUS_LABELS,
    OutcomeRefused,
    can_take_outcome,
    record_outcome,
)
from clinic.content.models import Clinic
from clinic.extensions import db
from clinic.leads import services as leads
from clinic.leads.models import Lead
from clinic.uktime import to_local
from clinic.untrusted_urls import local_path

# The prefix is /admin, not /admin/bookings, so that a call is booked from its lead's address
# (/admin/leads/<id>/calls/new) and moved or cancelled at /admin/calls/<id>/...
bp = Blueprint("booking_admin", __name__, url_prefix="/admin")
bp.before_request(require_roles("staff"))
bp.after_request(no_store)


@bp.get("/bookings")
def agenda():
    """List calls per UK day and clinic, with buttons to record how each call went."""
    clinics = list(db.session.scalars(sa.select(Clinic).order_by(Clinic.id)))
    form = AgendaFilter(request.args)
    form.clinic.choices += [SelectChoice(c.slug, c.city) for c in clinics]
    if not form.validate():
        form.forget_unreadable_dates()
        return _render_agenda(form, days=[]), 422
    clinic = next((c for c in clinics if c.slug == form.clinic.data), None)
    first, last = form.first_day(), form.last_day()
    form.end.data = last  # show the end the list uses, also when it came from the default
    calls = services.agenda(first, last, clinic)
    page = _render_agenda(form, days=queries.by_day_and_clinic(calls), first=first, last=last)
    # Render first: committing expires the loaded calls, and reloading them costs a query each.
    db.session.commit()
    return page


def _render_agenda(form: AgendaFilter, **context) -> str:
    return render_template(
        "booking_admin/agenda.html",
        form=form,
        today=uktime.today(),
        local=to_local,
        can_take_outcome=can_take_outcome,
        can_change=services.can_change,
        status_labels=STATUS_LABELS,
        **context,
    )


@bp.post("/bookings/<int:booking_id>/outcome")
def outcome(booking_id: int):
    """Record that a call took place, or that the patient did not answer."""
    booking = db.get_or_404(Booking, booking_id)
    form = OutcomeForm()
    back = local_path(form.next.data, url_for(".agenda"))
    if not form.validate_on_submit():
        return _refused("Choose “Call done” or “No show”.", back, 422)
    try:
        record_outcome(booking, form.outcome.data, current_user.email)
    except OutcomeRefused as refusal:
        return _refused(str(refusal), back, 409)
    db.session.commit()
    local = to_local(booking.starts_at)
    flash(
        f"The {local:%H:%M} call in {booking.clinic.city} on {local.day} {local:%B} is "
        f"now marked “{STATUS_LABELS[booking.status]}”."
    )
    return redirect(back, 303)


def _refused(
    message: str,
    back: str,
    status: int,
    heading="We could not record that outcome",
    back_label="Back to the calls",
):
    return render_template(
        "admin/problem.html",
        heading=heading,
        message=message,
        back_url=back,
        back_label=back_label,
    ), status


# ---- Booking, moving and cancelling a call for a patient on the phone ----


@bp.route("/leads/<int:lead_id>/calls/new", methods=["GET", "POST"])
def new_call(lead_id: int):
    """Book a call for a lead on the phone, from the times the booking form would offer."""
    lead = db.get_or_404(Lead, lead_id)
    if lead.erased_at is not None:
        return _refused_for_lead(
            "This person's details were erased, so no call can be booked for them.", lead_id, "book"
        )
    form = StaffBookingForm()
    if not form.is_submitted() or request.form.get("action") == "times":
        return _render_new_call(lead, form)
    valid = form.validate()
    clinic, start = read_choice(form)
    if not valid or form.clinic.errors or form.slot.errors:
        return _render_new_call(lead, form, 422)
    try:
        booking_id = services.book_call(_request(lead, form, clinic, start), current_user.email)
    except services.SlotUnavailable as refusal:
        lead = db.session.get(Lead, lead_id)  # reloaded: a lost race was rolled back
        return _render_new_call(lead, form, 409, picker.refuse(form, refusal))
    return _booked(booking_id)


def _request(lead: Lead, form: StaffBookingForm, clinic, start: datetime) -> services.Request:
    """Book with the lead's own details and consent (given online, or by phone when staff
    added them), neither changed here: a tick nobody asked for would prove nothing."""
    return services.Request(
        clinic=clinic,
        start=start,
        name=lead.name,
        email=lead.email,
        phone=lead.phone,
        message=(form.message.data or "").strip() or None,
        consent_text=None,
        marketing_opt_in=False,
        attribution=dict(leads.PHONE_ATTRIBUTION),
        idempotency_key=form.idempotency_key.data or None,
    )


def _booked(booking_id: int):
    """Back to the lead, saying what the form booked (also when it is sent again later)."""
    booking = db.session.get(Booking, booking_id)
    if booking.is_active:
        flash(
            f"The call is booked: {_when(booking)}. {booking.lead.name} gets the confirmation "
            "e-mail with a link to change or cancel it."
        )
    else:
        flash(
            f"This form had already booked the call on {_when(booking)}, which is now marked "
            f"“{STATUS_LABELS[booking.status]}”. Nothing new was booked."
        )
    return redirect(_lead_url(booking.lead_id), 303)


def _render_new_call(lead: Lead, form: StaffBookingForm, status: int = 200, alternatives=()):
    if not form.idempotency_key.data:
        form.idempotency_key.data = secrets.token_urlsafe(24)
    clinic = catalogue.by_slug(form.clinic.data)
    context = picker.context(form, clinic, catalogue.clinics(), alternatives)
    return render_template("booking_admin/new_call.html", lead=lead, **context), status


MOVED = "The call has moved to {when}. {name} gets an e-mail with the new time."


@bp.route("/calls/<int:booking_id>/move", methods=["GET", "POST"])
def move(booking_id: int):
    """Move a call to another free time at the same clinic, for a patient on the phone."""
    booking = db.get_or_404(Booking, booking_id)
    if refused := _unchangeable(booking, "move"):
        return refused
    form = StaffMoveForm()
    if not form.is_submitted() or request.form.get("action") == "times":
        return _render_move(booking, form)
    valid, start = form.validate(), read_time(form)
    if not valid or start is None or form.slot.errors:
        form.slot.errors = form.slot.errors or [picker.CHOOSE]
        return _render_move(booking, form, 422)
    try:
        services.move_call(booking, start, actor=current_user.email)
    except services.SlotUnavailable as refusal:
        booking = db.session.get(Booking, booking_id)  # reloaded: the move was rolled back
        return _render_move(booking, form, 409, picker.refuse(form, refusal))
    flash(MOVED.format(when=_when(booking), name=booking.lead.name))
    return redirect(_lead_url(booking.lead_id), 303)


def _render_move(booking: Booking, form: StaffMoveForm, status: int = 200, alternatives=()):
    context = picker.context(form, catalogue.by_id(booking.clinic_id), alternatives=alternatives)
    return render_template("booking_admin/move.html", booking=booking, **context), status


@bp.route("/calls/<int:booking_id>/cancel", methods=["GET", "POST"])
def cancel(booking_id: int):
    """Ask once more, then cancel the call: the patient is told and the time is free again."""
    booking = db.get_or_404(Booking, booking_id)
    if refused := _unchangeable(booking, "cancel"):
        return refused
    form = CancelForm()
    if not form.validate_on_submit() or request.form.get("confirm") != "yes":
        return render_template(
            "booking_admin/cancel.html", booking=booking, form=form, when=_when(booking)
        )
    services.cancel_call(booking, actor=current_user.email)
    flash(
        f"The call on {_when(booking)} is cancelled. {booking.lead.name} gets an e-mail "
        "saying so, and the time is free for others."
    )
    return redirect(_lead_url(booking.lead_id), 303)


def _unchangeable(booking: Booking, verb: str):
    """A page saying why staff cannot move or cancel this call (409), or None if they can."""
    try:
        services.refuse_change(booking)
    except services.ChangeRefused as refusal:
        return _refused_for_lead(str(refusal), booking.lead_id, verb)
    return None


def _refused_for_lead(message: str, lead_id: int, verb: str):
    return _refused(
        message, _lead_url(lead_id), 409, f"We could not {verb} the call", "Back to the lead"
    )


def _when(booking: Booking) -> str:
    return f"{uktime.call_time(booking.starts_at, year=False)}, {booking.clinic.name}"


def _lead_url(lead_id: int) -> str:
    return url_for("leads_admin.detail", lead_id=lead_id)
