"""Figures for the dashboard, chosen by role so that marketers never see a person's data."""

from datetime import timedelta

import sqlalchemy as sa

from clinic.booking.models import Booking
from clinic.booking.slots import UK
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.leads.models import Lead


def _start_of_local_day(days_ago: int = 0):
    local = utcnow().astimezone(UK).replace(hour=0, minute=0, second=0, microsecond=0)
    return local - timedelta(days=days_ago)


def bookings_by_article(since_days: int = 90) -> list[tuple[str, int]]:
    """Count bookings per source article: aggregate figures, no personal data."""
    since = utcnow() - timedelta(days=since_days)
    query = (
        sa.select(Booking.source_article, sa.func.count())
        .where(Booking.created_at >= since)
        .group_by(Booking.source_article)
        .order_by(sa.func.count().desc())
    )
    return [(slug or "(direct)", count) for slug, count in db.session.execute(query)]


def lead_counts() -> dict:
    def since(moment):
        return db.session.scalar(
            sa.select(sa.func.count()).select_from(Lead).where(Lead.created_at >= moment)
        )

    monday = _start_of_local_day(utcnow().astimezone(UK).weekday())
    return {"today": since(_start_of_local_day()), "week": since(monday)}


def upcoming_calls(limit: int = 10) -> list[Booking]:
    query = (
        sa.select(Booking)
        .where(Booking.status == "confirmed", Booking.starts_at >= utcnow() - timedelta(minutes=15))
        .order_by(Booking.starts_at)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def for_role(role: str) -> dict:
    figures = {"by_article": bookings_by_article()}
    if role in ("admin", "staff"):
        figures.update(leads=lead_counts(), upcoming=upcoming_calls())
    return figures
