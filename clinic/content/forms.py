"""Editor forms: articles, pages, clinics (hours and closures), people, redirects, images.

Repeatable items (key points, FAQs, references, closures) are `Rows` shown with a blank row,
plus an "add another" button that re-renders with one more: no JavaScript.
"""

from datetime import UTC, date, datetime, timedelta

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FieldList,
    FloatField,
    Form,
    FormField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput

from clinic import uktime
from clinic.content import bank_holidays
from clinic.content.hours import UK

SLUG_RULE = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SLUG_MESSAGE = "Use lowercase letters, digits and single hyphens only, like back-pain-guide."
SEO_TITLE_LENGTH = 60
SEO_DESCRIPTION_LENGTH = 155
MAX_ITEMS = 40


class Rows(FieldList):
    """Repeatable rows, at most MAX_ITEMS filled. Every submitted row is kept and more is an
    error next to the list: WTForms' own max_entries drops the rest unseen, and fails (a 500)
    when one more row is added."""

    limit = MAX_ITEMS

    def __init__(self, unbound_field, noun: str = "items", **kwargs):
        super().__init__(unbound_field, validators=[_at_most_max_items], **kwargs)
        self.noun = noun

    @property
    def full(self) -> bool:
        """Whether the list has as many rows as it may: no "add another" button then."""
        return len(self.entries) >= self.limit

    @property
    def messages(self) -> list[str]:
        """The list's own errors (its rows' errors are on their fields)."""
        return [error for error in self.errors if isinstance(error, str)]


def _at_most_max_items(_form, rows: Rows) -> None:
    filled = sum(1 for entry in rows if filled_row(entry.data))
    if filled > rows.limit:
        raise ValidationError(
            f"Add at most {rows.limit} {rows.noun}: empty {filled - rows.limit} of the rows below."
        )


def filled_row(data) -> bool:
    """Whether a repeatable row holds anything (an empty row is dropped on saving)."""
    return any(data.values()) if isinstance(data, dict) else bool(data)


def strip(value):
    return value.strip() if isinstance(value, str) else value


def _slug_field(label: str = "Slug (the end of the page address)") -> StringField:
    return StringField(
        label,
        filters=[strip],
        validators=[
            InputRequired("Enter a slug."),
            Length(max=120, message="Use at most 120 characters."),
            Regexp(SLUG_RULE, message=SLUG_MESSAGE),
        ],
    )


def _web_link(_form, field) -> None:
    """Only http and https links: a reference's link is placed in an href as it is."""
    if field.data and not field.data.strip().lower().startswith(("https://", "http://")):
        raise ValidationError("Enter a link starting with https://")


class FaqForm(Form):
    question = StringField("Question", validators=[Optional(), Length(max=300)])
    answer = TextAreaField("Answer", validators=[Optional(), Length(max=3000)])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if (self.question.data or "").strip() and not (self.answer.data or "").strip():
            self.answer.errors.append("Add the answer to this question.")
            return False
        return valid


class ReferenceForm(Form):
    title = StringField("Title", validators=[Optional(), Length(max=500)])
    url = StringField("Link (optional)", validators=[Optional(), Length(max=500), _web_link])


class VersionGuard:
    """The item's version when the editor opened it, so that a save from it is refused once
    someone else saved (not silently replacing their work); after a refusal, `seen_version`
    is the version shown beside theirs, which "save anyway" (`overwrite`) may replace."""

    version = HiddenField()
    seen_version = HiddenField()
    overwrite = BooleanField("Save my version anyway, replacing theirs")

    def expected_version(self) -> int:
        """Return the version this save may replace (0, which no item has, when none was sent)."""
        sent = (self.seen_version if self.overwrite.data else self.version).data or ""
        return int(sent) if sent.isascii() and sent.isdigit() and len(sent) < 19 else 0


class EditGuard(VersionGuard):
    """A version guard plus the revision the editor started from, to say what changed since."""

    base_revision = HiddenField()


