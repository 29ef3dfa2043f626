"""Keeping the search index in step with content: every flush that writes an article, page or
clinic rewrites that item's row in the same transaction, whoever wrote it (the editor,
publishing, unpublishing, a rename, the scheduler, seed-demo, a revision restored), so a
search never shows what the public cannot see, nor misses what it can.

The database keeps its own full-text structures in step with `search_document` (SQLite:
triggers into the FTS5 table; PostgreSQL: a generated tsvector column), see the migration.
"""

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from clinic.content.models import Article, Clinic, Page
from clinic.extensions import db
from clinic.search.models import SearchDocument
from clinic.search.text import clean, plain_text

KINDS = {Article: "article", Page: "page", Clinic: "clinic"}
# Standing pages with a public address of their own (as the site's routes and sitemap have).
FIXED_PAGES = {("legal", "privacy"): "content.privacy", ("about", "about"): "content.about"}


def endpoint_for(kind: str, item) -> str | None:
    """Return the public page's endpoint, or None for an item with no public address."""
    if kind == "article":
        return "content.article"
    if kind == "clinic":
        return "content.clinic"
    if item.kind == "treatment":
        return "content.treatment"
    return FIXED_PAGES.get((item.kind, item.slug))


def document_values(kind: str, item) -> dict | None:
    """Return the index row for an item the public may find (now or once due), else None."""
    endpoint = endpoint_for(kind, item)
    if endpoint is None:
        return None
    live_from = None
    if kind != "clinic":
        if item.status == "scheduled" and item.publish_at is not None:
            live_from = item.publish_at
        elif item.status != "published":
            return None
    return {
        "kind": kind,
        "item_id": item.id,
        "endpoint": endpoint,
        "slug": item.slug,
        "title": clean(item.name if kind == "clinic" else item.title)[:200],
        "body": _body(kind, item),
        "live_from": live_from,
    }


def _body(kind: str, item) -> str:
    if kind == "clinic":
        return clean(" ".join([item.summary or "", *item.address_lines]))
    parts = [item.summary or "", plain_text(item.body)]
    if kind == "article":
        parts += [str(point) for point in item.key_points or []]
        for faq in item.faqs or []:
            parts += [str(faq.get("question", "")), str(faq.get("answer", ""))]
    return clean(" ".join(parts))


def write(connection, kind: str, item_id: int, values: dict | None) -> None:
    """Replace one item's row (or remove it when the item is no longer public)."""
    table = SearchDocument.__table__
    where = sa.and_(table.c.kind == kind, table.c.item_id == item_id)
    connection.execute(sa.delete(table).where(where))
    if values is not None:
        connection.execute(sa.insert(table).values(**values))


def rebuild() -> int:
    """Rewrite the whole index from the content tables; return the rows written (flushes)."""
    connection = db.session.connection()
    connection.execute(sa.delete(SearchDocument.__table__))
    written = 0
    for model, kind in KINDS.items():
        for item in db.session.scalars(sa.select(model).order_by(model.id)):
            values = document_values(kind, item)
            if values is not None:
                connection.execute(sa.insert(SearchDocument.__table__).values(**values))
                written += 1
    return written


@event.listens_for(Session, "after_flush")
def _follow_content_writes(session, _flush_context) -> None:
    changed = {}
    for obj in (*session.new, *session.dirty):
        kind = KINDS.get(type(obj))
        if kind and obj.id is not None:
            changed[(kind, obj.id)] = obj
    gone = {(KINDS[type(o)], o.id) for o in session.deleted if type(o) in KINDS}
    if not changed and not gone:
        return
    connection = session.connection()
    with session.no_autoflush:
        for (kind, item_id), obj in changed.items():
            if (kind, item_id) not in gone:
                write(connection, kind, item_id, document_values(kind, obj))
        for kind, item_id in gone:
            write(connection, kind, item_id, None)
