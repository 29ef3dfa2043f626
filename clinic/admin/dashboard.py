"""Figures for the dashboard, chosen by role so that marketers never see a person's data."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from clinic import uktime
from clinic.admin import charts
from clinic.booking.models import Booking
from clinic.content.models import Article, Clinic, Redirect
from clinic.content.review import review_queue
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.leads.models import Lead, LeadEvent
from clinic.monitoring import incidents

STAFF_ROLES = ("admin", "staff")
WEEKS = 12
TOP_ARTICLES = 5
NO_ARTICLE = "(direct)"
BY_PHONE = "(booked by staff on the phone)"
OTHER_ARTICLES = "(other articles)"
NO_BOOKING = "(no booking)"


def _start_of_local_day(days_ago: int = 0):
    return uktime.midnight(uktime.today() - timedelta(days=days_ago))


@dataclass(frozen=True)
class ArticleBookings:
    """What one article brought in the period: aggregate counts, no person's data."""

    title: str
    slug: str | None
    bookings: int
    calls_done: int
    treatment_booked: int


def _current_slug(slug: str | None, moves: dict[str, str]) -> str | None:
    """Follow the article's redirects, so that a renamed article keeps one row."""
    path = moves.get(f"/articles/{slug}")
    return path.removeprefix("/articles/") if path and path.startswith("/articles/") else slug


def bookings_by_article(since_days: int = 90) -> list[ArticleBookings]:
    """Count the bookings each article led to (cancelled ones left out) and how far they went:
    calls that took place, and people now booked for treatment."""
    since = utcnow() - timedelta(days=since_days)
    # Grouped by bare columns: PostgreSQL refuses a GROUP BY on coalesce(column, :param),
    # since each copy of the parameter is a different expression to it.
    # Who made the booking is on its "booked" timeline entry: the patient, or a member of staff.
    booked = sa.and_(LeadEvent.booking_id == Booking.id, LeadEvent.kind == "booked")
    query = (
        sa.select(
            Booking.source_article, Booking.status, Lead.status, LeadEvent.actor, sa.func.count()
        )
        .join(Lead, Lead.id == Booking.lead_id)
        .outerjoin(LeadEvent, booked)
        .where(Booking.created_at >= since, Booking.status != "cancelled")
        .group_by(Booking.source_article, Booking.status, Lead.status, LeadEvent.actor)
    )
    moves = dict(db.session.execute(sa.select(Redirect.old_path, Redirect.new_path)).all())
    totals: dict[str | None, list[int]] = {}
    for slug, call_status, lead_status, actor, count in db.session.execute(query):
        by_staff = slug is None and actor not in (None, "patient")
        row = totals.setdefault(BY_PHONE if by_staff else _current_slug(slug, moves), [0, 0, 0])
        row[0] += count
        row[1] += count if call_status == "done" else 0
        row[2] += count if lead_status == "treatment_booked" else 0
    articles = [s for s in totals if s and s != BY_PHONE]
    titles = dict(
        db.session.execute(
            sa.select(Article.slug, Article.title).where(Article.slug.in_(articles))
        ).all()
    )
    rows = [
        ArticleBookings(titles.get(slug, slug), slug, *counts)
        if slug in articles
        else ArticleBookings(slug or NO_ARTICLE, None, *counts)
        for slug, counts in totals.items()
    ]
    return sorted(rows, key=lambda r: (-r.bookings, r.slug is None, r.title))


def lead_counts() -> dict:
    def since(moment):
        return db.session.scalar(
            sa.select(sa.func.count()).select_from(Lead).where(Lead.created_at >= moment)
        )

    monday = _start_of_local_day(uktime.today().weekday())
    return {"today": since(_start_of_local_day()), "week": since(monday)}


