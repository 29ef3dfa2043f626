"""The day and time choices shown on the form, and reading them back safely."""

from datetime import UTC, date, datetime
from functools import lru_cache

from clinic import uktime
from clinic.booking import availability, catalogue
from clinic.dbtypes import utcnow
from clinic.uktime import to_local

CHOOSE = "Choose a time from the list."
# A start outside these years is no booking time: refused before any date arithmetic, which
# overflows near year 9999 (a day later, a UTC offset) and would otherwise be a 500.
FIRST_YEAR, LAST_YEAR = 2000, 2999


day_label = lru_cache(maxsize=512)(uktime.day_label)


def day_choices(clinic, now: datetime) -> list[tuple[date, str]]:
    if clinic is None:
        return []
    return [(day, day_label(day)) for day in availability.bookable_days(clinic, now)]


def in_horizon(day: date, now: datetime) -> bool:
    """Tell whether a local UK day lies between today and the last bookable day."""
    return to_local(now).date() <= day <= to_local(now + availability.rules().horizon).date()


def slot_choices(clinic, day: date, now: datetime) -> list[tuple[str, str]]:
    """Return (ISO 8601 start with UK offset, "09:15") for each free time.

    A day outside the booking horizon has none: answered without a query (and without the
    date arithmetic that overflows for a day such as 9999-12-31)."""
    if not in_horizon(day, now):
        return []
    starts = availability.free_slots(clinic, day, now)
    return [(to_local(s).isoformat(), uktime.clock(s)) for s in starts]


def parse_day(value: str | None, days: list[tuple[date, str]]) -> date | None:
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return None
    return day if any(day == d for d, _ in days) else None


def parse_slot(value: str | None) -> datetime | None:
    """Read an ISO 8601 start with an offset; anything else (naive, or far outside any booking
    time such as 9999-12-31T23:59-23:59, whose UTC time is past year 9999) is None."""
    try:
        start = datetime.fromisoformat((value or "").strip())
        if start.tzinfo is None or start.utcoffset() is None:
            return None
        start = start.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return start if FIRST_YEAR <= start.year <= LAST_YEAR else None


def first_day_with_times(clinic, days: list[tuple[date, str]], now: datetime) -> date | None:
    """Return the day of the clinic's next free time, else its first bookable day."""
    first = availability.next_free(clinic, now, count=1) if clinic else []
    return to_local(first[0]).date() if first else (days[0][0] if days else None)


def day_and_times(clinic, days, value: str | None, now: datetime, alternatives=()):
    """Return the day the picker shows and its free times: the day asked for, else that of the
    first alternative (after a refused time), else the first with free times.

    Alternatives take the place of the day's times, so those are not worked out."""
    day = parse_day(value, days)
    if day is None and alternatives:
        day = to_local(alternatives[0]).date()
    day = day or first_day_with_times(clinic, days, now)
    times = slot_choices(clinic, day, now) if clinic and day and not alternatives else []
    return day, times


def read_choice(form) -> tuple:
    """Return the clinic and start a booking form chose, with a message on each field that
    names neither one of our clinics nor a time."""
    clinic = catalogue.by_slug(form.clinic.data)
    if form.clinic.data and clinic is None:
        form.clinic.errors = ["Choose one of our clinics."]
    return clinic, read_time(form)


def read_time(form) -> datetime | None:
    """Return the start a form chose, with a message on its field when that is no time."""
    start = parse_slot(form.slot.data)
    if form.slot.data and start is None:
        form.slot.errors = [CHOOSE]
    return start


def refuse(form, refusal) -> list[datetime]:
    """Put a refused time's reason on the form's time field; return the times to offer."""
    form.slot.errors = [refusal.reason]
    form.slot.data = ""
    return refusal.alternatives


def context(form, clinic, clinics=(), alternatives=()) -> dict:
    """What a time picker shows, for the public and the staff forms alike: the clinic's days,
    the day shown (set on the form) and its free times, or the alternatives to a refused time."""
    now = utcnow()
    days = day_choices(clinic or (clinics[0] if clinics else None), now)
    day, times = day_and_times(clinic, days, form.date.data, now, alternatives)
    form.date.data = day.isoformat() if day else ""
    return dict(
        form=form,
        clinics=list(clinics),
        clinic=clinic,
        days=days,
        day=day,
        times=times,
        alternatives=list(alternatives),
    )
