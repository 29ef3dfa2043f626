"""Column types and helpers shared by every feature's models."""

from datetime import UTC, datetime

import sqlalchemy as sa

from clinic import uktime

# The largest id an INTEGER column holds on PostgreSQL (SQLite's goes further, ids never do):
# URLs and forms refuse bigger ones before they reach a query.
MAX_ID = 2**31 - 1


def utcnow() -> datetime:
    """Return the current time, aware, in UTC (a callable default, never a constant), from the
    one clock tests may move (`clinic.uktime.time_source`)."""
    return uktime.now()


class UTCDateTime(sa.TypeDecorator):
    """Store aware datetimes as UTC; SQLite hands them back naive, so restore the zone."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
