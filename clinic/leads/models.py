"""Leads: one person who asked for a call, with where they came from and what happened."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.dbtypes import UTCDateTime, utcnow
from clinic.extensions import db

LEAD_STATUSES = ("new", "contacted", "qualified", "treatment_booked", "not_suitable", "lost")
STATUS_LABELS = {
    "new": "New",
    "contacted": "Contacted",
    "qualified": "Qualified",
    "treatment_booked": "Treatment booked",
    "not_suitable": "Not suitable",
    "lost": "Lost",
}
ATTRIBUTION_FIELDS = (
    "landing_page",
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "source_article",
)


class Lead(db.Model):
    """A prospective patient, matched by e-mail so that one person is one lead."""

    __table_args__ = (
        sa.CheckConstraint(f"status IN {LEAD_STATUSES}", name="status"),
        # The list filtered by status, source or article, newest first: a page read straight
        # off an index, with no sort of every match.
        sa.Index("ix_lead_status_created_at_id", "status", "created_at", "id"),
        sa.Index(
            "ix_lead_utm_source_created_at_id_status", "utm_source", "created_at", "id", "status"
        ),
        sa.Index(
            "ix_lead_source_article_created_at_id_status",
            "source_article",
            "created_at",
            "id",
            "status",
        ),
        sa.Index("ix_lead_name_key_id", "name_key", "id"),
        sa.Index("ix_lead_status_name_key_id", "status", "name_key", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str | None] = mapped_column(sa.String(120))
    # The name as the list sorts it, written by the database itself on every write of `name`
    # (a generated column: no service can forget it), indexed so that sorting by name reads
    # a page off the index instead of sorting every lead. NULL once erased. (STORED here; the
    # migration adds it VIRTUAL on SQLite, whose ALTER TABLE cannot add a stored one.)
    name_key: Mapped[str | None] = mapped_column(
        sa.String(120), sa.Computed("lower(name)", persisted=True)
    )
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(20), default="new", index=True)
    owner_id: Mapped[int | None] = mapped_column(sa.Integer)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_text: Mapped[str | None] = mapped_column(sa.Text)
    marketing_opt_in: Mapped[bool] = mapped_column(default=False)
    # First touch: where the visit that led to the first booking began.
    landing_page: Mapped[str | None] = mapped_column(sa.String(500))
    referrer: Mapped[str | None] = mapped_column(sa.String(500))
    utm_source: Mapped[str | None] = mapped_column(sa.String(200))
    utm_medium: Mapped[str | None] = mapped_column(sa.String(200))
    utm_campaign: Mapped[str | None] = mapped_column(sa.String(200))
    utm_term: Mapped[str | None] = mapped_column(sa.String(200))
    utm_content: Mapped[str | None] = mapped_column(sa.String(200))
    source_article: Mapped[str | None] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    events: Mapped[list["LeadEvent"]] = relationship(
        back_populates="lead", order_by="LeadEvent.id", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Lead {self.id} {self.status}>"


class LeadEvent(db.Model):
    """One line of a lead's timeline: booked, e-mailed, rescheduled, a note, a status change."""

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    booking_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    actor: Mapped[str] = mapped_column(sa.String(254), default="patient")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lead: Mapped[Lead] = relationship(back_populates="events")

    def __repr__(self) -> str:
        return f"<LeadEvent {self.kind} lead={self.lead_id}>"
