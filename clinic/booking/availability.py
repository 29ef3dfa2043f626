"""Free slots at a clinic: its hours and closures (catalogue) and its active bookings."""

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from clinic import uktime
from clinic.booking import slots
from clinic.booking.catalogue import BookableClinic
from clinic.booking.models import Booking
from clinic.extensions import db


def rules() -> slots.Rules:
    config = current_app.config
    return slots.Rules(
        min_notice=timedelta(minutes=config["BOOKING_MIN_NOTICE_MINUTES"]),
        horizon=timedelta(days=config["BOOKING_HORIZON_DAYS"]),
    )


_booking = Booking.__table__
# Built once: making and keying the statement cost more than running it, on every request.
_TAKEN = sa.select(_booking.c.starts_at).where(
    _booking.c.clinic_id == sa.bindparam("clinic_id"),
    _booking.c.status != "cancelled",
    _booking.c.starts_at >= sa.bindparam("start"),
    _booking.c.starts_at < sa.bindparam("end"),
)


def taken_between(clinic: BookableClinic, start: datetime, end: datetime) -> frozenset[datetime]:
    """Return the starts already booked at this clinic from `start` up to `end`, in one query.

    A plain table query (still in the session's transaction): every booking request asks
    this, and the ORM's handling of it cost four times the query itself."""
    values = {"clinic_id": clinic.id, "start": start, "end": end}
    return slots.taken_set(db.session.connection().execute(_TAKEN, values).scalars())


def _local_midnight(day: date) -> datetime:
    return uktime.midnight(day)


def taken_on(clinic: BookableClinic, day: date) -> frozenset[datetime]:
    """Return the starts already booked at this clinic on one local UK day."""
    return taken_between(clinic, _local_midnight(day), _local_midnight(day + timedelta(days=1)))


def free_slots(clinic: BookableClinic, day: date, now: datetime) -> list[datetime]:
    """Return the free starts (UTC) at this clinic on one local UK day."""
    return slots.day_slots(day, clinic.hours, clinic.closures, taken_on(clinic, day), now, rules())


def bookable_days(clinic: BookableClinic, now: datetime) -> list[date]:
    return slots.bookable_days(clinic.hours, clinic.closures, now, rules())


def is_free(clinic: BookableClinic, start: datetime, now: datetime) -> bool:
    day = uktime.to_local(start).date()
    taken = taken_on(clinic, day)
    return slots.is_bookable(start, clinic.hours, clinic.closures, taken, now, rules())


def is_offered(clinic: BookableClinic, start: datetime, now: datetime) -> bool:
    """Tell whether `start` is one of the clinic's times at all (open, ahead, on the grid),
    taken or not: no query, so a refused time can be told from a taken one."""
    return slots.is_bookable(start, clinic.hours, clinic.closures, frozenset(), now, rules())


def closure_on(clinic: BookableClinic, day: date) -> slots.Closure | None:
    """Return the closure (its own, or a bank holiday) that shuts this clinic on a UK day."""
    return next((c for c in clinic.closures if c.starts_on <= day <= c.ends_on), None)


def next_free(clinic: BookableClinic, now: datetime, after: datetime | None = None, count: int = 5):
    """Return the next few free starts at this clinic, from `after` (or now) onwards.

    One query reads the bookings of the whole horizon: a refused booking asks for this while
    others race for the same times, so it has to be cheap."""
    hours, closures, rule = clinic.hours, clinic.closures, rules()
    taken = taken_between(clinic, after or now, now + rule.horizon)
    found: list[datetime] = []
    for day in slots.bookable_days(hours, closures, now, rule):
        free = slots.day_slots(day, hours, closures, taken, now, rule)
        found += [s for s in free if after is None or s > after]
        if len(found) >= count:
            break
    return found[:count]
