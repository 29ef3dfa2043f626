"""How the outbox is doing, read from its table with queries its status index answers.

An e-mail counts as late from the moment it fell due; once a try has failed, from when it was
written (the retry schedule overwrites its due time, so that is the earliest time still known).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from clinic.dbtypes import UTCDateTime, utcnow
from clinic.extensions import db
from clinic.notifications.models import OutboxMessage

UNSENT = ("pending", "sending")


@dataclass(frozen=True)
class OutboxHealth:
    """Counts for the metrics, /readyz, the alert and the dashboard."""

    due: int  # unsent e-mails whose time has come (or that already failed a try)
    oldest_age_seconds: float  # how long the oldest of them has waited; 0 when none
    late: int  # of those, how many have waited longer than the stall setting
    failed_recently: int  # failed for good within the failure window, not sent again since
    failed: int  # every e-mail that failed for good and was not sent again

    @property
    def stalled(self) -> bool:
        """E-mail is stuck: something waited too long, or an e-mail failed for good."""
        return bool(self.late or self.failed_recently)


def _waiting_since():
    """When an unsent message started to wait: its due time, or, once tried, its creation."""
    started = sa.case(
        (OutboxMessage.attempts > 0, OutboxMessage.created_at), else_=OutboxMessage.not_before
    )
    return sa.type_coerce(started, UTCDateTime)


def measure(stall: timedelta, failed_window: timedelta, now: datetime | None = None):
    """Return the outbox's OutboxHealth at `now` (two queries on the status index)."""
    now = now or utcnow()
    since = _waiting_since()
    unsent = OutboxMessage.status.in_(UNSENT)
    if db.session.get_bind().dialect.name == "sqlite":
        # Once ANALYZE has run, SQLite knows only that `status` has a few values, each worth
        # half the table, and scans every e-mail (27 ms at 125,000) for the handful unsent;
        # told that they are rare, it reads them off the status index (PostgreSQL keeps the
        # most common values and knows).
        unsent = sa.func.likelihood(unsent, sa.literal_column("0.001"))
    waiting = sa.and_(
        unsent,
        sa.or_(OutboxMessage.attempts > 0, OutboxMessage.not_before <= now),
    )
    due, oldest, late = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.type_coerce(sa.func.min(since), UTCDateTime),
            sa.func.count().filter(since < now - stall),
        ).where(waiting)
    ).one()
    failed_recently, failed = db.session.execute(
        sa.select(
            sa.func.count().filter(OutboxMessage.not_before >= now - failed_window),
            sa.func.count(),
        ).where(OutboxMessage.status == "failed")
    ).one()
    age = max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
    return OutboxHealth(due, age, late, failed_recently, failed)
