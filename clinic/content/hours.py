"""Opening hours as people read them: a weekly table and whether a clinic is open now."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Period:
    weekday: int
    opens: time
    closes: time


def weekly_table(periods: Iterable[Period]) -> list[dict]:
    """Return one row per weekday, Monday first, with its opening periods (empty = closed)."""
    rows = [{"weekday": d, "day": DAY_NAMES[d], "periods": []} for d in range(7)]
    for period in sorted(periods, key=lambda p: (p.weekday, p.opens)):
        rows[period.weekday]["periods"].append((period.opens, period.closes))
    return rows


def is_closed_on(day: date, closures: Iterable) -> bool:
    return any(c.starts_on <= day <= c.ends_on for c in closures)


def status_at(periods: Iterable[Period], closures: Iterable, now: datetime) -> dict:
    """Tell whether the clinic is open at `now` (aware) and when that changes today."""
    local = now.astimezone(UK)
    if is_closed_on(local.date(), closures):
        return {"open": False, "text": "Closed today"}
    today = sorted((p for p in periods if p.weekday == local.weekday()), key=lambda p: p.opens)
    for period in today:
        if period.opens <= local.time() < period.closes:
            return {"open": True, "text": f"Open now until {period.closes:%H:%M}"}
        if local.time() < period.opens:
            return {"open": False, "text": f"Closed now, opens at {period.opens:%H:%M} today"}
    return {"open": False, "text": "Closed now"}


def schema_hours(periods: Iterable[Period]) -> list[dict]:
    """Return schema.org OpeningHoursSpecification entries, grouping days with equal hours."""
    grouped: dict[tuple[time, time], list[str]] = {}
    for period in sorted(periods, key=lambda p: (p.weekday, p.opens)):
        grouped.setdefault((period.opens, period.closes), []).append(DAY_NAMES[period.weekday])
    return [
        {
            "@type": "OpeningHoursSpecification",
            "dayOfWeek": days,
            "opens": f"{opens:%H:%M}",
            "closes": f"{closes:%H:%M}",
        }
        for (opens, closes), days in grouped.items()
    ]


def schema_closures(closures: Iterable) -> list[dict]:
    """Return special OpeningHoursSpecification entries for closed dates: 00:00 to 00:00 is
    schema.org's "closed all day", from validFrom to validThrough (inclusive)."""
    return [
        {
            "@type": "OpeningHoursSpecification",
            "opens": "00:00",
            "closes": "00:00",
            "validFrom": closure.starts_on.isoformat(),
            "validThrough": closure.ends_on.isoformat(),
        }
        for closure in closures
    ]
