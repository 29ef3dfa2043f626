"""The funnel from a visit to treatment, in counts and rates only: never a person.

Visits come from `visit_count`; bookings, calls done and treatment booked from the bookings
and their leads, grouped the same way (the article a booking came from, or the first touch
of its lead: utm_source or the referring site, and utm_campaign).
"""

import csv
import io
import math
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa

from clinic import uktime
from clinic.admin import charts
from clinic.booking.models import Booking
from clinic.content.models import Article, Redirect
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.insights.models import VisitCount
from clinic.insights.visitors import NO_CAMPAIGN, source_of, tag
from clinic.leads.models import Lead

DIMENSIONS = {"article": "Article", "source": "Source", "campaign": "Campaign"}
PRESETS = (7, 30, 90)
LONGEST = 366
NO_ARTICLE = "(no article)"
MIN_VISITORS = 30  # fewer than this says little about an article's conversion
MIN_CALLS_DUE = 3
COLUMNS = (
    ("visitors", "Visitors"),
    ("views", "Views"),
    ("form_opens", "Opened the booking form"),
    ("open_rate", "Visitors who opened the form"),
    ("bookings", "Bookings"),
    ("booking_rate", "Form openers who booked"),
    ("calls_done", "Calls done"),
    ("done_rate", "Bookings with the call done"),
    ("treatment", "Treatment booked"),
    ("treatment_rate", "Calls done that led to treatment"),
    ("visit_rate", "Visitors who booked"),
)
SORTS = {name for name, _ in COLUMNS} | {"label"}


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Row:
    """One article, source or campaign over the period: counts, and rates from them."""

    key: str
    label: str
    visitors: int = 0
    views: int = 0
    form_opens: int = 0
    bookings: int = 0
    calls_due: int = 0
    calls_done: int = 0
    treatment: int = 0

    @property
    def open_rate(self):
        return rate(self.form_opens, self.visitors)

    @property
    def booking_rate(self):
        return rate(self.bookings, self.form_opens)

    @property
    def done_rate(self):
        return rate(self.calls_done, self.bookings)

    @property
    def treatment_rate(self):
        return rate(self.treatment, self.calls_done)

    @property
    def visit_rate(self):
        return rate(self.bookings, self.visitors)


@dataclass(frozen=True)
class Period:
    """UK dates, both days included."""

    start: date
    end: date

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def moments(self) -> tuple[datetime, datetime]:
        return uktime.midnight(self.start), uktime.midnight(self.end + timedelta(days=1))


def last_days(days: int, today: date | None = None) -> Period:
    today = today or uktime.today()
    return Period(today - timedelta(days=days - 1), today)


def _day(value: str, name: str, errors: dict) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors[name] = "Enter a date as year-month-day, for example 2026-11-30."
        return None


def parse_period(args, today: date | None = None) -> tuple[Period, dict[str, str]]:
    """Read ?days= or ?from=&to= (ISO dates); return the period and messages per field.

    With an error, the last 30 days are shown beside the messages."""
    today = today or uktime.today()
    errors: dict[str, str] = {}
    if not (args.get("from") or args.get("to")):
        days = args.get("days", "30")
        if days not in {str(d) for d in PRESETS}:
            errors["days"] = "Choose the last 7, 30 or 90 days."
            days = "30"
        return last_days(int(days), today), errors
    start = _day(args.get("from", ""), "from", errors)
    end = _day(args.get("to", ""), "to", errors)
    if start and end:
        if end > today:
            errors["to"] = "The last day cannot be after today."
        elif start > end:
            errors["from"] = "The first day must be on or before the last day."
        elif (end - start).days >= LONGEST:
            errors["from"] = f"Choose at most {LONGEST} days."
    if errors:
        return last_days(30, today), errors
    return Period(start, end), errors


def _moves() -> dict[str, str]:
    return dict(db.session.execute(sa.select(Redirect.old_path, Redirect.new_path)).all())


def _slug(path: str | None, moves: dict[str, str]) -> str | None:
    """Return the article's slug now, after its redirects (a renamed article keeps one row)."""
    if not path:
        return None
    path = moves.get(path, path)
    slug = path.removeprefix("/articles/")
    return slug if slug != path and slug and "/" not in slug else None


