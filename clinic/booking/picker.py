"""The day and time choices shown on the form, and reading them back safely."""

from datetime import UTC, date, datetime
from functools import lru_cache

from clinic.booking import availability
from clinic.booking.slots import to_local


@lru_cache(maxsize=512)
def day_label(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def day_choices(clinic, now: datetime) -> list[tuple[date, str]]:
    if clinic is None:
        return []
    return [(day, day_label(day)) for day in availability.bookable_days(clinic, now)]


def slot_choices(clinic, day: date, now: datetime) -> list[tuple[str, str]]:
    """Return (ISO 8601 start with UK offset, "09:15") for each free time."""
    starts = availability.free_slots(clinic, day, now)
    return [(to_local(s).isoformat(), f"{to_local(s):%H:%M}") for s in starts]


def parse_day(value: str | None, days: list[tuple[date, str]]) -> date | None:
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return None
    return day if any(day == d for d, _ in days) else None


def parse_slot(value: str | None) -> datetime | None:
    """Read an ISO 8601 start with an offset; anything else (or naive) is None."""
    try:
        start = datetime.fromisoformat((value or "").strip())
    except ValueError:
        return None
    if start.tzinfo is None or start.utcoffset() is None:
        return None
    return start.astimezone(UTC)
