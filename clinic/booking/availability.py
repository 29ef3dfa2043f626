"""Free slots from the clinic record: its hours, its closures and its active bookings."""

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app

from clinic.booking import slots
from clinic.booking.models import Booking
from clinic.content.models import Clinic
from clinic.extensions import db


def rules() -> slots.Rules:
    config = current_app.config
    return slots.Rules(
        min_notice=timedelta(minutes=config["BOOKING_MIN_NOTICE_MINUTES"]),
        horizon=timedelta(days=config["BOOKING_HORIZON_DAYS"]),
    )


def _hours(clinic: Clinic) -> tuple[slots.Hours, ...]:
    return tuple(slots.Hours(h.weekday, h.opens, h.closes) for h in clinic.hours)


def _closures(clinic: Clinic) -> tuple[slots.Closure, ...]:
    return tuple(slots.Closure(c.starts_on, c.ends_on) for c in clinic.closures)


_booking = Booking.__table__
# Built once: making and keying the statement cost more than running it, on every request.
_TAKEN = sa.select(_booking.c.starts_at).where(
    _booking.c.clinic_id == sa.bindparam("clinic_id"),
    _booking.c.status != "cancelled",
    _booking.c.starts_at >= sa.bindparam("start"),
    _booking.c.starts_at < sa.bindparam("end"),
)


def taken_between(clinic: Clinic, start: datetime, end: datetime) -> frozenset[datetime]:
    """Return the starts already booked at this clinic from `start` up to `end`, in one query.

    A plain table query (still in the session's transaction): every booking request asks
    this, and the ORM's handling of it cost four times the query itself."""
    values = {"clinic_id": clinic.id, "start": start, "end": end}
    return slots.taken_set(db.session.connection().execute(_TAKEN, values).scalars())


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=slots.UK)


def taken_on(clinic: Clinic, day: date) -> frozenset[datetime]:
    """Return the starts already booked at this clinic on one local UK day."""
    return taken_between(clinic, _local_midnight(day), _local_midnight(day + timedelta(days=1)))


def free_slots(clinic: Clinic, day: date, now: datetime) -> list[datetime]:
    """Return the free starts (UTC) at this clinic on one local UK day."""
    return slots.day_slots(
        day, _hours(clinic), _closures(clinic), taken_on(clinic, day), now, rules()
    )


def bookable_days(clinic: Clinic, now: datetime) -> list[date]:
    return slots.bookable_days(_hours(clinic), _closures(clinic), now, rules())


def is_free(clinic: Clinic, start: datetime, now: datetime) -> bool:
    day = slots.to_local(start).date()
    taken = taken_on(clinic, day)
    return slots.is_bookable(start, _hours(clinic), _closures(clinic), taken, now, rules())


def next_free(clinic: Clinic, now: datetime, after: datetime | None = None, count: int = 5):
    """Return the next few free starts at this clinic, from `after` (or now) onwards.

    One query reads the bookings of the whole horizon: a refused booking asks for this while
    others race for the same times, so it has to be cheap."""
    hours, closures, rule = _hours(clinic), _closures(clinic), rules()
    taken = taken_between(clinic, after or now, now + rule.horizon)
    found: list[datetime] = []
    for day in slots.bookable_days(hours, closures, now, rule):
        free = slots.day_slots(day, hours, closures, taken, now, rule)
        found += [s for s in free if after is None or s > after]
        if len(found) >= count:
            break
    return found[:count]


def clinics_for_booking() -> list[Clinic]:
    """Every clinic, for the form. Hours and closures load only for the one chosen: loading
    every clinic's up front cost more than the two queries it saves."""
    return list(db.session.scalars(sa.select(Clinic).order_by(Clinic.id)))


def clinic_by_slug(slug: str | None) -> Clinic | None:
    if not slug:
        return None
    return db.session.scalar(sa.select(Clinic).where(Clinic.slug == slug))
