"""Visit counts: one row per day, kind, page, source and campaign, never one per visit."""

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from clinic.extensions import db


class VisitCount(db.Model):
    """How many page loads (views) and distinct visitors of one day share one key."""

    __tablename__ = "visit_count"
    __table_args__ = (
        sa.UniqueConstraint("day", "kind", "path", "source", "campaign", name="uq_visit_count_key"),
        sa.CheckConstraint("kind IN ('view', 'site', 'form')", name="kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, index=True)
    kind: Mapped[str] = mapped_column(sa.String(8))
    path: Mapped[str] = mapped_column(sa.String(200))
    source: Mapped[str] = mapped_column(sa.String(100))
    campaign: Mapped[str] = mapped_column(sa.String(100))
    views: Mapped[int] = mapped_column(default=0)
    visitors: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<VisitCount {self.day} {self.kind} {self.path} {self.views}>"


class VisitSalt(db.Model):
    """Today's random salt, when Redis is not used: deleted as soon as the day is over."""

    __tablename__ = "visit_salt"
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    salt: Mapped[bytes] = mapped_column(sa.LargeBinary(32))

    def __repr__(self) -> str:
        return f"<VisitSalt {self.day}>"


class VisitSeen(db.Model):
    """One visitor hash already counted today under one key (without Redis): deleted with
    the day's salt, so what is left is the counts."""

    __tablename__ = "visit_seen"
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    hash: Mapped[str] = mapped_column(sa.String(32), primary_key=True)

    def __repr__(self) -> str:
        return f"<VisitSeen {self.day}>"
