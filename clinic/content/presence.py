"""Who else has an item's editor open: a row per item and account, rewritten on each opening.

Kept in the database, so every worker and host sees the same; rows older than the window
(CONTENT_PRESENCE_MINUTES) are deleted as new ones are written, so the table stays small.
"""

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from clinic.content.models import EditorPresence
from clinic.dbtypes import utcnow
from clinic.extensions import db

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _window() -> timedelta:
    return timedelta(minutes=current_app.config["CONTENT_PRESENCE_MINUTES"])


def opened(kind: str, item_id: int, user_id: int, user_email: str) -> None:
    """Note that an account opened one item's editor now (an upsert), pruning stale rows."""
    now = utcnow()
    db.session.execute(sa.delete(EditorPresence).where(EditorPresence.opened_at < now - _window()))
    row = {"content_type": kind, "content_id": item_id, "user_id": user_id}
    insert = _INSERT[db.session.get_bind().dialect.name](EditorPresence).values(
        **row, user_email=user_email, opened_at=now
    )
    db.session.execute(
        insert.on_conflict_do_update(
            index_elements=list(row),
            set_={"opened_at": now, "user_email": user_email},
        )
    )


def others(kind: str, item_id: int, user_id: int) -> list[EditorPresence]:
    """Return the other accounts that opened this item's editor within the window, latest first."""
    query = (
        sa.select(EditorPresence)
        .where(
            EditorPresence.content_type == kind,
            EditorPresence.content_id == item_id,
            EditorPresence.user_id != user_id,
            EditorPresence.opened_at >= utcnow() - _window(),
        )
        .order_by(EditorPresence.opened_at.desc())
    )
    return list(db.session.scalars(query))


def minutes_ago(moment: datetime) -> str:
    """Say how long ago `moment` was, in whole minutes ("just now" under one)."""
    minutes = int((utcnow() - moment).total_seconds() // 60)
    if minutes < 1:
        return "just now"
    return "1 minute ago" if minutes == 1 else f"{minutes} minutes ago"
