"""Reading leads for staff: filters, search, sort, pages, counts, owners and the timeline."""

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import joinedload

from clinic import figurecache
from clinic.accounts.models import User
from clinic.booking.models import CALL_LENGTH, Booking
from clinic.content.models import Clinic
from clinic.database import distinct_values
from clinic.dbtypes import MAX_ID, utcnow
from clinic.extensions import db
from clinic.leads import search as lead_search
from clinic.leads.models import LEAD_STATUSES, Lead
from clinic.leads.services import owner_emails
from clinic.leads_admin import ordering
from clinic.notifications.models import OutboxMessage
from clinic.uktime import midnight

SORTS = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "name": "Name, A to Z",
    "status": "Status, in pipeline order",
    "next_call": "Next call, soonest first",
}
PER_PAGE = 25
FRESH_BELOW = 2000  # leads: fewer are counted at every visit, at a cost of a few milliseconds
# A search is counted up to this many matches: past it (a word most e-mails share, two
# letters) an exact count, and per status, would read every match for a figure nobody needs.
SEARCH_COUNT_LIMIT = 1000
MAX_PAGE = 10**9
OWNER_ROLES = ("staff", "admin")
MAX_TEXT = 200
# Leads exist only from this century; the bounds keep date arithmetic away from overflow.
FIRST_YEAR, LAST_YEAR = 2000, 2999
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")


@dataclass(frozen=True)
class LeadFilter:
    """What staff asked the list for; every value already checked."""

    status: str | None = None
    clinic: str | None = None
    created_from: date | None = None
    created_to: date | None = None
    source_article: str | None = None
    utm_source: str | None = None
    q: str = ""
    sort: str = "newest"
    page: int = 1
    after: int | None = None  # Next: the page after this lead (see ordering.py)
    before: int | None = None  # Previous: the page before it

    def to_args(self, **changes) -> dict[str, str]:
        """Return the query-string arguments for this filter, with `changes` applied; a link
        names the lead it pages from only when told (`after=` or `before=` in `changes`)."""
        chosen = replace(self, **{"after": None, "before": None, **changes})
        args = {
            "q": chosen.q,
            "status": chosen.status,
            "clinic": chosen.clinic,
            "from": chosen.created_from.isoformat() if chosen.created_from else None,
            "to": chosen.created_to.isoformat() if chosen.created_to else None,
            "article": chosen.source_article,
            "utm_source": chosen.utm_source,
            "sort": None if chosen.sort == "newest" else chosen.sort,
            "page": str(chosen.page) if chosen.page and chosen.page > 1 else None,
            "after": str(chosen.after) if chosen.after else None,
            "before": str(chosen.before) if chosen.before else None,
        }
        return {key: value for key, value in args.items() if value}

    def describe(self) -> str:
        """Describe the filter for the audit trail: the search words are personal, so not them."""
        args = self.to_args(q="", page=1)
        parts = [f"{key}={value}" for key, value in args.items()]
        if self.q:
            parts.append("search=yes")
        return " ".join(parts) or "all"


def parse_filter(
    args: Mapping[str, str], clinic_slugs: Collection[str]
) -> tuple[LeadFilter, list[str]]:
    """Read the list's query string; return the filter and a message for each value ignored."""
    problems: list[str] = []
    status = _text(args, "status") or None
    if status and status not in LEAD_STATUSES:
        problems.append(f"There is no status “{status}”: showing every status.")
        status = None
    clinic = _text(args, "clinic") or None
    if clinic and clinic not in clinic_slugs:
        problems.append(f"There is no clinic “{clinic}”: showing every clinic.")
        clinic = None
    created_from = _date(args, "from", "Created from", problems)
    created_to = _date(args, "to", "Created to", problems)
    if created_from and created_to and created_from > created_to:
        problems.append("“Created from” is after “Created to”: the dates were swapped.")
        created_from, created_to = created_to, created_from
    sort = _text(args, "sort") or "newest"
    if sort not in SORTS:
        sort = "newest"
    lead_filter = LeadFilter(
        status=status,
        clinic=clinic,
        created_from=created_from,
        created_to=created_to,
        source_article=_text(args, "article") or None,
        utm_source=_text(args, "utm_source") or None,
        q=_text(args, "q"),
        sort=sort,
        page=_page(args.get("page")),
        after=_lead_id(args.get("after")),
        before=_lead_id(args.get("before")),
    )
    return lead_filter, problems