class PublishableForm(EditGuard, FlaskForm):
    """Fields shared by articles and pages."""

    # When the unpublished changes the editor opened were saved ("" for none), so that
    # saving can tell whether someone saved other unpublished changes in the meantime.
    base_pending = HiddenField()

    title = StringField(
        "Title (the page's main heading)",
        filters=[strip],
        validators=[DataRequired("Enter a title."), Length(max=200)],
    )
    slug = _slug_field()
    summary = TextAreaField("Summary", validators=[Optional(), Length(max=1000)])
    body = TextAreaField("Body (Markdown)", validators=[Optional(), Length(max=200_000)])
    seo_title = StringField("SEO title", validators=[Optional(), Length(max=120)])
    seo_description = TextAreaField("SEO description", validators=[Optional(), Length(max=300)])
    author_id = SelectField("Author", choices=[], validate_choice=True)
    reviewer_id = SelectField("Medical reviewer", choices=[], validate_choice=True)
    last_reviewed = DateField("Date of the last medical review", validators=[Optional()])
    next_review_due = DateField("Next review due", validators=[Optional()])
    publish_date = DateField("Publish on (UK date)", validators=[Optional()])
    publish_time = TimeField("at (UK time)", validators=[Optional()])
    confirm_warnings = BooleanField("I have checked the warnings above and want to publish anyway")

    def set_people(self, people) -> None:
        choices = [("", "No one")] + [(str(p.id), f"{p.name}, {p.credentials}") for p in people]
        self.author_id.choices = choices
        self.reviewer_id.choices = choices

    def validate_last_reviewed(self, field) -> None:
        if field.data and field.data > uktime.today():
            raise ValidationError("The review date cannot be in the future.")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if bool(self.publish_time.data) != bool(self.publish_date.data):
            message = "Enter both the date and the time to publish, or neither."
            self.publish_time.errors = [*self.publish_time.errors, message]
            return False
        return valid

    def values(self) -> dict:
        """Return the model's fields from the submitted data."""
        return {
            "title": self.title.data.strip(),
            "slug": self.slug.data.strip(),
            "summary": _text(self.summary.data),
            "body": _text(self.body.data),
            "seo_title": (self.seo_title.data or "").strip(),
            "seo_description": " ".join((self.seo_description.data or "").split()),
            "author_id": _person_id(self.author_id.data),
            "reviewer_id": _person_id(self.reviewer_id.data),
            "last_reviewed": self.last_reviewed.data,
            "next_review_due": self.next_review_due.data,
            "publish_at": uk_to_utc(self.publish_date.data, self.publish_time.data),
        }


class ArticleForm(PublishableForm):
    key_points = Rows(
        StringField("Key point", validators=[Optional(), Length(max=400)]), noun="key points"
    )
    faqs = Rows(FormField(FaqForm), noun="questions")
    references = Rows(FormField(ReferenceForm), noun="references")

    def values(self) -> dict:
        values = super().values()
        values["key_points"] = [p.strip() for p in self.key_points.data if (p or "").strip()]
        values["faqs"] = [
            {"question": f["question"].strip(), "answer": _text(f["answer"]).strip()}
            for f in self.faqs.data
            if (f["question"] or "").strip()
        ]
        values["references"] = [
            {"title": r["title"].strip(), "url": (r["url"] or "").strip()}
            for r in self.references.data
            if (r["title"] or "").strip()
        ]
        return values


class PageForm(PublishableForm):
    pass


class DayHoursForm(Form):
    """Up to two opening periods on one weekday, e.g. 09:00-13:00 and 14:00-18:00."""

    opens = TimeField("Opens", validators=[Optional()])
    closes = TimeField("Closes", validators=[Optional()])
    opens2 = TimeField("Opens again", validators=[Optional()])
    closes2 = TimeField("Closes again", validators=[Optional()])

    def validate(self, extra_validators=None) -> bool:
        # Cross-field rules here: an empty field's Optional() would skip inline validators.
        if not super().validate(extra_validators):
            return False
        problems = [
            (self.closes, _period_problem(self.opens.data, self.closes.data)),
            (self.closes2, _period_problem(self.opens2.data, self.closes2.data)),
        ]
        if self.opens2.data and not self.opens.data:
            problems.append((self.opens, "Fill in the first period before a second one."))
        elif self.opens2.data and self.closes.data and self.opens2.data < self.closes.data:
            problems.append((self.opens2, "The second period must start after the first one ends."))
        for field, message in problems:
            if message:
                field.errors.append(message)
        return not any(message for _, message in problems)

    def periods(self) -> list[tuple]:
        pairs = [(self.opens.data, self.closes.data), (self.opens2.data, self.closes2.data)]
        return [(o, c) for o, c in pairs if o and c]


def _period_problem(opens, closes) -> str | None:
    if bool(opens) != bool(closes):
        return "Enter both the opening and the closing time, or neither."
    if opens and closes and opens >= closes:
        return "The closing time must be after the opening time."
    return None


