"""The search index of public content, and the count of what people search for each day."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from clinic.dbtypes import UTCDateTime
from clinic.extensions import db

# Made by the migration beside `search_document`, per database, and unknown to the models:
# SQLite's FTS5 table (with its shadow tables and the triggers that fill it), PostgreSQL's
# generated tsvector column and its GIN index.
FTS_TABLE = "search_fts"
PG_DOCUMENT_COLUMN = "document"
PG_DOCUMENT_INDEX = "ix_search_document_document"


class SearchDocument(db.Model):
    """One public item as search reads it: title and plain text, and where it lives.

    A row exists only for an item that is published or scheduled; `live_from` is the time
    a scheduled one goes live (NULL: live now), so it is found from that moment on, before
    the scheduler has flipped its status.
    """

    __table_args__ = (sa.UniqueConstraint("kind", "item_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(12))
    item_id: Mapped[int] = mapped_column(sa.Integer)
    endpoint: Mapped[str] = mapped_column(sa.String(40))
    slug: Mapped[str] = mapped_column(sa.String(120))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    live_from: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<SearchDocument {self.kind}:{self.item_id} {self.slug}>"


class SearchTermDay(db.Model):
    """How often one normalised query was searched on one UK day, and what it found: a count,
    never a row per search, and nothing about who searched."""

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    term: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    searches: Mapped[int] = mapped_column(sa.Integer, default=1)
    results: Mapped[int] = mapped_column(sa.Integer, default=0)

    def __repr__(self) -> str:
        return f"<SearchTermDay {self.day} {self.term!r} {self.searches}>"


def outside_models(obj, name, type_, reflected, compare_to) -> bool:
    """Tell Alembic's comparison to leave the per-database index objects alone."""
    if type_ == "table" and name and name.startswith(FTS_TABLE):
        return False
    if type_ == "column" and name == PG_DOCUMENT_COLUMN and obj.table.name == "search_document":
        return False
    return not (type_ == "index" and name == PG_DOCUMENT_INDEX)
