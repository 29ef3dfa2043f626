"""The booking form: field rules and the messages shown next to each field."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, StringField, TelField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from clinic.leads.contact import normalise_email, normalise_phone

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
