"""E-mail incidents: one row from the moment e-mail is seen stalled until it flows again."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from clinic.dbtypes import UTCDateTime, utcnow
from clinic.extensions import db

REASON_LENGTH = 300


class OutboxIncident(db.Model):
    """A stretch of time when e-mail was stalled, and the one alert sent to admins about it."""

    __tablename__ = "outbox_incident"
    id: Mapped[int] = mapped_column(primary_key=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 1 while open, NULL once closed. Unique, so that when two workers (two hosts) see the
    # stall in the same second, only one incident opens and only one alert goes out.
    open_flag: Mapped[int | None] = mapped_column(unique=True)
    reason: Mapped[str] = mapped_column(sa.String(REASON_LENGTH))
    # The alert: the earliest time a worker may try it (a lease, then the retry delay), when
    # it went out and to whom, or why it could not.
    alert_next_try: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    alerted_to: Mapped[str | None] = mapped_column(sa.Text)
    alert_error: Mapped[str | None] = mapped_column(sa.Text)

    def __repr__(self) -> str:
        state = "open" if self.open_flag else "closed"
        return f"<OutboxIncident {self.id} {state}>"