def _text(args: Mapping[str, str], name: str) -> str:
    """Return one value, trimmed, without control characters (PostgreSQL refuses NUL)."""
    value = "".join(ch for ch in (args.get(name) or "") if ch.isprintable() or ch.isspace())
    return " ".join(value.split())[:MAX_TEXT]


def _date(args: Mapping[str, str], name: str, label: str, problems: list[str]) -> date | None:
    raw = _text(args, name)
    if not raw:
        return None
    for pattern in DATE_FORMATS:
        try:
            value = datetime.strptime(raw, pattern).date()
        except ValueError:
            continue
        if FIRST_YEAR <= value.year <= LAST_YEAR:
            return value
    problems.append(f"“{label}” must be a date like 31/01/2026: “{raw}” was ignored.")
    return None


def _page(raw: str | None) -> int:
    """Return a page number of at least 1: junk means the first page, a huge one the last."""
    raw = (raw or "").strip()
    if not re.fullmatch(r"[0-9]+", raw):
        return 1
    return MAX_PAGE if len(raw) > 9 else min(max(int(raw), 1), MAX_PAGE)


def _lead_id(raw: str | None) -> int | None:
    """Return the lead id a Next or Previous link names; junk names none (a numbered page)."""
    raw = (raw or "").strip()
    return int(raw) if re.fullmatch(r"[0-9]{1,18}", raw) and 0 < int(raw) <= MAX_ID else None


def _search(q: str):
    """Match the search words on the lead search index (clinic/leads/search.py)."""
    return lead_search.matching(q)


def conditions(lead_filter: LeadFilter, with_status: bool = True) -> list:
    """Return the WHERE clauses for a filter (without its status, for the pipeline counts)."""
    where = []
    if with_status and lead_filter.status:
        where.append(Lead.status == lead_filter.status)
    if lead_filter.clinic:
        # EXISTS, one index probe per lead read: an IN list would hold every lead the clinic
        # ever had (half of them at 100,000 leads) before the first row of the page.
        clinic_id = sa.select(Clinic.id).where(Clinic.slug == lead_filter.clinic)
        at_clinic = sa.select(Booking.id).where(
            Booking.clinic_id == clinic_id.scalar_subquery(), Booking.lead_id == Lead.id
        )
        where.append(at_clinic.exists())
    if lead_filter.created_from:
        where.append(Lead.created_at >= midnight(lead_filter.created_from))
    if lead_filter.created_to:
        where.append(Lead.created_at < midnight(lead_filter.created_to + timedelta(days=1)))
    if lead_filter.source_article:
        where.append(Lead.source_article == lead_filter.source_article)
    if lead_filter.utm_source:
        where.append(Lead.utm_source == lead_filter.utm_source)
    if lead_filter.q:
        where.append(_search(lead_filter.q))
    return where


def next_calls_by_lead(lead_ids: list[int], now: datetime) -> dict[int, datetime]:
    """Return the start of each lead's next confirmed call, for the leads that have one."""
    found: dict[int, datetime] = {}
    for start in range(0, len(lead_ids), 500):
        query = (
            sa.select(Booking.lead_id, sa.func.min(Booking.starts_at))
            .where(
                Booking.lead_id.in_(lead_ids[start : start + 500]),
                Booking.status == "confirmed",
                Booking.starts_at >= now - CALL_LENGTH,
            )
            .group_by(Booking.lead_id)
        )
        found.update(db.session.execute(query).all())
    return found