def upcoming_calls(limit: int = 10) -> list[Booking]:
    query = (
        sa.select(Booking)
        .where(Booking.status == "confirmed", Booking.starts_at >= utcnow() - timedelta(minutes=15))
        .options(selectinload(Booking.lead), selectinload(Booking.clinic))
        .order_by(Booking.starts_at)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def week_starts(weeks: int = WEEKS, now: datetime | None = None) -> list[date]:
    """Return the Mondays (UK dates) of the last `weeks` weeks, oldest first, this week last."""
    today = uktime.today(now)
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def weekly_counts(rows: Iterable[tuple[datetime, str]], mondays: list[date]) -> dict:
    """Count (moment, key) rows per key and per UK week; rows outside the weeks are ignored."""
    week_index = {monday: i for i, monday in enumerate(mondays)}
    counts: dict[str, list[int]] = {}
    for moment, key in rows:
        local = uktime.to_local(moment).date()
        week = week_index.get(local - timedelta(days=local.weekday()))
        if week is not None:
            counts.setdefault(key, [0] * len(mondays))[week] += 1
    return counts


def top_series(counts: dict[str, list[int]], top: int = TOP_ARTICLES) -> list:
    """Keep the `top` articles that brought most leads, fold the rest into one, direct last."""
    counts = dict(counts)
    direct = counts.pop(NO_ARTICLE, None)
    ranked = sorted(counts.items(), key=lambda item: (-sum(item[1]), item[0]))
    kept, rest = ranked[:top], ranked[top:]
    if rest:
        kept.append(
            (OTHER_ARTICLES, [sum(week) for week in zip(*(v for _, v in rest), strict=True)])
        )
    if direct:
        kept.append((NO_ARTICLE, direct))
    return kept


def _week_labels(mondays: list[date]) -> list[str]:
    return [f"{monday.day} {monday:%b}" for monday in mondays]


def _since(monday: date) -> datetime:
    return uktime.midnight(monday)


def leads_per_week_by_clinic(weeks: int = WEEKS) -> charts.BarChart:
    """Chart new leads per week, split by the clinic of each lead's first booking."""
    mondays = week_starts(weeks)
    first_booking = (
        sa.select(Booking.lead_id, sa.func.min(Booking.id).label("booking_id"))
        .group_by(Booking.lead_id)
        .subquery()
    )
    query = (
        sa.select(Lead.created_at, sa.func.coalesce(Clinic.city, NO_BOOKING))
        .outerjoin(first_booking, first_booking.c.lead_id == Lead.id)
        .outerjoin(Booking, Booking.id == first_booking.c.booking_id)
        .outerjoin(Clinic, Clinic.id == Booking.clinic_id)
        .where(Lead.created_at >= _since(mondays[0]))
    )
    counts = weekly_counts(db.session.execute(query), mondays)
    cities = list(db.session.scalars(sa.select(Clinic.city).order_by(Clinic.id)))
    names = cities + sorted(set(counts) - set(cities))
    series = [(name, counts.get(name, [0] * weeks)) for name in names]
    return charts.stacked_bars(
        "New leads per week by clinic", "leads", _week_labels(mondays), series
    )


def leads_per_week_by_article(weeks: int = WEEKS) -> charts.BarChart:
    """Chart new leads per week, split by the article their first visit came from."""
    mondays = week_starts(weeks)
    query = sa.select(Lead.created_at, sa.func.coalesce(Lead.source_article, NO_ARTICLE)).where(
        Lead.created_at >= _since(mondays[0])
    )
    counts = weekly_counts(db.session.execute(query), mondays)
    return charts.stacked_bars(
        "New leads per week by the article of their first visit",
        "leads",
        _week_labels(mondays),
        top_series(counts),
    )


def for_role(role: str) -> dict:
    """Return the dashboard's figures: aggregates for everyone, people only for staff."""
    figures = {"by_article": bookings_by_article(), "article_chart": leads_per_week_by_article()}
    if role in STAFF_ROLES:
        figures.update(
            leads=lead_counts(), upcoming=upcoming_calls(), clinic_chart=leads_per_week_by_clinic()
        )
        figures["email_stalled"] = incidents.dashboard_notice()
    if role in ("admin", "marketer"):
        figures["review_queue"] = review_queue()
    return figures
