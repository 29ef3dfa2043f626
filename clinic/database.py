"""Database engine tuning that must hold for every connection."""

from flask import Flask
from sqlalchemy import event

from clinic.extensions import db


def init_app(app: Flask) -> None:
    """Give SQLite the settings it needs for several workers: WAL, a busy wait, foreign keys."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
