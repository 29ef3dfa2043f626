"""Server-side records of signed-in sessions: listed on the account page, each can be
ended; a session whose record is gone or ended is signed out."""

import hashlib
import re
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa

from clinic.accounts.models import User, UserSession
from clinic.audit import services as audit
from clinic.dbtypes import utcnow
from clinic.extensions import db

SESSION_KEY = "sid"
# Writing "last used" on every request would cost a write per page: once a minute is plenty.
TOUCH_EVERY = timedelta(minutes=1)
BROWSERS = [
    ("Edge", r"Edg/"),
    ("Opera", r"OPR/"),
    ("Firefox", r"Firefox/"),
    ("Chrome", r"Chrome/|CriOS/"),
    ("Safari", r"Safari/"),
]
SYSTEMS = [
    ("iPhone", r"iPhone"),
    ("iPad", r"iPad"),
    ("Android", r"Android"),
    ("Windows", r"Windows"),
    ("macOS", r"Mac OS X"),
    ("Linux", r"Linux"),
]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user: User, user_agent: str, ip: str) -> str:
    """Record a new session of `user` (flushed); return the token for the Flask session."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(
            token_hash=_digest(token),
            user_id=user.id,
            ip_address=ip[:45],
            user_agent=browser_summary(user_agent),
        )
    )
    db.session.flush()
    return token


def browser_summary(user_agent: str) -> str:
    """Say which browser on which system, e.g. "Firefox on Windows", from a User-Agent."""
    browser = next((name for name, pattern in BROWSERS if re.search(pattern, user_agent)), "")
    system = next((name for name, pattern in SYSTEMS if re.search(pattern, user_agent)), "")
    summary = " on ".join(part for part in (browser, system) if part)
    return summary or "Unknown browser"


def find_live(token: object, user_id: int) -> UserSession | None:
    """Return the live record of `token` for `user_id`, or None (ended, gone, not theirs)."""
    if not isinstance(token, str) or not token:
        return None
    query = sa.select(UserSession).where(
        UserSession.token_hash == _digest(token),
        UserSession.user_id == user_id,
        UserSession.ended_at.is_(None),
    )
    return db.session.scalar(query)


def touch(record: UserSession, ip: str, now: datetime | None = None) -> None:
    """Note that the session was used, at most once a minute, in a transaction of its own
    (the request's may never commit, or commit much later)."""
    now = now or utcnow()
    if now - record.last_seen_at < TOUCH_EVERY:
        return
    with db.engine.begin() as connection:
        connection.execute(
            sa.update(UserSession)
            .where(UserSession.id == record.id)
            .values(last_seen_at=now, ip_address=ip[:45])
        )
    record.last_seen_at, record.ip_address = now, ip[:45]


def live(user: User, idle: timedelta, longest: timedelta) -> list[UserSession]:
    """Return `user`'s sessions that have not ended or run out, most recently used first."""
    now = utcnow()
    query = sa.select(UserSession).where(
        UserSession.user_id == user.id,
        UserSession.ended_at.is_(None),
        UserSession.last_seen_at > now - idle,
        UserSession.created_at > now - longest,
    )
    return list(db.session.scalars(query.order_by(UserSession.last_seen_at.desc())))


def end(record: UserSession) -> None:
    record.ended_at = utcnow()


def end_other(user: User, other: UserSession) -> None:
    """Sign out one of `user`'s other browsers from the account page, audited."""
    end(other)
    audit.record("session_ended", "user", user.id, detail=other.user_agent)


def end_all(user: User, keep: str | None = None) -> None:
    """End every session of `user`, except the one whose token is `keep`."""
    query = sa.update(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None)
    )
    if keep:
        query = query.where(UserSession.token_hash != _digest(keep))
    db.session.execute(query.values(ended_at=utcnow()).execution_options(synchronize_session=False))
