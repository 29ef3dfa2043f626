"""Staff search of leads by name, e-mail and phone, partial words included, on an index made
for it: an FTS5 table with the trigram tokenizer on SQLite, pg_trgm GIN on PostgreSQL.

The index is kept in step by the database itself (migration 9f3b6d2e8a41), not by the
services that change a lead: on PostgreSQL it is an ordinary index of the `lead` table; on
SQLite, triggers on `lead` update the FTS5 table in the same statement. So every way a lead
is written (the booking form, staff adding or correcting one, erasure, the purge, demo-load's
bulk inserts, any later bulk UPDATE) keeps the index right without remembering to, and a
backup copies it with the rows. A future SQLite migration that recreates `lead` (batch
mode) drops those triggers: tests/test_lead_search.py checks that they exist at head.

What a query finds: every word (split on spaces) appears somewhere in the name, the e-mail or
the phone, in any case; a query that reads as a phone number (digits, spaces, + ( ) - .) is
also matched as a number in any usual UK form against the stored E.164 form. Words of one or
two letters are too short for trigrams: they are checked with LIKE on the rows the longer words
found, and alone they scan the table (as before the index).
"""

import re

import phonenumbers
import sqlalchemy as sa

from clinic.extensions import db
from clinic.leads.models import Lead

FTS_TABLE = "lead_search"
PG_INDEX = "ix_lead_search_trgm"
# The FTS5 table and the shadow tables SQLite keeps for it, and the PostgreSQL index: made by
# the migration, not by the models, so schema comparisons leave them out.
INDEX_OBJECTS = frozenset(
    {PG_INDEX, FTS_TABLE}
    | {f"{FTS_TABLE}_{shadow}" for shadow in ("data", "idx", "content", "docsize", "config")}
)
TRIGRAM = 3
BROAD = 1000  # FTS5 matches from which SQLite reads the list's index rather than the matches
LIKE_ESCAPE = "\\"
PHONE_LIKE = re.compile(r"[0-9\s+().-]{4,}")


def include_name(name, type_, parent_names) -> bool:
    """Alembic's include_name hook: compare everything but the search index objects."""
    return name not in INDEX_OBJECTS


def phone_terms(q: str) -> set[str]:
    """Return the digits to look for in stored numbers (E.164) when `q` reads as a phone
    number, e.g. 07911 123456, +44 (0)7911 123456 and 0044 7911 123456 -> 7911123456; nothing
    for a query that is not a number."""
    if not PHONE_LIKE.fullmatch(q):
        return set()
    terms = {re.sub(r"[^0-9]", "", q).lstrip("0")}
    try:
        number = phonenumbers.parse(q, "GB")
    except phonenumbers.NumberParseException:
        pass
    else:  # the number without its country code: part of the stored form in any country
        terms.add(phonenumbers.national_significant_number(number))
    terms = {term for term in terms if len(term) >= TRIGRAM}
    # A term holding another finds nothing more, and its common digits (447...) cost time.
    return {term for term in terms if not any(other in term for other in terms - {term})}


def _terms(q: str) -> tuple[list[str], set[str]]:
    """Return the texts to find and the phone digits to look for in `q`."""
    numbers = phone_terms(q)
    # A phone number typed with spaces is one query, not several words.
    return ([q] if numbers else q.split()), numbers


def _by_length(texts: list[str]) -> tuple[list[str], list]:
    """Split the texts into those the trigram index serves and LIKE checks for the others."""
    long_words = [text for text in texts if len(text) >= TRIGRAM]
    return long_words, [_anywhere(text) for text in texts if len(text) < TRIGRAM]


def _sqlite_db() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def matching(q: str):
    """Return the WHERE clause for leads that match the search `q` (already trimmed)."""
    texts, numbers = _terms(q)
    return _sqlite(texts, numbers) if _sqlite_db() else _postgresql(texts, numbers)


def leads_found(q: str) -> sa.Select:
    """Select the ids of the leads that match `q`, to count them up to a limit.

    On SQLite the matches are read from the FTS5 table itself, one by one, so a LIMIT stops the
    read early (a word most leads share: 0.5 ms for the first thousand, against 30 ms for the
    set `matching` builds). Add the list's other conditions with `.where()`."""
    texts, numbers = _terms(q)
    long_words, short_words = _by_length(texts)
    if not _sqlite_db() or not long_words:
        return sa.select(Lead.id).where(matching(q))
    fts = sa.table(FTS_TABLE, sa.column("rowid"))
    found = sa.select(Lead.id).select_from(fts).join(Lead, Lead.id == fts.c.rowid)
    return found.where(_match(_fts_query(long_words, numbers)), *short_words)


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _anywhere(text: str):
    """The text in the name, e-mail or phone, case aside (pg_trgm's GIN serves ILIKE)."""
    pattern = _like(text)
    return sa.or_(
        *(
            column.ilike(pattern, escape=LIKE_ESCAPE)
            for column in (Lead.name, Lead.email, Lead.phone)
        )
    )


def _postgresql(texts: list[str], numbers: set[str]):
    every_word = sa.and_(*(_anywhere(text) for text in texts))
    in_phone = [Lead.phone.ilike(_like(number), escape=LIKE_ESCAPE) for number in numbers]
    return sa.or_(every_word, *in_phone)


def _phrase(text: str) -> str:
    """Quote text as one FTS5 string: operators, * and quotes inside it are plain characters."""
    return '"' + text.replace('"', '""') + '"'


def _fts(query: str):
    """Leads whose row the FTS5 query matches.

    SQLite reads `id IN (matches)` from the matches: it builds their set, then sorts them for
    the page. That is quick for a few hundred, not for most of the leads (a word every e-mail
    shares: 81,000 matches sorted, 61 ms at 100,000 leads). So when the matches reach BROAD
    (FTS5 counts them incrementally: under a millisecond), `+0` stops SQLite using the id
    that way: it walks the page's own index and checks each lead against the set (30 ms
    there; for 3,000 matches 0.8 ms against 5.4)."""
    found = sa.select(sa.literal_column("rowid")).select_from(sa.table(FTS_TABLE))
    found = found.where(_match(query))
    some = sa.select(sa.func.count()).select_from(found.limit(BROAD).subquery())
    if db.session.scalar(some) >= BROAD:
        return (Lead.id + 0).in_(found)
    return Lead.id.in_(found)


def _match(query: str):
    """`lead_search MATCH query`, the query bound as a parameter."""
    return sa.literal_column(FTS_TABLE).op("MATCH")(sa.bindparam("fts", query, unique=True))


def _sqlite(texts: list[str], numbers: set[str]):
    long_words, short_words = _by_length(texts)
    in_phone = [f"phone : {_phrase(number)}" for number in sorted(numbers)]
    if not long_words:
        # Too short for trigrams: a plain scan, or the number's own index look-up.
        every_word = sa.and_(*short_words)
        return sa.or_(every_word, _fts(" OR ".join(in_phone))) if in_phone else every_word
    return sa.and_(_fts(_fts_query(long_words, numbers)), *short_words)


def _fts_query(long_words: list[str], numbers: set[str]) -> str:
    """Every long word, or one of the numbers in the phone column, as an FTS5 query."""
    every_long_word = " AND ".join(_phrase(text) for text in long_words)
    in_phone = [f"phone : {_phrase(number)}" for number in sorted(numbers)]
    return " OR ".join([f"({every_long_word})", *in_phone])
