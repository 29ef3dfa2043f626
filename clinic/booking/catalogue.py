"""The clinics as the booking pages use them, kept per worker until content changes.

Every booking request needs every clinic and the chosen one's hours and closures; loading
them through the ORM cost a quarter of a refused booking. Any edit to a clinic, its hours or
its closures moves the content generation (clinic.pagecache) in the same transaction, so a
request reads that one number and a worker reloads the clinics only when it has moved: a
change is seen by the very next request, in every worker.

A clinic's closures here are its own and the bank holidays it keeps closed, from today to the
end of the booking horizon only (a short list to check each day against), so the clinics are
also loaded again when the UK day turns.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app, g
from sqlalchemy.orm import selectinload

from clinic import uktime
from clinic.booking import slots
from clinic.content import bank_holidays
from clinic.content.models import Clinic
from clinic.extensions import db
from clinic.pagecache import CacheGeneration


@dataclass(frozen=True)
class BookableClinic:
    """What booking needs of a clinic, frozen so that requests can share it."""

    id: int
    slug: str
    name: str
    city: str
    address_lines: tuple[str, ...]
    hours: tuple[slots.Hours, ...]
    closures: tuple[slots.Closure, ...]


_GENERATION = sa.select(CacheGeneration.__table__.c.value)
_KEY = "booking_clinics"


def clinics() -> tuple[BookableClinic, ...]:
    """Every clinic in id order, as this request's transaction sees them."""
    if _KEY in g:
        return g.booking_clinics
    generation = db.session.connection().execute(_GENERATION).scalar()
    span = (uktime.today(), current_app.config["BOOKING_HORIZON_DAYS"])
    kept = current_app.extensions.get(_KEY)
    if generation is None:  # no counter row (a bare schema): nothing tells when to reload
        kept = (None, _load(*span))
    elif kept is None or kept[0] != (generation, span):
        kept = ((generation, span), _load(*span))
        current_app.extensions[_KEY] = kept
    g.booking_clinics = kept[1]
    return kept[1]


def by_slug(slug: str | None) -> BookableClinic | None:
    return next((c for c in clinics() if c.slug == slug), None) if slug else None


def by_id(clinic_id: int) -> BookableClinic | None:
    return next((c for c in clinics() if c.id == clinic_id), None)


def _load(today: date, horizon_days: int) -> tuple[BookableClinic, ...]:
    query = (
        sa.select(Clinic)
        .options(
            selectinload(Clinic.hours),
            selectinload(Clinic.closures),
            selectinload(Clinic.holiday_openings),
        )
        .order_by(Clinic.id)
    )
    # A day either side: the horizon's last day, and a request that began before midnight.
    first = today - timedelta(days=1)
    last = today + timedelta(days=horizon_days + 1)
    return tuple(
        BookableClinic(
            id=c.id,
            slug=c.slug,
            name=c.name,
            city=c.city,
            address_lines=tuple(c.address_lines),
            hours=tuple(slots.Hours(h.weekday, h.opens, h.closes) for h in c.hours),
            closures=tuple(
                slots.Closure(x.starts_on, x.ends_on, x.reason)
                for x in bank_holidays.of_clinic(c, first, last)
            ),
        )
        for c in db.session.scalars(query)
    )