def ordered_leads(
    lead_filter: LeadFilter, now: datetime, offset: int = 0, limit: int | None = None
) -> list[Lead]:
    """Return the filtered leads in the filter's order, `limit` of them from `offset` (all
    when `limit` is None)."""
    return ordering.window(_parts(lead_filter, now), offset, limit)


def _parts(lead_filter: LeadFilter, now: datetime) -> list[ordering.Part]:
    where = conditions(lead_filter)
    return ordering.parts(lead_filter.sort, where, bool(lead_filter.status), now)


@dataclass
class Row:
    """One lead as the list and the CSV show it."""

    lead: Lead
    next_call: datetime | None
    owner: str | None = None
    clinics: list[str] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)


@dataclass
class ResultPage:
    rows: list[Row]
    page: int
    pages: int
    total: int
    counts: dict[str, int] = field(default_factory=dict)  # per status, under the other filters
    counted_at: datetime | None = None  # when the counts were kept a while; None: just now
    more: bool = False  # a search with more than SEARCH_COUNT_LIMIT matches: `total` is that

    @property
    def first_number(self) -> int:
        return (self.page - 1) * PER_PAGE + 1 if self.total else 0

    @property
    def last_number(self) -> int:
        return min(self.page * PER_PAGE, self.total)


def _rows(
    lead_filter: LeadFilter, now: datetime, page: int | None, total: int | None = None
) -> list[Row]:
    if page is None:
        leads = ordered_leads(lead_filter, now)
    else:
        leads = _leads_of_page(lead_filter, now, page, total)
    ids = [lead.id for lead in leads]
    next_calls = next_calls_by_lead(ids, now)
    owners = owner_emails({lead.owner_id for lead in leads})
    clinics = clinic_names_by_lead(ids)
    calls = call_counts_by_lead(ids)
    return [
        Row(
            lead,
            next_calls.get(lead.id),
            owners.get(lead.owner_id),
            clinics.get(lead.id, []),
            calls.get(lead.id, {}),
        )
        for lead in leads
    ]


def _leads_of_page(
    lead_filter: LeadFilter, now: datetime, page: int, total: int | None
) -> list[Lead]:
    """Return one page: next to the lead named by Next or Previous (read off the index from
    that lead, however deep), else by its number: an offset from the start, or in the second
    half of the list (`total` given) from the end, so the last page costs what the first does.
    (With counts kept a minute, a lead added since moves the pages read from the end by one,
    as it moves those read from the start.)"""
    lead_id, forward = (
        (lead_filter.after, True) if lead_filter.after else (lead_filter.before, False)
    )
    if lead_id:
        leads = ordering.next_to(_parts(lead_filter, now), lead_id, PER_PAGE, forward)
        if leads:
            return leads
    offset = (page - 1) * PER_PAGE
    if total is None or offset <= total // 2:
        return ordered_leads(lead_filter, now, offset, PER_PAGE)
    from_end = total - offset - PER_PAGE
    take = PER_PAGE + min(from_end, 0)
    reversed_page = ordering.window(_parts(lead_filter, now), max(from_end, 0), take, False)
    return reversed_page[::-1]


def count(lead_filter: LeadFilter) -> int:
    query = sa.select(sa.func.count()).select_from(Lead).where(*conditions(lead_filter))
    return db.session.scalar(query)