class IsoDateField(DateField):
    """A date shown as YYYY-MM-DD even before year 1000 (strftime writes "1-01-01", which a
    date input shows as empty), so an out-of-range date stays visible to correct."""

    def _value(self) -> str:
        if self.raw_data or not isinstance(self.data, date):
            return super()._value()
        return self.data.isoformat()


class ClosureForm(Form):
    starts_on = IsoDateField("First day closed", validators=[Optional()])
    ends_on = IsoDateField("Last day closed", validators=[Optional()])
    reason = StringField("Reason", validators=[Optional(), Length(max=120)])
    remove = BooleanField("Remove this closure")

    def validate(self, extra_validators=None) -> bool:
        if self.remove.data:
            return True  # dropped on saving, whatever its dates say
        if not super().validate(extra_validators):
            return False
        first, last = self.starts_on.data, self.ends_on.data
        if bool(first) != bool(last):
            self.ends_on.errors.append("Enter the first and the last day.")
        elif first and last < first:
            self.ends_on.errors.append("The last day must be on or after the first day.")
        else:
            for field in (self.starts_on, self.ends_on):
                if message := closure_date_problem(field.data):
                    field.errors.append(message)
        return not (self.starts_on.errors or self.ends_on.errors)


EARLIEST_CLOSURE = date(2000, 1, 1)


def closure_dates(today: date | None = None) -> tuple[date, date]:
    """Return the first and last day a closure may cover: from 2000 (past closures stay
    saveable) to two years ahead. A typo like year 9999 would otherwise shut the clinic for good."""
    today = today or uktime.today()
    return EARLIEST_CLOSURE, today + timedelta(days=2 * 365)


def closure_date_problem(day: date | None, today: date | None = None) -> str | None:
    first, last = closure_dates(today)
    if day is not None and day < first:
        return f"Enter a date from {first.day} {first:%B %Y} on; tick “Remove” to drop a row."
    if day is not None and day > last:
        return f"Enter a date up to {last.day} {last:%B %Y}, two years from now at most."
    return None


class HolidayOpeningsField(SelectMultipleField):
    """The bank holidays ahead, each a checkbox: ticked, the clinic opens that day."""

    option_widget = CheckboxInput()

    def pre_validate(self, form) -> None:
        offered = {value for value, _ in self.choices}
        if any(value not in offered for value in self.data or ()):
            raise ValidationError("Tick bank holidays from the list only.")

    def days(self) -> list[date]:
        return sorted(date.fromisoformat(value) for value in self.data or ())


def holiday_choices(today: date | None = None) -> list[tuple[str, str]]:
    """Return (ISO date, "Friday 25 December 2026: Christmas Day") for each bank holiday from
    today to the last day a closure may cover: the days an editor may reopen."""
    today = today or uktime.today()
    return [
        (day.isoformat(), f"{uktime.day_label(day)} {day.year}: {name}")
        for day, name in bank_holidays.between(today, closure_dates(today)[1])
    ]


class ClinicForm(EditGuard, FlaskForm):
    name = StringField(
        "Name",
        filters=[strip],
        validators=[DataRequired("Enter the clinic's name."), Length(max=120)],
    )
    slug = _slug_field()
    building = StringField("Building", validators=[Optional(), Length(max=120)])
    street = StringField("Street", validators=[InputRequired("Enter the street."), Length(max=120)])
    locality = StringField("Area", validators=[Optional(), Length(max=120)])
    city = StringField(
        "Town or city", validators=[InputRequired("Enter the town."), Length(max=80)]
    )
    postcode = StringField(
        "Postcode", validators=[InputRequired("Enter the postcode."), Length(max=12)]
    )
    latitude = FloatField(
        "Latitude", validators=[InputRequired("Enter the latitude."), NumberRange(-90, 90)]
    )
    longitude = FloatField(
        "Longitude", validators=[InputRequired("Enter the longitude."), NumberRange(-180, 180)]
    )
    phone = StringField(
        "Phone", validators=[InputRequired("Enter the phone number."), Length(max=32)]
    )
    email = EmailField(
        "E-mail", validators=[InputRequired("Enter the e-mail address."), Email(), Length(max=120)]
    )
    summary = TextAreaField("Summary", validators=[Optional(), Length(max=2000)])
    cqc_rating = StringField("CQC rating (optional)", validators=[Optional(), Length(max=40)])
    cqc_url = StringField(
        "CQC page link (optional)", validators=[Optional(), Length(max=300), _web_link]
    )
    hours = FieldList(FormField(DayHoursForm), min_entries=7, max_entries=7)
    closures = Rows(FormField(ClosureForm), noun="closures")
    holiday_openings = HolidayOpeningsField("Bank holidays this clinic opens on", choices=[])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.holiday_openings.choices = holiday_choices()

    def values(self) -> dict:
        values = {
            name: (getattr(self, name).data or "").strip()
            for name in (
                "name",
                "slug",
                "building",
                "street",
                "locality",
                "city",
                "postcode",
                "phone",
                "email",
            )
        }
        values.update(
            latitude=self.latitude.data,
            longitude=self.longitude.data,
            summary=_text(self.summary.data),
            cqc_rating=(self.cqc_rating.data or "").strip() or None,
            cqc_url=(self.cqc_url.data or "").strip() or None,
            hours=[
                (weekday, opens, closes)
                for weekday, day in enumerate(self.hours)
                for opens, closes in day.form.periods()
            ],
            closures=[
                (c["starts_on"], c["ends_on"], (c["reason"] or "").strip())
                for c in self.closures.data
                if c["starts_on"] and not c["remove"]
            ],
            # Only days ahead are shown, so a reopening that has passed is dropped on saving.
            holiday_openings=self.holiday_openings.days(),
        )
        return values


