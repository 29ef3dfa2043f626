"""Staff forms on a lead's page: pipeline status and owner, a note, erasure."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField, TelField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from clinic.leads.contact import normalise_email, normalise_phone
from clinic.leads.models import STATUS_LABELS

NOTE_LENGTH = 5000


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class StatusForm(FlaskForm):
    """Status and owner; the view gives `set_owners` the users who may own this lead."""

    # Our own messages, not WTForms' "Not a valid choice".
    status = SelectField(
        "Status",
        choices=[SelectChoice(value, label) for value, label in STATUS_LABELS.items()],
        validate_choice=False,
    )
    owner = SelectField("Owner", choices=[SelectChoice("", "Nobody")], validate_choice=False)

    def set_owners(self, choices: list[tuple[str, str]]) -> None:
        self.owner.choices = [SelectChoice(value, label) for value, label in choices]

    def validate_status(self, field) -> None:
        if field.data not in STATUS_LABELS:
            raise ValidationError("Choose a status from the list.")

    def validate_owner(self, field) -> None:
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError("Choose an owner from the list.")

    @property
    def owner_id(self) -> int | None:
        return int(self.owner.data) if self.owner.data else None


def _name_field(label: str) -> StringField:
    """A person's name, by the booking form's rule (2 to 120 characters)."""
    return StringField(
        label,
        filters=[_strip],
        validators=[
            InputRequired("Enter the person's name."),
            Length(min=2, max=120, message="Enter the name (2 to 120 characters)."),
        ],
    )


class ContactForm(FlaskForm):
    """Correct a lead's name or phone after speaking to them (the booking form never does)."""

    name = _name_field("Name")
    phone = TelField("Phone", validators=[InputRequired("Enter a phone number."), normalise_phone])


class PhonedLeadForm(FlaskForm):
    """A person who phoned: the booking form's rules for their details, and their consent."""

    name = _name_field("Full name")
    email = EmailField(
        "E-mail address",
        validators=[InputRequired("Enter their e-mail address."), normalise_email],
    )
    phone = TelField(
        "Phone number",
        validators=[InputRequired("Enter a phone number we can call them on."), normalise_phone],
    )
    consent = BooleanField(
        "They agreed on the phone that we keep these details to arrange a free discovery call, "
        "contact them about it and use what they tell us about their health to prepare for it.",
        validators=[
            DataRequired(
                "Tick the box once they have agreed: without their agreement "
                "we cannot keep their details."
            )
        ],
    )


class NoteForm(FlaskForm):
    note = TextAreaField(
        "Add a note",
        filters=[_strip],
        validators=[
            # Checked after stripping: a note of spaces is no note.
            DataRequired("Write the note before saving it."),
            Length(
                max=NOTE_LENGTH, message=f"Keep the note to {NOTE_LENGTH:,} characters or fewer."
            ),
        ],
    )


class EraseForm(FlaskForm):
    confirm = BooleanField(
        "I understand that this removes the person's name, e-mail, phone, messages and notes "
        "for good.",
        validators=[DataRequired("Tick the box to confirm the erasure.")],
    )
