"""Figures for the dashboard, chosen by role so that marketers never see a person's data."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from clinic import figurecache, uktime
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


def _article_totals(since_days: int) -> dict:
    """Count bookings since `since_days` ago per article, with how many calls took place and
    how many people are now booked for treatment: {slug or key: [bookings, done, treatment]}."""
    since = utcnow() - timedelta(days=since_days)
    # Grouped by bare columns: PostgreSQL refuses a GROUP BY on coalesce(column, :param),
    # since each copy of the parameter is a different expression to it.
    # Who made the booking is on its "booked" timeline entry: the patient, or a member of staff.
    # One index probe per booking of the period (a join let PostgreSQL merge all 125,000).
    booked_by = (
        sa.select(LeadEvent.actor)
        .where(LeadEvent.booking_id == Booking.id, LeadEvent.kind == "booked")
        .limit(1)
        .correlate(Booking)
        .scalar_subquery()
    )
    # MATERIALIZED: read the period's bookings off the created_at index first. Left to itself,
    # SQLite walks every booking in source_article order to save a sort for the GROUP BY.
    recent = (
        sa.select(
            Booking.source_article,
            Booking.status.label("call_status"),
            Lead.status.label("lead_status"),
            booked_by.label("actor"),
        )
        .join(Lead, Lead.id == Booking.lead_id)
        .where(Booking.created_at >= since, Booking.status != "cancelled")
        .cte("recent_bookings")
        .prefix_with("MATERIALIZED")
    )
    columns = (recent.c.source_article, recent.c.call_status, recent.c.lead_status, recent.c.actor)
    query = sa.select(*columns, sa.func.count()).group_by(*columns)
    moves = dict(db.session.execute(sa.select(Redirect.old_path, Redirect.new_path)).all())
    totals: dict[str, list[int]] = {}
    for slug, call_status, lead_status, actor, count in db.session.execute(query):
        by_staff = slug is None and actor not in (None, "patient")
        key = BY_PHONE if by_staff else _current_slug(slug, moves) or NO_ARTICLE
        row = totals.setdefault(key, [0, 0, 0])
        row[0] += count
        row[1] += count if call_status == "done" else 0
        row[2] += count if lead_status == "treatment_booked" else 0
    return totals


def bookings_by_article(since_days: int = 90, totals: dict | None = None) -> list[ArticleBookings]:
    """Count the bookings each article led to (cancelled ones left out) and how far they went:
    calls that took place, and people now booked for treatment."""
    totals = _article_totals(since_days) if totals is None else totals
    articles = [s for s in totals if s not in (BY_PHONE, NO_ARTICLE)]
    titles = dict(
        db.session.execute(
            sa.select(Article.slug, Article.title).where(Article.slug.in_(articles))
        ).all()
    )
    rows = [
        ArticleBookings(titles.get(slug, slug), slug, *counts)
        if slug in articles
        else ArticleBookings(slug, None, *counts)
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


def week_of(moment, mondays: list[date]) -> sa.Case:
    """Return SQL for the index of the UK week that `moment` falls in (0 the oldest)."""
    starts = [_since(monday) for monday in mondays]
    return sa.case(*((moment >= start, i) for i, start in reversed(list(enumerate(starts)))))


def weekly_counts(key, mondays: list[date]) -> dict:
    """Count the leads created in each UK week per value of `key` (a SQL expression over the
    lead), in the database: {key: [count per week]}; leads before the first week left out."""
    rows = (
        sa.select(week_of(Lead.created_at, mondays).label("week"), key.label("key"))
        .where(Lead.created_at >= _since(mondays[0]))
        .subquery()
    )
    query = sa.select(rows.c.week, rows.c.key, sa.func.count()).group_by(rows.c.week, rows.c.key)
    counts: dict = {}
    for week, value, number in db.session.execute(query):
        counts.setdefault(value, [0] * len(mondays))[week] += number
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


def _first_clinic():
    """The clinic of the lead's first booking, as a subquery per lead (one index probe each)."""
    return (
        sa.select(Booking.clinic_id)
        .where(Booking.lead_id == Lead.id)
        .order_by(Booking.id)
        .limit(1)
        .correlate(Lead)
        .scalar_subquery()
    )


def _clinic_counts(mondays: list[date]) -> dict[str, list[int]]:
    counts = weekly_counts(_first_clinic(), mondays)
    cities = dict(db.session.execute(sa.select(Clinic.id, Clinic.city)).all())
    by_city: dict[str, list[int]] = {}
    for clinic_id, weeks in counts.items():
        city = cities.get(clinic_id, NO_BOOKING)
        before = by_city.get(city, [0] * len(weeks))
        by_city[city] = [a + b for a, b in zip(before, weeks, strict=True)]
    return by_city


def _article_counts(mondays: list[date]) -> dict[str, list[int]]:
    counts = weekly_counts(Lead.source_article, mondays)
    if None in counts:
        counts[NO_ARTICLE] = counts.pop(None)
    return counts


def leads_per_week_by_clinic(
    weeks: int = WEEKS, counts: dict[str, list[int]] | None = None
) -> charts.BarChart:
    """Chart new leads per week, split by the clinic of each lead's first booking."""
    mondays = week_starts(weeks)
    counts = _clinic_counts(mondays) if counts is None else counts
    cities = list(db.session.scalars(sa.select(Clinic.city).order_by(Clinic.id)))
    names = cities + sorted(set(counts) - set(cities))
    series = [(name, counts.get(name, [0] * weeks)) for name in names]
    return charts.stacked_bars(
        "New leads per week by clinic", "leads", _week_labels(mondays), series
    )


def leads_per_week_by_article(
    weeks: int = WEEKS, counts: dict[str, list[int]] | None = None
) -> charts.BarChart:
    """Chart new leads per week, split by the article their first visit came from."""
    mondays = week_starts(weeks)
    counts = _article_counts(mondays) if counts is None else counts
    return charts.stacked_bars(
        "New leads per week by the article of their first visit",
        "leads",
        _week_labels(mondays),
        top_series(counts),
    )


def _aggregates(staff: bool) -> dict:
    """Compute the counts behind the dashboard (no person's data: safe to keep and share)."""
    mondays = week_starts()
    figures = {"by_article": _article_totals(90), "article_weeks": _article_counts(mondays)}
    if staff:
        figures.update(leads=lead_counts(), clinic_weeks=_clinic_counts(mondays))
    return figures


def for_role(role: str) -> dict:
    """Return the dashboard's figures: aggregates for everyone, people only for staff.

    The counts scan weeks of leads and months of bookings, so they are kept for
    CLINIC_FIGURES_CACHE_SECONDS and the page says when they were worked out."""
    staff = role in STAFF_ROLES
    key = f"dashboard:{'staff' if staff else 'aggregates'}:{week_starts()[-1].isoformat()}"
    counts, as_of = figurecache.remember(key, lambda: _aggregates(staff))
    figures = {
        "by_article": bookings_by_article(totals=counts["by_article"]),
        "article_chart": leads_per_week_by_article(counts=counts["article_weeks"]),
        "as_of": as_of,
        "figures_seconds": current_app.config["CLINIC_FIGURES_CACHE_SECONDS"],
    }
    if staff:
        figures.update(
            leads=counts["leads"],
            upcoming=upcoming_calls(),
            clinic_chart=leads_per_week_by_clinic(counts=counts["clinic_weeks"]),
        )
        figures["email_stalled"] = incidents.dashboard_notice()
    if role in ("admin", "marketer"):
        figures["review_queue"] = review_queue()
    return figures