def page_of_leads(lead_filter: LeadFilter, now: datetime | None = None) -> ResultPage:
    """Return one page of the filtered leads; a page past the end shows the last page.

    A search that matches more than SEARCH_COUNT_LIMIT leads is not counted per status, and
    pages only through its first SEARCH_COUNT_LIMIT (newest first, or in the sort chosen):
    the page says so and asks for another word."""
    if lead_filter.q and capped_count(lead_filter, with_status=False) > SEARCH_COUNT_LIMIT:
        total = capped_count(lead_filter) if lead_filter.status else SEARCH_COUNT_LIMIT + 1
        counts, counted_at, more = {}, None, total > SEARCH_COUNT_LIMIT
        total = min(total, SEARCH_COUNT_LIMIT)
    else:
        counts, counted_at = pipeline_counts(lead_filter)
        total = counts[lead_filter.status] if lead_filter.status else sum(counts.values())
        more = False
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(lead_filter.page, pages)
    # A capped search has no true total to count back from: its pages are read from the start.
    rows = _rows(lead_filter, now or utcnow(), page, None if more else total)
    return ResultPage(rows, page, pages, total, counts, counted_at, more)


def capped_count(lead_filter: LeadFilter, with_status: bool = True) -> int:
    """Count the search's matches under the other filters, stopping at SEARCH_COUNT_LIMIT + 1."""
    others = conditions(replace(lead_filter, q=""), with_status)
    found = lead_search.leads_found(lead_filter.q).where(*others)
    found = found.limit(SEARCH_COUNT_LIMIT + 1).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(found))


def pipeline_counts(lead_filter: LeadFilter) -> tuple[dict[str, int], datetime | None]:
    """Count leads per status under the rest of the filter, and say when they were counted.

    Counting reads every matching lead (half of 100,000 for one clinic), so large counts are
    kept for CLINIC_FIGURES_CACHE_SECONDS and the page says when they were made (None: now).
    Small ones, and every search (its words must not be stored), are counted afresh."""
    if lead_filter.q:
        return status_counts(lead_filter), None
    args = replace(lead_filter, status=None, sort="newest", page=1).to_args()
    key = "lead-counts:" + "&".join(f"{k}={v}" for k, v in sorted(args.items()))
    counted_now = []

    def count() -> dict[str, int]:
        counted_now.append(True)
        return status_counts(lead_filter)

    counts, counted_at = figurecache.remember(key, count)
    small = sum(counts.values()) < FRESH_BELOW
    if small and not counted_now:  # kept, but small: counted again, to be exact
        return status_counts(lead_filter), None
    kept = current_app.config["CLINIC_FIGURES_CACHE_SECONDS"] and not small
    return counts, (counted_at if kept else None)


def all_leads(lead_filter: LeadFilter, now: datetime | None = None) -> list[Row]:
    """Return every lead that matches, in the filter's order, loaded at once (the export
    streams `export_parts` instead; this stays the reference its tests compare with)."""
    return _rows(lead_filter, now or utcnow(), page=None)


# What the CSV needs of each lead: plain columns, cheaper to read than whole Lead objects.
EXPORT_COLUMNS = (
    "id",
    "created_at",
    "name",
    "email",
    "phone",
    "status",
    "owner_id",
    "source_article",
    *(f"utm_{part}" for part in ("source", "medium", "campaign", "term", "content")),
    "landing_page",
    "referrer",
    "marketing_opt_in",
)


def export_parts(lead_filter: LeadFilter, now: datetime) -> list[sa.Select]:
    """Select every matching lead's exported columns in the filter's order, as statements to
    read one after the other (the list's parts: see ordering.py).

    The next call itself is not joined in (see `every_next_call`): streamed through a server-side
    cursor, PostgreSQL plans without parallel workers and, guessing a handful of calls ahead
    where there are hundreds, joined them by a nested loop (85 million comparisons, 6.9 s at
    100,000 leads, against 0.4 s for the plain read)."""
    columns = [getattr(Lead, name) for name in EXPORT_COLUMNS]
    return [part.ordered().with_only_columns(*columns) for part in _parts(lead_filter, now)]


def every_next_call(now: datetime, connection) -> dict[int, datetime]:
    """Return the start of every lead's next confirmed call: the calls ahead are few (the
    coming weeks' bookings), so read them all at once."""
    ahead = ordering.calls_ahead(now)
    return dict(connection.execute(sa.select(ahead.c.lead_id, ahead.c.starts)).all())


