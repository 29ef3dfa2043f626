"""Published content: articles, pages, the people who write and review them, clinics."""

from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from clinic.dbtypes import UTCDateTime, utcnow
from clinic.extensions import db

STATUSES = ("draft", "published", "scheduled", "unpublished")


def version_column() -> Mapped[int]:
    """Return the column counting an item's saves: SQLAlchemy adds `WHERE version = <the one
    read>` to every UPDATE of the row, so of two saves from one version only the first lands."""
    return mapped_column(sa.Integer, default=1, server_default="1")


class Person(db.Model):
    """An author or medical reviewer, shown with credentials so readers can judge trust."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    credentials: Mapped[str] = mapped_column(sa.String(120), default="")
    job_title: Mapped[str] = mapped_column(sa.String(120), default="")
    bio: Mapped[str] = mapped_column(sa.Text, default="")
    # Where the weekly review reminder goes, for a medical reviewer; never shown publicly.
    email: Mapped[str | None] = mapped_column(sa.String(254))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = version_column()
    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Person {self.slug}>"


class Clinic(db.Model):
    """A site patients visit; its hours feed the page, the JSON-LD and the booking slots."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    building: Mapped[str] = mapped_column(sa.String(120), default="")
    street: Mapped[str] = mapped_column(sa.String(120))
    locality: Mapped[str] = mapped_column(sa.String(120), default="")
    city: Mapped[str] = mapped_column(sa.String(80))
    postcode: Mapped[str] = mapped_column(sa.String(12))
    latitude: Mapped[float] = mapped_column(sa.Float)
    longitude: Mapped[float] = mapped_column(sa.Float)
    phone: Mapped[str] = mapped_column(sa.String(32))
    email: Mapped[str] = mapped_column(sa.String(120))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    cqc_rating: Mapped[str | None] = mapped_column(sa.String(40))
    cqc_url: Mapped[str | None] = mapped_column(sa.String(300))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = version_column()
    __mapper_args__ = {"version_id_col": version}

    hours: Mapped[list["OpeningHours"]] = relationship(
        back_populates="clinic",
        cascade="all, delete-orphan",
        order_by="(OpeningHours.weekday, OpeningHours.opens)",
    )
    closures: Mapped[list["Closure"]] = relationship(
        back_populates="clinic", cascade="all, delete-orphan", order_by="Closure.starts_on"
    )
    holiday_openings: Mapped[list["HolidayOpening"]] = relationship(
        back_populates="clinic", cascade="all, delete-orphan", order_by="HolidayOpening.day"
    )

    @property
    def address_lines(self) -> list[str]:
        parts = [self.building, self.street, self.locality, f"{self.city} {self.postcode}"]
        return [p for p in parts if p]

    def __repr__(self) -> str:
        return f"<Clinic {self.slug}>"


