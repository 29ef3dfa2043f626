"""The booking forms (public and staff), the agenda filter and the outcome form: field
rules and the messages shown next to each field."""

from datetime import date, timedelta

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from clinic import uktime
from clinic.leads.contact import normalise_email, normalise_phone

DEFAULT_DAYS = 7
FIRST_YEAR, LAST_YEAR = 2000, 2999
LONGEST_RANGE = 62  # days: two months of calls is as much as one page should hold

CONSENT_TEXT = (
    "Contact me about this request for a free discovery call and use what I write about my "
    "health to prepare for it, as described in the privacy notice."
)


class Attribution:
    """Hidden fields that carry the visit's first touch from the browser to the lead."""

    source = HiddenField(name="from", validators=[Length(max=120)])
    landing_page = HiddenField(validators=[Length(max=500)])
    referrer = HiddenField(validators=[Length(max=500)])
    utm_source = HiddenField(validators=[Length(max=200)])
    utm_medium = HiddenField(validators=[Length(max=200)])
    utm_campaign = HiddenField(validators=[Length(max=200)])
    utm_term = HiddenField(validators=[Length(max=200)])
    utm_content = HiddenField(validators=[Length(max=200)])


class BookingForm(Attribution, FlaskForm):
    clinic = StringField("Clinic", validators=[InputRequired("Choose a clinic.")])
    date = StringField("Day", validators=[Optional()])
    slot = StringField("Time", validators=[InputRequired("Choose a time for your call.")])
    name = StringField(
        "Full name",
        validators=[
            InputRequired("Enter your name."),
            Length(min=2, max=120, message="Enter your name (2 to 120 characters)."),
        ],
    )
    email = EmailField(
        "E-mail address", validators=[InputRequired("Enter your e-mail address."), normalise_email]
    )
    phone = TelField(
        "Phone number",
        validators=[InputRequired("Enter a phone number we can call you on."), normalise_phone],
    )
    message = TextAreaField(
        "What would you like help with? (optional)",
        validators=[Optional(), Length(max=2000, message="Keep this under 2,000 characters.")],
    )
    consent = BooleanField(
        CONSENT_TEXT,
        validators=[DataRequired("Tick the box so that we may contact you about this request.")],
    )
    marketing_opt_in = BooleanField(
        "Send me occasional news and articles from ProHealth Clinic (optional)."
    )
    website = StringField("Leave this field empty")
    idempotency_key = HiddenField(validators=[Length(max=64)])

    def attribution(self) -> dict:
        names = (
            "landing_page",
            "referrer",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "utm_term",
            "utm_content",
        )
        values = {name: (getattr(self, name).data or "").strip() or None for name in names}
        values["source_article"] = (self.source.data or "").strip() or None
        return values


class StaffBookingForm(FlaskForm):
    """A call staff book for a lead on the phone: the person's details come from the lead."""

    clinic = StringField("Clinic", validators=[InputRequired("Choose a clinic.")])
    date = StringField("Day", validators=[Optional()])
    slot = StringField("Time", validators=[InputRequired("Choose a time for the call.")])
    message = TextAreaField(
        "What they would like help with (optional)",
        validators=[Optional(), Length(max=2000, message="Keep this under 2,000 characters.")],
    )
    idempotency_key = HiddenField(validators=[Length(max=64)])


class StaffMoveForm(FlaskForm):
    date = StringField("Day", validators=[Optional()])
    slot = StringField("New time", validators=[InputRequired("Choose a new time for the call.")])


class RescheduleForm(FlaskForm):
    date = StringField("Day", validators=[Optional()])
    slot = StringField("New time", validators=[InputRequired("Choose a new time for your call.")])


class CancelForm(FlaskForm):
    pass


def in_years(_form, field) -> None:
    """Refuse a date no call can be on (9999-12-31 would overflow a day later): a clear 422."""
    if field.data and not FIRST_YEAR <= field.data.year <= LAST_YEAR:
        raise ValidationError(f"Enter a date from the year {FIRST_YEAR} to {LAST_YEAR}.")


class AgendaFilter(FlaskForm):
    """Which calls to list: read from the query string, so no CSRF token (it changes nothing)."""

    class Meta:
        csrf = False

    clinic = SelectField("Clinic", choices=[SelectChoice("", "All clinics")], default="")
    start = DateField("From", name="from", default=uktime.today, validators=[Optional(), in_years])
    end = DateField("To", name="to", validators=[Optional(), in_years])

    def first_day(self) -> date:
        return self.start.data or uktime.today()

    def last_day(self) -> date:
        return self.end.data or self.first_day() + timedelta(days=DEFAULT_DAYS)

    def forget_unreadable_dates(self) -> None:
        """A date input cannot show what is not a date: leave such fields empty."""
        for field in (self.start, self.end):
            if field.process_errors:
                field.raw_data = []

    def validate_end(self, field) -> None:
        if self.start.errors or field.errors:
            return  # a date out of range: nothing to compare
        if self.last_day() < self.first_day():
            raise ValidationError("The end date must be the same as or after the start date.")
        if (self.last_day() - self.first_day()).days > LONGEST_RANGE:
            raise ValidationError(f"Choose at most {LONGEST_RANGE} days at a time.")


class OutcomeForm(FlaskForm):
    outcome = SelectField(
        "Outcome",
        choices=[SelectChoice("done", "Call done"), SelectChoice("no_show", "No show")],
        validators=[InputRequired("Choose whether the call took place.")],
    )
    next = HiddenField()
