"""Bookings of the free 15-minute discovery call."""

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.content.models import Clinic
from clinic.dbtypes import UTCDateTime, utcnow
from clinic.extensions import db
from clinic.leads.models import Lead

BOOKING_STATUSES = ("confirmed", "cancelled", "done", "no_show")
CALL_LENGTH = timedelta(minutes=15)


def _uid() -> str:
    return f"{uuid.uuid4()}@prohealthclinic"


class Booking(db.Model):
    """One call at one clinic and time; the partial unique index forbids double booking."""

    __table_args__ = (
        sa.CheckConstraint(f"status IN {BOOKING_STATUSES}", name="status"),
        sa.Index(
            "uq_booking_active_slot",
            "clinic_id",
            "starts_at",
            unique=True,
            sqlite_where=sa.text("status != 'cancelled'"),
            postgresql_where=sa.text("status != 'cancelled'"),
        ),
        # Leads by clinic (the list's filter) without reading the bookings themselves.
        sa.Index("ix_booking_clinic_id_lead_id", "clinic_id", "lead_id"),
        # Confirmed calls ahead: the next-call sort, the dashboard's upcoming calls.
        sa.Index("ix_booking_status_starts_at", "status", "starts_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinic.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(sa.String(12), default="confirmed")
    message: Mapped[str | None] = mapped_column(sa.Text)
    source_article: Mapped[str | None] = mapped_column(sa.String(120), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    ical_uid: Mapped[str] = mapped_column(sa.String(80), default=_uid)
    sequence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lead: Mapped[Lead] = relationship()
    clinic: Mapped[Clinic] = relationship()

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + CALL_LENGTH

    @property
    def is_active(self) -> bool:
        return self.status == "confirmed"

    def __repr__(self) -> str:
        return f"<Booking {self.id} {self.starts_at:%Y-%m-%d %H:%M} {self.status}>"
