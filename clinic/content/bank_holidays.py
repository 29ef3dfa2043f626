"""England and Wales bank holidays: every clinic is closed on them unless it reopens one.

The dates come from the `holidays` library (UK, subdivision ENG), which carries its data with
it: nothing is fetched. A clinic's closures as patients meet them (booking, its page, the
JSON-LD) are its own closures plus the bank holidays it has not reopened. No Flask here."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays

# A weekend holiday gives a weekday off in lieu: gov.uk calls that day the "substitute day".
_OBSERVED = "(observed)"
_SUBSTITUTE = "(substitute day)"
# How far ahead a clinic's page and its JSON-LD list the days it is closed.
UPCOMING = timedelta(days=365)


@dataclass(frozen=True)
class HolidayClosure:
    """A bank holiday the clinic keeps closed, shaped like a clinic's own closure."""

    starts_on: date
    ends_on: date
    reason: str
    bank_holiday: bool = True


@lru_cache(maxsize=64)
def _year(year: int) -> tuple[tuple[date, str], ...]:
    """Return one year's bank holidays, sorted (the library builds a year in a millisecond
    or two: kept, since every clinic's closures ask for the same few years)."""
    found = holidays.country_holidays("GB", subdiv="ENG", years=year)
    return tuple(sorted((day, name.replace(_OBSERVED, _SUBSTITUTE)) for day, name in found.items()))


def between(first: date, last: date) -> list[tuple[date, str]]:
    """Return the (date, name) of each bank holiday from `first` to `last`, inclusive."""
    return [
        (day, name)
        for year in range(first.year, last.year + 1)
        for day, name in _year(year)
        if first <= day <= last
    ]


def name_of(day: date) -> str | None:
    """Return the bank holiday's name on that date, or None on an ordinary day."""
    return dict(_year(day.year)).get(day)


def closed_holidays(first: date, last: date, reopened: Iterable[date]) -> list[HolidayClosure]:
    """Return the bank holidays from `first` to `last` that are not in `reopened`."""
    open_days = set(reopened)
    return [
        HolidayClosure(day, day, name) for day, name in between(first, last) if day not in open_days
    ]


def closures(own: Iterable, reopened: Iterable[date], first: date, last: date) -> list:
    """Return a clinic's own closures that reach `first` or later and the bank holidays it keeps
    closed up to `last`, in date order: what booking and every page go by."""
    kept = [c for c in own if c.ends_on >= first and c.starts_on <= last]
    found = kept + closed_holidays(first, last, reopened)
    return sorted(found, key=lambda c: (c.starts_on, c.ends_on))


def of_clinic(clinic, first: date, last: date) -> list:
    """Return `closures` for a clinic record (its `closures` and `holiday_openings`)."""
    reopened = (opening.day for opening in clinic.holiday_openings)
    return closures(clinic.closures, reopened, first, last)


def upcoming(clinic, today: date) -> list:
    """Return the clinic's closures from `today` to a year ahead, as its page lists them."""
    return of_clinic(clinic, today, today + UPCOMING)
