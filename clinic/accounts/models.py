"""Staff accounts: one role each, passwords hashed, locked per address after repeated failures."""

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from clinic.dbtypes import UTCDateTime, utcnow
from clinic.extensions import db

ROLES = ("admin", "staff", "marketer")


class User(UserMixin, db.Model):
    """A person who signs in to the admin: admin (everything), staff (leads), marketer (content)."""

    __table_args__ = (sa.CheckConstraint(f"role IN {ROLES}", name="role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(12))
    active: Mapped[bool] = mapped_column(default=True)
    # A staff account an admin let download leads in bulk and subject-access exports.
    may_export: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Two-factor (TOTP): the base32 secret once enrolled, and the last time step accepted, so
    # that a code is good once only.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    # Set on signing out: sessions are signed cookies, so a copy of one would otherwise live on.
    sessions_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)  # scrypt, salted
        self.password_changed_at = utcnow()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        # Changing the password ends every other session of this user; signing out, all.
        return f"{self.id}:{self.session_stamp}"

    @property
    def session_stamp(self) -> str:
        ended = self.sessions_ended_at.timestamp() if self.sessions_ended_at else 0
        return f"{self.password_changed_at.timestamp():.6f}-{ended:.6f}"

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class LoginThrottle(db.Model):
    """Failed sign-ins of one account from one IP address: guessing from one address locks
    the account for that address only, never for a colleague signing in from elsewhere."""

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    ip_address: Mapped[str] = mapped_column(sa.String(45), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    code_failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<LoginThrottle {self.user_id} {self.ip_address} {self.failures}>"


class RecoveryCode(db.Model):
    """A single-use code that signs in instead of the authenticator (a lost phone); salted
    SHA-256, since each code is 50 random bits rather than something a person chose."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(128))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<RecoveryCode {self.id} of user {self.user_id}>"


class AccountSettings(db.Model):
    """Admin settings for signing in: one row (missing means the defaults)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # Two-factor is always required for admin and staff (they see patients' data); this
    # covers marketers too.
    two_factor_for_everyone: Mapped[bool] = mapped_column(default=True)

    def __repr__(self) -> str:
        return f"<AccountSettings two-factor for everyone: {self.two_factor_for_everyone}>"


class Invitation(db.Model):
    """An e-mailed, one-time link with which a new colleague chooses a password and enrols
    two-factor; the admin who invites never sees or types a password."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    role: Mapped[str] = mapped_column(sa.String(12))
    # SHA-256 of the link's random nonce: a new link (resend) replaces it, the old one dies.
    nonce_hash: Mapped[str] = mapped_column(sa.String(64))
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def pending(self) -> bool:
        return self.used_at is None and self.withdrawn_at is None

    def __repr__(self) -> str:
        return f"<Invitation {self.email} {self.role}>"


class PasswordReset(db.Model):
    """An e-mailed, one-time link to choose a new password, valid for an hour."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    nonce_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<PasswordReset for user {self.user_id}>"


class UserSession(db.Model):
    """One signed-in browser: the Flask session holds a random token whose SHA-256 is kept
    here, so that the person sees where they are signed in and can end any of them."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_agent: Mapped[str] = mapped_column(sa.String(120), default="")
    ip_address: Mapped[str] = mapped_column(sa.String(45), default="")
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<UserSession {self.id} of user {self.user_id}>"
