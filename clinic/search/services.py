"""Searching the public content, and counting what was searched for.

Both databases get the same words (`text.terms`: letters and digits only, all required), so
no query can use or break either one's search syntax; each ranks title matches first, then
by its own relevance (SQLite: bm25 with the title weighted ten times; PostgreSQL: ts_rank_cd
over the title weighted A and the text B), and marks the matches with private-use
characters that `text.highlighted` turns into <mark> after escaping.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from markupsafe import Markup
from sqlalchemy.dialects import postgresql, sqlite

from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.search.models import FTS_TABLE, SearchDocument, SearchTermDay
from clinic.search.text import CLOSE, OPEN, highlighted
from clinic.uktime import today

PER_PAGE = 10
SNIPPET_WORDS = 30
_PG_HEADLINE = (
    f"StartSel={OPEN}, StopSel={CLOSE}, MaxWords={SNIPPET_WORDS}, MinWords=15, "
    'MaxFragments=2, FragmentDelimiter=" … "'
)
_PG_TITLE = f"StartSel={OPEN}, StopSel={CLOSE}, HighlightAll=true"


@dataclass(frozen=True)
class Hit:
    """One result: what it is, where it lives, its title and snippet with matches marked."""

    kind: str
    endpoint: str
    slug: str
    title: Markup
    snippet: Markup


@dataclass(frozen=True)
class Results:
    hits: list[Hit]
    total: int
    page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PER_PAGE))


def search(words: list[str], page: int = 1) -> Results:
    """Return one page of the live items holding every word, title matches first."""
    if not words:
        return Results([], 0, page)
    D = SearchDocument
    live = sa.or_(D.live_from.is_(None), D.live_from <= utcnow())
    if db.engine.dialect.name == "postgresql":
        rows, total = _postgresql(words, live, page)
    else:
        rows, total = _sqlite(words, live, page)
    hits = [
        Hit(r.kind, r.endpoint, r.slug, highlighted(r.title_marked), highlighted(r.snippet))
        for r in rows
    ]
    return Results(hits, total, page)


def _sqlite(words: list[str], live, page: int):
    D = SearchDocument
    fts = sa.table(FTS_TABLE, sa.column("rowid"), sa.column("title"))
    everywhere = " ".join(f'"{w}"' for w in words)  # quoted: each word is a plain token
    in_title = " AND ".join(f'title : "{w}"' for w in words)
    table = sa.literal_column(FTS_TABLE)
    title_match = D.id.in_(sa.select(fts.c.rowid).where(sa.text(f"{FTS_TABLE} MATCH :in_title")))
    matching = (
        sa.select(D.kind, D.endpoint, D.slug)
        .select_from(fts)
        .join(D, D.id == fts.c.rowid)
        .where(sa.text(f"{FTS_TABLE} MATCH :everywhere"), live)
    )
    params = {"everywhere": everywhere, "in_title": in_title}
    query = (
        matching.add_columns(
            sa.func.highlight(table, 0, OPEN, CLOSE).label("title_marked"),
            sa.func.snippet(table, 1, OPEN, CLOSE, "…", SNIPPET_WORDS).label("snippet"),
        )
        .order_by(title_match.desc(), sa.func.bm25(table, 10.0, 1.0), D.id)
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    )
    rows = db.session.execute(query, params).all()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(matching.subquery()), params)
    return rows, total


def _postgresql(words: list[str], live, page: int):
    D = SearchDocument
    english = sa.literal_column("'english'::regconfig")
    tsquery = sa.func.plainto_tsquery(english, " ".join(words))
    document = sa.literal_column("search_document.document")
    matches = document.op("@@")(tsquery)
    title_match = sa.func.to_tsvector(english, D.title).op("@@")(tsquery)
    # PostgreSQL makes the (costly) headlines after the sort and LIMIT: for this page only.
    query = (
        sa.select(
            D.kind,
            D.endpoint,
            D.slug,
            sa.func.ts_headline(english, D.title, tsquery, _PG_TITLE).label("title_marked"),
            sa.func.ts_headline(english, D.body, tsquery, _PG_HEADLINE).label("snippet"),
        )
        .where(matches, live)
        .order_by(title_match.desc(), sa.func.ts_rank_cd(document, tsquery).desc(), D.id)
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    )
    rows = db.session.execute(query).all()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(D).where(matches, live))
    return rows, total


def count_search(term: str, results: int, day: date | None = None) -> None:
    """Add one search for `term` to its day's count, with what it found (flushes nothing
    else; one upsert, so concurrent searches never lose a count)."""
    if not term:
        return
    values = {"day": day or today(), "term": term, "searches": 1, "results": results}
    on_postgresql = db.engine.dialect.name == "postgresql"
    if on_postgresql:
        # A count may be lost in a crash, never corrupted: the search need not wait for the
        # disk (this transaction only; bookings keep their synchronous commits).
        db.session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
    dialect = postgresql if on_postgresql else sqlite
    statement = dialect.insert(SearchTermDay).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["day", "term"],
        set_={
            "searches": SearchTermDay.searches + 1,
            "results": statement.excluded.results,
        },
    )
    db.session.execute(statement)


@dataclass(frozen=True)
class TermCount:
    term: str
    searches: int
    results: int


def top_searches(days: int, limit: int = 50) -> list[TermCount]:
    """Return the terms searched most in the last `days` UK days, with the most they found."""
    return _terms(days, limit, having=None)


def searches_without_results(days: int, limit: int = 50) -> list[TermCount]:
    """Return the terms that found nothing on any day of the period: the content gaps."""
    return _terms(days, limit, having=sa.func.max(SearchTermDay.results) == 0)


def _terms(days: int, limit: int, having) -> list[TermCount]:
    T = SearchTermDay
    since = today() - timedelta(days=days - 1)
    searches = sa.func.sum(T.searches)
    query = (
        sa.select(T.term, searches.label("searches"), sa.func.max(T.results).label("results"))
        .where(T.day >= since)
        .group_by(T.term)
        .order_by(searches.desc(), T.term)
        .limit(limit)
    )
    if having is not None:
        query = query.having(having)
    return [TermCount(r.term, int(r.searches), int(r.results)) for r in db.session.execute(query)]
