"""Database engine tuning that must hold for every connection."""

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event

from clinic.extensions import db


def init_app(app: Flask) -> None:
    """Bound every wait for a lock (CLINIC_LOCK_TIMEOUT_MS), so that a lost race is retried or
    answered with the 503 page rather than holding a worker; give SQLite what several workers
    need: WAL, foreign keys."""
    with app.app_context():
        engine = db.engine
    wait_ms = int(app.config["CLINIC_LOCK_TIMEOUT_MS"])

    @event.listens_for(engine, "connect")
    def _session_settings(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={wait_ms}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
        elif engine.dialect.name == "postgresql":
            cursor.execute(f"SET lock_timeout = {wait_ms}")
            dbapi_connection.commit()
        cursor.close()


def distinct_values(column, limit: int) -> list:
    """Return the distinct non-null values of an indexed column in order, hopping through the
    index from each value to the next (a loose index scan): a DISTINCT reads every row, and
    PostgreSQL has no skip scan (400 ms for the audit log's actions at a million entries)."""
    values = sa.select(sa.func.min(column).label("value")).cte("hops", recursive=True)
    following = sa.select(
        sa.select(sa.func.min(column)).where(column > values.c.value).scalar_subquery()
    )
    values = values.union_all(following.where(values.c.value.is_not(None)))
    query = sa.select(values.c.value).where(values.c.value.is_not(None)).limit(limit)
    return list(db.session.scalars(query))
