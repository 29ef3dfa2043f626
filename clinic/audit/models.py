"""The audit trail: who saw or changed patients' data, when, and from where. Append-only."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column

from clinic.dbtypes import UTCDateTime, utcnow
from clinic.extensions import db


class AuditEntry(db.Model):
    """One action by one user; it holds ids, never the personal data itself."""

    # The log filtered by action, newest first (PostgreSQL's indexes do not end with the id).
    __table_args__ = (sa.Index("ix_audit_entry_action_id", "action", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    user_email: Mapped[str] = mapped_column(sa.String(254), default="")
    action: Mapped[str] = mapped_column(sa.String(40), index=True)
    target_type: Mapped[str] = mapped_column(sa.String(40), default="")
    target_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    ip_address: Mapped[str] = mapped_column(sa.String(45), default="")

    def __repr__(self) -> str:
        return f"<AuditEntry {self.action} {self.target_type}:{self.target_id}>"


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_change(_mapper, _connection, _target):
    raise PermissionError("the audit trail is append-only")