def export_count(lead_filter: LeadFilter) -> sa.Select:
    """Count what `export_parts` will read (one index or table scan, before the first row)."""
    return sa.select(sa.func.count()).select_from(Lead).where(*conditions(lead_filter))


def status_counts(lead_filter: LeadFilter) -> dict[str, int]:
    """Count leads per status under every other part of the filter."""
    query = (
        sa.select(Lead.status, sa.func.count())
        .where(*conditions(lead_filter, with_status=False))
        .group_by(Lead.status)
    )
    counts = dict.fromkeys(LEAD_STATUSES, 0)
    counts.update({status: n for status, n in db.session.execute(query)})
    return counts


def page_numbers(page: int, pages: int, around: int = 2) -> list[int | None]:
    """Return the page links to show: first, last and a window around `page`; None is a gap."""
    shown = {1, pages, *range(page - around, page + around + 1)}
    numbers: list[int | None] = []
    for number in sorted(n for n in shown if 1 <= n <= pages):
        if numbers and number - numbers[-1] > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


def clinic_choices() -> list[tuple[str, str]]:
    return [(c.slug, c.name) for c in db.session.scalars(sa.select(Clinic).order_by(Clinic.name))]


def _distinct(column, current: str | None) -> list[str]:
    values = distinct_values(column, limit=300)
    return values if not current or current in values else [current, *values]


def filter_choices(lead_filter: LeadFilter) -> dict[str, list]:
    """Return the options for the filter form's lists."""
    return {
        "clinics": clinic_choices(),
        "articles": _distinct(Lead.source_article, lead_filter.source_article),
        "utm_sources": _distinct(Lead.utm_source, lead_filter.utm_source),
    }


def lead_id_by_email(email: str) -> int | None:
    return db.session.scalar(sa.select(Lead.id).where(Lead.email == email))


def possible_owners() -> list[User]:
    """Return the active users who may own a lead: staff and admins."""
    query = (
        sa.select(User)
        .where(User.active.is_(True), User.role.in_(OWNER_ROLES))
        .order_by(User.email)
    )
    return list(db.session.scalars(query))


def owner_choices(lead: Lead) -> list[tuple[str, str]]:
    """Return the owner list for a lead: nobody, the possible owners, and its current owner."""
    choices = [("", "Nobody")] + [(str(u.id), u.email) for u in possible_owners()]
    if lead.owner_id and str(lead.owner_id) not in dict(choices):
        current = owner_emails({lead.owner_id}).get(lead.owner_id, f"user #{lead.owner_id}")
        choices.append((str(lead.owner_id), f"{current} (no longer active)"))
    return choices


def bookings_of(lead_id: int) -> list[Booking]:
    query = (
        sa.select(Booking)
        .options(joinedload(Booking.clinic))
        .where(Booking.lead_id == lead_id)
        .order_by(Booking.starts_at, Booking.id)
    )
    return list(db.session.scalars(query))


