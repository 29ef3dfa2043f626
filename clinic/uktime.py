"""UK time, where the clinic and its patients are: Europe/London, today in the UK, and the ways
a time is written in pages and e-mails. Stored times are aware UTC; people read them here.
Standard library only, so the pure slot rules may use it too."""

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")


def system_clock() -> datetime:
    """Return the machine's time, aware, in UTC."""
    return datetime.now(UTC)


# Where every rule reads the present (through `now`, and `clinic.dbtypes.utcnow`): tests put
# another function here to stand at a chosen moment, such as the week of a summer-time change.
time_source: Callable[[], datetime] = system_clock


def now() -> datetime:
    """Return the present, aware, in UTC, from `time_source`."""
    return time_source()


def to_local(moment: datetime) -> datetime:
    """Return an aware time as UK wall-clock time (GMT or BST, whichever was in force); a naive
    one is refused, since it would be read as the server's own zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"an aware datetime is needed, got {moment!r}")
    return moment.astimezone(UK)


def today(at: datetime | None = None) -> date:
    """Return today's date in the UK (`at`, an aware time, or the present)."""
    return (at or time_source()).astimezone(UK).date()


def midnight(day: date) -> datetime:
    """Return the start of a UK day as an aware time (a summer-time change day is 23 or 25 h)."""
    return datetime.combine(day, time(0), tzinfo=UK)


def date_text(day: date | None) -> str:
    """24 November 2026."""
    return f"{day.day} {day:%B %Y}" if day else ""


def day_label(day: date) -> str:
    """Tuesday 24 November: a day in the booking picker."""
    return f"{day:%A} {day.day} {day:%B}"


def day_time(moment: datetime) -> str:
    """Tuesday 24 November 2026, 09:15."""
    local = to_local(moment)
    return f"{local:%A} {local.day} {local:%B %Y}, {local:%H:%M}"


def call_time(moment: datetime, year: bool = True) -> str:
    """Tuesday 24 November 2026 at 09:15 (without the year in the weeks a call is booked in)."""
    local = to_local(moment)
    when = f"{local:%A} {local.day} {local:%B}" + (f" {local:%Y}" if year else "")
    return f"{when} at {local:%H:%M}"


def short(moment: datetime | None) -> str:
    """Tue 24 Nov 2026, 09:15: times in admin lists."""
    if moment is None:
        return ""
    local = to_local(moment)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


def clock(moment: datetime) -> str:
    """09:15."""
    return f"{to_local(moment):%H:%M}"


def iso(moment: datetime) -> str:
    """2026-11-24T09:15:00+00:00 in UK time: a <time datetime> value, to the second."""
    return to_local(moment).isoformat(timespec="seconds")


def spreadsheet(moment: datetime | None) -> str:
    """2026-11-24 09:15: UK time as spreadsheets sort it (the CSV export)."""
    return f"{to_local(moment):%Y-%m-%d %H:%M}" if moment else ""
