"""Bookable discovery-call slots for one clinic and one local UK day (stdlib only)."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from clinic.uktime import UK


@dataclass(frozen=True)
class Hours:
    """One opening period on a weekday, in local UK wall-clock time (closes after opens)."""

    weekday: int  # 0 = Monday ... 6 = Sunday
    opens: time
    closes: time


@dataclass(frozen=True)
class Closure:
    """The clinic is closed on the local UK dates from starts_on to ends_on, inclusive."""

    starts_on: date
    ends_on: date
    reason: str = ""  # what a refused time is told: "Christmas Day", "Staff training"


@dataclass(frozen=True)
class Rules:
    """Slot length, minimum notice before a start, and how far ahead starts may be booked."""

    slot_minutes: int = 15
    min_notice: timedelta = timedelta(hours=2)
    horizon: timedelta = timedelta(days=28)

    def __post_init__(self) -> None:
        if self.slot_minutes < 1:
            raise ValueError("slot_minutes must be at least 1")


def day_slots(
    day: date,
    hours: Iterable[Hours],
    closures: Iterable[Closure],
    taken: Iterable[datetime],
    now: datetime,
    rules: Rules = Rules(),
) -> list[datetime]:
    """Return the free slot starts (aware, UTC) on one local UK day.

    `taken` may be a frozenset from `taken_set`, reused as it is when asking about many days."""
    now_utc = _utc(now, "now")
    booked = taken if isinstance(taken, frozenset) else {_utc(start, "taken") for start in taken}
    if _is_closed(day, closures):
        return []
    earliest, latest = now_utc + rules.min_notice, now_utc + rules.horizon
    return [
        start
        for start in _grid(day, tuple(hours), rules.slot_minutes)
        if earliest <= start < latest and start not in booked
    ]


def taken_set(taken: Iterable[datetime]) -> frozenset[datetime]:
    """Return taken starts in UTC as a set that day_slots can reuse for many days."""
    return frozenset(_utc(start, "taken") for start in taken)


def is_bookable(
    start: datetime,
    hours: Iterable[Hours],
    closures: Iterable[Closure],
    taken: Iterable[datetime],
    now: datetime,
    rules: Rules = Rules(),
) -> bool:
    """Tell whether one aware start time is a free, bookable slot."""
    start_utc = _utc(start, "start")
    day = start_utc.astimezone(UK).date()
    return start_utc in day_slots(day, hours, closures, taken, now, rules)


def bookable_days(
    hours: Iterable[Hours],
    closures: Iterable[Closure],
    now: datetime,
    rules: Rules = Rules(),
) -> list[date]:
    """Return the local UK dates in the horizon that are open and not closed (may be full)."""
    now_utc = _utc(now, "now")
    hours, closures = tuple(hours), tuple(closures)
    first = now_utc.astimezone(UK).date()
    last = (now_utc + rules.horizon).astimezone(UK).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    open_weekdays = {period.weekday for period in hours}
    closed = _closed_between(first, last, closures)
    # Only the first and last day can be cut short by the notice or the horizon; a day in
    # between has slots exactly when it has opening hours and no closure.
    return [
        day
        for day in days
        if day.weekday() in open_weekdays
        and day not in closed
        and (first < day < last or day_slots(day, hours, closures, (), now_utc, rules))
    ]


def _utc(value: datetime, name: str) -> datetime:
    """Return an aware datetime in UTC, raising ValueError if it is naive."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value.astimezone(UTC)


def _is_closed(day: date, closures: Iterable[Closure]) -> bool:
    """Tell whether any closure covers the local date."""
    return any(closure.starts_on <= day <= closure.ends_on for closure in closures)


def _closed_between(first: date, last: date, closures: Iterable[Closure]) -> set[date]:
    """Return the dates from `first` to `last` that a closure covers, in one pass over them
    (the bank holidays of three years are about thirty closures)."""
    closed: set[date] = set()
    for closure in closures:
        if closure.ends_on < first or closure.starts_on > last:
            continue
        start, end = max(closure.starts_on, first), min(closure.ends_on, last)
        closed.update(start + timedelta(days=n) for n in range((end - start).days + 1))
    return closed


@lru_cache(maxsize=4096)
def _grid(day: date, hours: tuple[Hours, ...], slot_minutes: int) -> tuple[datetime, ...]:
    """Return every slot start (UTC, sorted, unique) of the day's opening periods.

    Cached: the same few days are asked for on every booking request."""
    step = timedelta(minutes=slot_minutes)
    starts: set[datetime] = set()
    for period in hours:
        if period.weekday == day.weekday():
            starts.update(_period_starts(day, period, step))
    return tuple(sorted(starts))


def _period_starts(day: date, period: Hours, step: timedelta) -> Iterator[datetime]:
    """Yield UTC starts of slots that fit in one period, skipping nonexistent local times."""
    # Arithmetic and comparison between datetimes sharing the UK tzinfo are wall-clock based,
    # so the grid follows the local clock; new values have fold=0 (earlier of ambiguous times).
    start = datetime.combine(day, period.opens, tzinfo=UK)
    closes = datetime.combine(day, period.closes, tzinfo=UK)
    while start + step <= closes:
        start_utc = start.astimezone(UTC)
        if _exists(start, start_utc):
            yield start_utc
        start += step


def _exists(local: datetime, local_utc: datetime) -> bool:
    """Tell whether a local wall-clock time really occurs (is not in a spring-forward gap)."""
    round_trip = local_utc.astimezone(UK)
    return round_trip.replace(tzinfo=None) == local.replace(tzinfo=None)