class PersonForm(EditGuard, FlaskForm):
    name = StringField(
        "Name", filters=[strip], validators=[DataRequired("Enter the name."), Length(max=120)]
    )
    slug = _slug_field()
    credentials = StringField("Credentials", validators=[Optional(), Length(max=120)])
    job_title = StringField("Job title", validators=[Optional(), Length(max=120)])
    bio = TextAreaField("Biography (Markdown)", validators=[Optional(), Length(max=20_000)])
    email = EmailField(
        "E-mail for review reminders (never shown on the site)",
        validators=[Optional(), Email(), Length(max=254)],
    )

    def values(self) -> dict:
        return {
            "name": self.name.data.strip(),
            "slug": self.slug.data.strip(),
            "credentials": (self.credentials.data or "").strip(),
            "job_title": (self.job_title.data or "").strip(),
            "bio": _text(self.bio.data),
            "email": (self.email.data or "").strip().lower() or None,
        }


class RedirectForm(VersionGuard, FlaskForm):
    old_path = StringField(
        "Old path", validators=[InputRequired("Enter the old path."), Length(max=300)]
    )
    new_path = StringField(
        "New path", validators=[InputRequired("Enter the new path."), Length(max=300)]
    )


class ImageForm(FlaskForm):
    file = FileField(
        "Image file (JPEG, PNG or WebP, at most 5 MB)",
        validators=[FileRequired("Choose an image file.")],
    )
    alt = StringField(
        "Alternative text (what the image shows, for people who cannot see it)",
        filters=[strip],
        validators=[DataRequired("Describe the image in the alternative text."), Length(max=300)],
    )


class ImageAltForm(VersionGuard, FlaskForm):
    alt = ImageForm.alt


class ConfirmForm(FlaskForm):
    """A button that changes something: CSRF only, plus the warnings checkbox when needed."""

    confirm_warnings = BooleanField("I have checked the warnings above and want to publish anyway")


class ItemConfirmForm(VersionGuard, ConfirmForm):
    """A button that changes one item (restore, delete), from the version its page showed."""


def error_list(form) -> list[tuple[str, str]]:
    """Return (field id, message) for every error, also inside repeatable rows, in page order."""
    found: list[tuple[str, str]] = []

    def walk(field) -> None:
        if isinstance(field, Rows):
            found.extend((field.id, message) for message in field.messages)
        if isinstance(field, FieldList | FormField):
            for inner in field:
                walk(inner)
        else:
            found.extend((field.id, message) for message in field.errors)

    for field in form:
        walk(field)
    return found


def _text(value: str | None) -> str:
    """Normalise line endings from browsers (CRLF) so revisions and diffs compare lines."""
    return (value or "").replace("\r\n", "\n").replace("\r", "\n")


def _person_id(value: str | None) -> int | None:
    return int(value) if value else None


def uk_to_utc(day: date | None, at) -> datetime | None:
    """Return a UK wall-clock date and time as an aware UTC datetime."""
    if not day or not at:
        return None
    return datetime.combine(day, at, tzinfo=UK).astimezone(UTC)


def utc_to_uk(moment: datetime | None) -> tuple[date | None, object]:
    if moment is None:
        return None, None
    local = moment.astimezone(UK)
    return local.date(), local.time().replace(second=0, microsecond=0)
