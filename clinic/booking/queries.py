"""The calls staff see: who is booked on which UK day at which clinic."""

from datetime import date, timedelta
from itertools import groupby

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from clinic.booking.models import Booking
from clinic.content.models import Clinic
from clinic.extensions import db
from clinic.uktime import midnight, to_local


def calls_between(first: date, last: date, clinic: Clinic | None = None) -> list[Booking]:
    """Return the calls that are not cancelled on the UK days first to last, by start time."""
    query = (
        sa.select(Booking)
        .where(
            Booking.status != "cancelled",
            Booking.starts_at >= midnight(first),
            Booking.starts_at < midnight(last + timedelta(days=1)),
        )
        .options(selectinload(Booking.lead), selectinload(Booking.clinic))
        .order_by(Booking.starts_at, Booking.id)
    )
    if clinic is not None:
        query = query.where(Booking.clinic_id == clinic.id)
    return list(db.session.scalars(query))


def by_day_and_clinic(calls: list[Booking]) -> list[tuple[date, list[tuple[Clinic, list]]]]:
    """Group calls sorted by start per UK day, then per clinic (in the clinics' own order)."""
    days = []
    for day, on_day in groupby(calls, key=lambda call: to_local(call.starts_at).date()):
        on_day = sorted(on_day, key=lambda call: (call.clinic_id, call.starts_at))
        clinics = [(clinic, list(group)) for clinic, group in groupby(on_day, lambda c: c.clinic)]
        days.append((day, clinics))
    return days