def among(column, ids: list[int], dialect: str):
    """`column IN ids`; on PostgreSQL `= ANY(array)`, one parameter that psycopg parses once,
    where 500 placeholders are parsed again on every query (too long for its cache)."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam("ids", ids, type_=postgresql.ARRAY(sa.Integer)))
    return column.in_(ids)


def _runner(connection) -> tuple:
    """Return (execute, dialect name) for `connection`, or for the session when None."""
    if connection is not None:
        return connection.execute, connection.dialect.name
    return db.session.execute, db.engine.dialect.name


def clinic_names_by_lead(lead_ids: list[int], connection=None) -> dict[int, list[str]]:
    """Return the clinics each lead booked with, in the order of their calls (read through
    `connection` when given: the export reads everything in its own snapshot)."""
    execute, dialect = _runner(connection)
    names: dict[int, list[str]] = {}
    for start in range(0, len(lead_ids), 500):
        query = (
            sa.select(Booking.lead_id, Clinic.name)
            .join(Clinic, Booking.clinic_id == Clinic.id)
            .where(among(Booking.lead_id, lead_ids[start : start + 500], dialect))
            .order_by(Booking.starts_at, Booking.id)
        )
        for lead_id, name in execute(query):
            if name not in names.setdefault(lead_id, []):
                names[lead_id].append(name)
    return names


def call_counts_by_lead(lead_ids: list[int], connection=None) -> dict[int, dict[str, int]]:
    """Return how many of each lead's calls are booked, done, missed or cancelled."""
    execute, dialect = _runner(connection)
    counts: dict[int, dict[str, int]] = {}
    for start in range(0, len(lead_ids), 500):
        query = (
            sa.select(Booking.lead_id, Booking.status, sa.func.count())
            .where(among(Booking.lead_id, lead_ids[start : start + 500], dialect))
            .group_by(Booking.lead_id, Booking.status)
        )
        for lead_id, status, number in execute(query):
            counts.setdefault(lead_id, {})[status] = number
    return counts


def clinics_and_calls_by_lead(
    lead_ids: list[int], connection=None
) -> tuple[dict[int, list[str]], dict[int, dict[str, int]]]:
    """Return both of the above from one query per 1,000 leads (the export's batches)."""
    execute, dialect = _runner(connection)
    names: dict[int, list[str]] = {}
    counts: dict[int, dict[str, int]] = {}
    for start in range(0, len(lead_ids), 1000):
        query = (
            sa.select(Booking.lead_id, Booking.status, Clinic.name)
            .join(Clinic, Booking.clinic_id == Clinic.id)
            .where(among(Booking.lead_id, lead_ids[start : start + 1000], dialect))
            .order_by(Booking.starts_at, Booking.id)
        )
        for lead_id, status, name in execute(query):
            if name not in names.setdefault(lead_id, []):
                names[lead_id].append(name)
            per_status = counts.setdefault(lead_id, {})
            per_status[status] = per_status.get(status, 0) + 1
    return names, counts


def outbox_of(lead_id: int) -> list[OutboxMessage]:
    query = (
        sa.select(OutboxMessage)
        .where(OutboxMessage.lead_id == lead_id)
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    )
    return list(db.session.scalars(query))


EVENT_TITLES = {
    "added": "Added after a phone call",
    "booked": "Booked a call",
    "rescheduled": "Moved the call",
    "cancelled": "Cancelled the call",
    "status": "Pipeline changed",
    "note": "Note",
    "details_differ": "Booked with other contact details",
    "contact": "Contact details corrected",
}


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a lead's history: an event, or an e-mail derived from the outbox."""

    at: datetime
    kind: str
    title: str
    detail: str
    actor: str
    email_status: str | None = None
    due: datetime | None = None


def _email_entry(message: OutboxMessage) -> TimelineEntry:
    to = "staff" if message.kind.endswith(".staff") else "the patient"
    sent = message.status == "sent" and message.sent_at is not None
    return TimelineEntry(
        at=message.sent_at if sent else message.created_at,
        kind="emailed",
        title=f"E-mail to {to}",
        detail=message.subject,
        actor="system",
        email_status=message.status,
        due=message.not_before,
    )


def timeline(lead: Lead) -> list[TimelineEntry]:
    """Return the lead's events and e-mails, oldest first."""
    entries = [
        TimelineEntry(
            at=event.created_at,
            kind=event.kind,
            detail=event.detail,
            actor=event.actor,
            title=EVENT_TITLES.get(event.kind, event.kind.replace("_", " ").capitalize()),
        )
        for event in lead.events
    ]
    entries += [_email_entry(message) for message in outbox_of(lead.id)]
    # An event and the e-mails it caused share a transaction (the same second): event first.
    return sorted(entries, key=lambda e: (e.at.replace(microsecond=0), e.kind == "emailed", e.at))
