"""The outbox: each e-mail is a row written with the data it belongs to, sent afterwards."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from clinic.dbtypes import UTCDateTime, utcnow
from clinic.extensions import db

STATUSES = ("pending", "sending", "sent", "failed", "cancelled")
SUBJECT_LENGTH = 255


class OutboxMessage(db.Model):
    """One e-mail to deliver, with its delivery state: attempts, lease, last error."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {STATUSES}", name="status"),
        sa.Index("ix_outbox_message_status_not_before", "status", "not_before"),
        # The e-mail log, newest first, in pages that start after the last row shown.
        sa.Index("ix_outbox_message_created_at_id", "created_at", "id"),
        sa.Index("ix_outbox_message_status_created_at_id", "status", "created_at", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(sa.String(40))
    recipients: Mapped[list] = mapped_column(sa.JSON)
    subject: Mapped[str] = mapped_column(sa.String(SUBJECT_LENGTH))
    text_body: Mapped[str] = mapped_column(sa.Text)
    html_body: Mapped[str | None] = mapped_column(sa.Text)
    # Each item: {"filename", "content_type", "data"}; data is text (an .ics is text).
    attachments: Mapped[list] = mapped_column(sa.JSON, default=list)
    status: Mapped[str] = mapped_column(sa.String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=8)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A worker's lease: while it runs, nobody else may send this message.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # No foreign keys: the outbox must not depend on the tables of the features it serves.
    lead_id: Mapped[int | None] = mapped_column(index=True)
    booking_id: Mapped[int | None] = mapped_column(index=True)

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.kind} {self.status}>"