def _visit_sums(kind: str, column, period: Period):
    query = (
        sa.select(column, sa.func.sum(VisitCount.views), sa.func.sum(VisitCount.visitors))
        .where(VisitCount.kind == kind, VisitCount.day.between(period.start, period.end))
        .group_by(column)
    )
    return db.session.execute(query).all()


def _booking_sums(columns: list, period: Period):
    """Bookings made in the period (cancelled ones left out) by `columns`, with how far
    they went: calls due by now, calls done, people booked for treatment."""
    since, until = period.moments()
    due = sa.func.sum(sa.case((Booking.starts_at < utcnow(), 1), else_=0))
    query = (
        sa.select(*columns, Booking.status, Lead.status, sa.func.count(), due)
        .join(Lead, Lead.id == Booking.lead_id)
        .where(
            Booking.created_at >= since, Booking.created_at < until, Booking.status != "cancelled"
        )
        .group_by(*columns, Booking.status, Lead.status)
    )
    return db.session.execute(query).all()


def _add_bookings(row: Row, call_status, lead_status, count, due) -> None:
    row.bookings += count
    row.calls_due += int(due or 0)
    row.calls_done += count if call_status == "done" else 0
    row.treatment += count if lead_status == "treatment_booked" else 0


def rows_by_article(period: Period) -> list[Row]:
    moves = _moves()
    rows: dict[str | None, Row] = {}

    def row(slug):
        return rows.setdefault(slug, Row(slug or "", NO_ARTICLE))

    for path, views, visitors in _visit_sums("view", VisitCount.path, period):
        if slug := _slug(path, moves):
            row(slug).views += int(views)
            row(slug).visitors += int(visitors)
    for path, _views, visitors in _visit_sums("form", VisitCount.path, period):
        row(_slug(path, moves)).form_opens += int(visitors)
    for source_article, *figures in _booking_sums([Booking.source_article], period):
        slug = _slug(f"/articles/{source_article}", moves) if source_article else None
        _add_bookings(row(slug), *figures)
    titles = dict(
        db.session.execute(
            sa.select(Article.slug, Article.title).where(Article.slug.in_([s for s in rows if s]))
        ).all()
    )
    for slug, found in rows.items():
        if slug:
            found.label = titles.get(slug, slug)
    # Made-up article addresses count views but are no article: keep known ones and bookings.
    return [r for s, r in rows.items() if not s or s in titles or r.bookings]


def _rows_by_tag(period: Period, column, lead_key) -> list[Row]:
    rows: dict[str, Row] = {}

    def row(key):
        return rows.setdefault(key, Row(key, key))

    for key, views, visitors in _visit_sums("site", column, period):
        row(key).views += int(views)
        row(key).visitors += int(visitors)
    for key, _views, visitors in _visit_sums("form", column, period):
        row(key).form_opens += int(visitors)
    lead_columns, name_of = lead_key
    for *values, call_status, lead_status, count, due in _booking_sums(lead_columns, period):
        _add_bookings(row(name_of(*values)), call_status, lead_status, count, due)
    return list(rows.values())


def rows_for(dimension: str, period: Period, own_host: str) -> list[Row]:
    """Return the funnel rows of one dimension ("article", "source" or "campaign")."""
    if dimension == "article":
        return rows_by_article(period)
    if dimension == "source":
        key = (
            [Lead.utm_source, Lead.referrer],
            lambda utm, referrer: source_of(utm, referrer, own_host),
        )
        return _rows_by_tag(period, VisitCount.source, key)
    key = ([Lead.utm_campaign], lambda campaign: tag(campaign) or NO_CAMPAIGN)
    return _rows_by_tag(period, VisitCount.campaign, key)


def sort_rows(rows: list[Row], by: str, descending: bool) -> list[Row]:
    """Sort by one column; rows without a rate (nothing to divide by) always come last."""
    by = by if by in SORTS else "visitors"
    present = [r for r in rows if getattr(r, by) is not None]
    missing = [r for r in rows if getattr(r, by) is None]
    present.sort(key=lambda r: r.label.lower())
    # Two stable sorts: ties stay in order of name.
    present.sort(
        key=lambda r: getattr(r, by) if by != "label" else r.label.lower(), reverse=descending
    )
    return present + sorted(missing, key=lambda r: r.label.lower())