class OpeningHours(db.Model):
    """One opening period on one weekday (0 = Monday), in UK wall-clock time."""

    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        sa.CheckConstraint("opens < closes", name="opens_before_closes"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinic.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(sa.SmallInteger)
    opens: Mapped[time] = mapped_column(sa.Time)
    closes: Mapped[time] = mapped_column(sa.Time)
    clinic: Mapped[Clinic] = relationship(back_populates="hours")

    def __repr__(self) -> str:
        return f"<OpeningHours {self.weekday} {self.opens}-{self.closes}>"


class Closure(db.Model):
    """Dates a clinic is shut (bank holidays, training), inclusive of both ends."""

    __table_args__ = (sa.CheckConstraint("starts_on <= ends_on", name="ordered_dates"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinic.id", ondelete="CASCADE"))
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date] = mapped_column(sa.Date)
    reason: Mapped[str] = mapped_column(sa.String(120), default="")
    clinic: Mapped[Clinic] = relationship(back_populates="closures")

    def __repr__(self) -> str:
        return f"<Closure {self.starts_on}..{self.ends_on}>"


class HolidayOpening(db.Model):
    """A bank holiday on which this clinic opens after all (every clinic is closed on the
    others; clinic.content.bank_holidays lists them), at its usual hours for that weekday."""

    __table_args__ = (sa.UniqueConstraint("clinic_id", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinic.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(sa.Date)
    clinic: Mapped[Clinic] = relationship(back_populates="holiday_openings")

    def __repr__(self) -> str:
        return f"<HolidayOpening {self.day}>"


class Publishable:
    """Columns and rules shared by articles and pages."""

    slug: Mapped[str] = mapped_column(sa.String(120), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    seo_title: Mapped[str] = mapped_column(sa.String(120), default="")
    seo_description: Mapped[str] = mapped_column(sa.String(300), default="")
    status: Mapped[str] = mapped_column(sa.String(12), default="draft")
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_on: Mapped[date | None] = mapped_column(sa.Date)
    last_reviewed: Mapped[date | None] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # A live item's unpublished changes: {"values": {...}, "by": email, "at": iso time}, the
    # values encoded as in a revision. NULL (not JSON null) when there are none.
    pending: Mapped[dict | None] = mapped_column(sa.JSON(none_as_null=True))
    version: Mapped[int] = version_column()

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:
        return {"version_id_col": cls.version}

    @classmethod
    def visible(cls):
        """Return the filter for what the public may see: published, or scheduled and due."""
        return sa.or_(
            cls.status == "published",
            sa.and_(cls.status == "scheduled", cls.publish_at <= utcnow()),
        )

    @property
    def is_visible(self) -> bool:
        due = self.publish_at is not None and self.publish_at <= utcnow()
        return self.status == "published" or (self.status == "scheduled" and due)


class Article(Publishable, db.Model):
    """An educational article: the site's way of earning a reader's trust."""

    __table_args__ = (sa.CheckConstraint(f"status IN {STATUSES}", name="status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key_points: Mapped[list] = mapped_column(sa.JSON, default=list)
    faqs: Mapped[list] = mapped_column(sa.JSON, default=list)
    references: Mapped[list] = mapped_column(sa.JSON, default=list)
    next_review_due: Mapped[date | None] = mapped_column(sa.Date)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"))
    reviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"))
    author: Mapped[Person | None] = relationship(foreign_keys=[author_id])
    reviewer: Mapped[Person | None] = relationship(foreign_keys=[reviewer_id])

    def __repr__(self) -> str:
        return f"<Article {self.slug}>"


class Page(Publishable, db.Model):
    """A standing page: a treatment, the privacy notice, about the clinic."""

    __table_args__ = (
        sa.CheckConstraint(f"status IN {STATUSES}", name="status"),
        sa.CheckConstraint("kind IN ('treatment', 'legal', 'about')", name="kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    next_review_due: Mapped[date | None] = mapped_column(sa.Date)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"))
    reviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"))
    author: Mapped[Person | None] = relationship(foreign_keys=[author_id])
    reviewer: Mapped[Person | None] = relationship(foreign_keys=[reviewer_id])

    def __repr__(self) -> str:
        return f"<Page {self.slug}>"


CONTENT_TYPES = ("article", "page", "clinic", "person")


class Revision(db.Model):
    """One saved version of an item's editable fields, to compare or undo any edit."""

    __table_args__ = (
        sa.CheckConstraint(f"content_type IN {CONTENT_TYPES}", name="content_type"),
        sa.Index("ix_revision_content", "content_type", "content_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    content_type: Mapped[str] = mapped_column(sa.String(12))
    content_id: Mapped[int] = mapped_column(sa.Integer)
    snapshot: Mapped[dict] = mapped_column(sa.JSON)
    note: Mapped[str] = mapped_column(sa.String(120), default="")
    # No foreign key: a revision outlives the account (and the item) it belongs to.
    user_id: Mapped[int | None] = mapped_column(sa.Integer)
    user_email: Mapped[str] = mapped_column(sa.String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Revision {self.id} {self.content_type}:{self.content_id}>"


class Redirect(db.Model):
    """A permanent redirect from a URL that no longer exists (a changed slug) to its new home."""

    id: Mapped[int] = mapped_column(primary_key=True)
    old_path: Mapped[str] = mapped_column(sa.String(300), unique=True)
    new_path: Mapped[str] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(sa.String(254), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = version_column()
    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Redirect {self.old_path} -> {self.new_path}>"


class Image(db.Model):
    """An uploaded picture, stored as WebP files at a few widths under the upload folder."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    alt: Mapped[str] = mapped_column(sa.String(300))
    width: Mapped[int] = mapped_column(sa.Integer)
    height: Mapped[int] = mapped_column(sa.Integer)
    widths: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(sa.String(254), default="")
    version: Mapped[int] = version_column()
    __mapper_args__ = {"version_id_col": version}

    def height_at(self, width: int) -> int:
        return max(1, round(self.height * width / self.width))

    def __repr__(self) -> str:
        return f"<Image {self.name} {self.width}x{self.height}>"


class ReviewReminder(db.Model):
    """The weekly review e-mail sent to one reviewer, so a second run that week sends nothing."""

    __table_args__ = (sa.UniqueConstraint("iso_week", "person_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    iso_week: Mapped[str] = mapped_column(sa.String(8))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(sa.String(254))
    item_count: Mapped[int] = mapped_column(sa.Integer)
    outbox_message_id: Mapped[int | None] = mapped_column(sa.Integer)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<ReviewReminder {self.iso_week} {self.recipient}>"


class EditorPresence(db.Model):
    """One account's latest opening of one item's editor, so others editing it see who else is
    there (a row per item and account, rewritten on each opening)."""

    __table_args__ = (sa.Index("ix_editor_presence_opened_at", "opened_at"),)
    content_type: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    content_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    # No foreign key, as on a revision: the row is gone within minutes anyway.
    user_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    user_email: Mapped[str] = mapped_column(sa.String(254))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<EditorPresence {self.content_type}:{self.content_id} {self.user_email}>"