def totals(rows: list[Row]) -> Row:
    total = Row("", "All")
    for row in rows:
        for name in (
            "visitors",
            "views",
            "form_opens",
            "bookings",
            "calls_due",
            "calls_done",
            "treatment",
        ):
            setattr(total, name, getattr(total, name) + getattr(row, name))
    return total


@dataclass(frozen=True)
class LookAt:
    """Rows a marketer should look at, and why."""

    few_bookings: list[Row]
    calls_not_done: list[Row]


def look_at(rows: list[Row], min_visitors: int = MIN_VISITORS) -> LookAt:
    """Pick rows with many visitors and few bookings (under half the rate of all the other
    rows together), and rows whose calls, once due, mostly did not take place."""
    all_bookings = sum(r.bookings for r in rows)
    all_visitors = sum(r.visitors for r in rows)

    def books_rarely(row: Row) -> bool:
        others = rate(all_bookings - row.bookings, all_visitors - row.visitors)
        return row.visitors >= min_visitors and (
            row.bookings == 0 or (others is not None and row.visit_rate < others / 2)
        )

    few = [r for r in rows if books_rarely(r)]
    not_done = [
        r for r in rows if r.calls_due >= MIN_CALLS_DUE and r.calls_done / r.calls_due < 0.5
    ]
    return LookAt(
        sorted(few, key=lambda r: (-r.visitors, r.label))[:5],
        sorted(not_done, key=lambda r: (r.calls_done - r.calls_due, r.label))[:5],
    )


def daily(period: Period) -> dict[str, list[int]]:
    """Visitors, booking-form openers and bookings per UK day of the period."""
    index = {day: i for i, day in enumerate(period.days)}
    series = {name: [0] * len(index) for name in ("visitors", "form_opens", "bookings")}
    for kind, name in (("site", "visitors"), ("form", "form_opens")):
        query = (
            sa.select(VisitCount.day, sa.func.sum(VisitCount.visitors))
            .where(VisitCount.kind == kind, VisitCount.day.between(period.start, period.end))
            .group_by(VisitCount.day)
        )
        for day, count in db.session.execute(query):
            series[name][index[day]] = int(count)
    since, until = period.moments()
    made = sa.select(Booking.created_at).where(
        Booking.created_at >= since, Booking.created_at < until, Booking.status != "cancelled"
    )
    for (moment,) in db.session.execute(made):
        day = uktime.to_local(moment).date()
        if day in index:
            series["bookings"][index[day]] += 1
    return series


def day_chart(title: str, unit: str, period: Period, values: list[int]) -> charts.BarChart:
    """Lay out one bar per day, labelling about ten days so the labels never overlap."""
    labels = [f"{day.day} {day:%b}" for day in period.days]
    chart = charts.stacked_bars(title, unit, labels, [(unit.capitalize(), values)])
    every = max(1, math.ceil(len(labels) / 10))
    total = sum(values)
    if total:
        busiest = labels[max(range(len(values)), key=values.__getitem__)]
        text = f"{total} {unit} in {len(labels)} days from {labels[0]} to {labels[-1]}; "
        text += f"the busiest day was {busiest}, with {max(values)}."
    else:
        text = f"No {unit} in the {len(labels)} days from {labels[0]} to {labels[-1]}."
    return replace(
        chart,
        description=text,
        x_labels=tuple(chart.x_labels[i] for i in range(0, len(labels), every)),
        total_labels=chart.total_labels if len(labels) <= 31 else (),
    )


def charts_for(period: Period) -> list[charts.BarChart]:
    series = daily(period)
    return [
        day_chart("Visitors per day", "visitors", period, series["visitors"]),
        day_chart("Booking-form openers per day", "form openers", period, series["form_opens"]),
        day_chart("Bookings per day", "bookings", period, series["bookings"]),
    ]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value * 100:.1f}%"
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def rows_csv(dimension: str, rows: list[Row]) -> str:
    """Write the table as CSV, rates as percentages; a cell never starts a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([DIMENSIONS[dimension], *(title for _, title in COLUMNS)])
    for row in rows:
        writer.writerow([_cell(row.label), *(_cell(getattr(row, name)) for name, _ in COLUMNS)])
    return buffer.getvalue()


def own_host(base_url: str) -> str:
    return urlsplit(base_url).hostname or ""
