"""Where beacons are counted: straight into the database, or into Redis and folded into the
database later. Either way each day has its own random salt, deleted when the day is over.

Without Redis every beacon is one short transaction: the visitor's hash for each key is
inserted into `visit_seen` (a repeat is ignored), and the counts are upserted with one more
view, and one more visitor when the hash was new. With Redis a beacon waits for nothing:
each worker batches beacons for up to a second and sends them in one round trip (a hash of
view counts and a set of hashes per key); `fold` moves the views into the database
and sets the visitors from the sets' sizes.
"""

import atexit
import logging
import secrets
import threading
import time
from collections.abc import Iterable
from datetime import date, timedelta

import redis
import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.dialects import postgresql, sqlite

from clinic import uktime
from clinic.extensions import db
from clinic.insights.models import VisitCount, VisitSalt, VisitSeen
from clinic.insights.visitors import Key, visitor_hash

__all__ = ["Key", "add_counts", "roll_over"]

KEEP_REDIS_DAYS = 3  # a missed fold is caught up within this; then Redis forgets anyway
# A worker sends its beacons to Redis in batches: one round trip per FLUSH_AFTER beacons, or
# within FLUSH_SECONDS of the first, so the beacon itself costs no wait at all.
FLUSH_AFTER = 50
FLUSH_SECONDS = 1.0
RETRY_AFTER_SECONDS = 10.0
log = logging.getLogger(__name__)


def _insert(model):
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def add_counts(day: date, counts: Iterable[tuple[Key, int, int]], absolute: bool = False):
    """Upsert (key, views, visitors) for `day`: views are added; visitors are added, or with
    `absolute` raised to the figure given (a Redis set's size)."""
    rows = [
        dict(
            day=day,
            kind=k.kind,
            path=k.path,
            source=k.source,
            campaign=k.campaign,
            views=views,
            visitors=visitors,
        )
        for k, views, visitors in counts
    ]
    if not rows:
        return
    table = VisitCount.__table__
    statement = _insert(VisitCount).values(rows)
    new = statement.excluded
    visitors = (
        sa.case((new.visitors > table.c.visitors, new.visitors), else_=table.c.visitors)
        if absolute
        else table.c.visitors + new.visitors
    )
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=["day", "kind", "path", "source", "campaign"],
            set_={"views": table.c.views + new.views, "visitors": visitors},
        )
    )


class DatabaseStore:
    """Counts kept in the database only: one transaction per beacon."""

    def salt(self, day: date) -> bytes:
        found = db.session.get(VisitSalt, day)
        if found is None:
            # The day's first beacon: yesterday's salt and hashes go now, cron or not.
            self.forget_before(day)
            db.session.execute(
                _insert(VisitSalt)
                .values(day=day, salt=secrets.token_bytes(32))
                .on_conflict_do_nothing()
            )
            found = db.session.get(VisitSalt, day)
        return found.salt

    def record(self, day: date, keys: list[Key], address: str, user_agent: str) -> None:
        salt = self.salt(day)
        counts = []
        for key in keys:
            seen = _insert(VisitSeen).values(
                day=day, hash=visitor_hash(salt, address, user_agent, key)
            )
            # RETURNING gives a row only when the hash was new (rowcount is not reliable here).
            new = db.session.execute(seen.on_conflict_do_nothing().returning(VisitSeen.day))
            counts.append((key, 1, 1 if new.first() else 0))
        add_counts(day, counts)

    def fold(self, day: date) -> None:
        """Nothing to fold: the database already holds every count."""

    def forget_before(self, today: date) -> None:
        db.session.execute(sa.delete(VisitSalt).where(VisitSalt.day < today))
        db.session.execute(sa.delete(VisitSeen).where(VisitSeen.day < today))


class RedisStore:
    """Counts gathered in Redis, in batches per worker, and folded into the database."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._salts: dict[date, bytes] = {}  # this worker's copy of today's salt only
        self._lock = threading.Lock()
        self._batch: list[tuple[date, list[tuple[str, str]]]] = []
        self._timer: threading.Timer | None = None
        self._down_until = 0.0
        atexit.register(self.flush)  # a worker that stops sends what it still holds

    def _name(self, *parts) -> str:
        return ":".join((self.prefix, *map(str, parts)))

    def salt(self, day: date) -> bytes:
        cached = self._salts.get(day)
        if cached is not None:
            return cached
        if time.monotonic() < self._down_until:
            raise redis.ConnectionError("Redis did not answer a moment ago: not asked again yet")
        try:
            return self._new_salt(day)
        except redis.RedisError:
            # Never let a missing Redis hold a worker: stop asking for a while.
            self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
            raise

    def _new_salt(self, day: date) -> bytes:
        name = self._name("salt", day)
        # Gone at the end of the UK day (and a few minutes' grace for late beacons).
        end = uktime.midnight(day + timedelta(days=1)) + timedelta(minutes=5)
        expires = max(int(end.timestamp()), int(time.time()) + 300)
        self.client.set(name, secrets.token_bytes(32), nx=True, exat=expires)
        salt = self.client.get(name)
        with self._lock:
            self._salts = {day: salt}  # drop any earlier day's salt from memory
        return salt

    def record(self, day: date, keys: list[Key], address: str, user_agent: str) -> None:
        """Add one beacon's counts to this worker's batch; the batch goes to Redis in one
        round trip once it holds FLUSH_AFTER beacons or is FLUSH_SECONDS old."""
        salt = self.salt(day)
        hashes = [(key.text(), visitor_hash(salt, address, user_agent, key)) for key in keys]
        with self._lock:
            self._batch.append((day, hashes))
            due = len(self._batch) >= FLUSH_AFTER
            if not due and self._timer is None:
                self._timer = threading.Timer(FLUSH_SECONDS, self.flush)
                self._timer.daemon = True
                self._timer.start()
        if due:
            self.flush()

    def flush(self) -> None:
        """Send the batch to Redis: views per key in a hash, visitor hashes in a set per key."""
        with self._lock:
            batch, self._batch = self._batch, []
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if not batch:
            return
        ttl = timedelta(days=KEEP_REDIS_DAYS)
        views: dict[tuple[date, str], int] = {}
        seen: dict[tuple[date, str], set[str]] = {}
        for day, hashes in batch:
            for text, value in hashes:
                views[day, text] = views.get((day, text), 0) + 1
                seen.setdefault((day, text), set()).add(value)
        pipe = self.client.pipeline(transaction=False)
        for day in {day for day, _ in batch}:
            pipe.sadd(self._name("days"), day.isoformat())
            pipe.expire(self._name("views", day), ttl)
        for (day, text), count in views.items():
            pipe.hincrby(self._name("views", day), text, count)
            name = self._name("seen", day, text)
            pipe.sadd(name, *seen[day, text])
            pipe.expire(name, ttl)
        if time.monotonic() < self._down_until:
            log.warning("%d visit beacons not counted: Redis is down", len(batch))
            return
        try:
            pipe.execute()
        except redis.RedisError:
            self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
            log.warning("%d visit beacons could not be counted", len(batch), exc_info=True)

    def fold(self, day: date) -> None:
        """Move `day`'s view counts into the database, with the day's visitors so far."""
        self.flush()
        views = self._name("views", day)
        pipe = self.client.pipeline(transaction=True)
        pipe.hgetall(views)
        pipe.delete(views)
        found, _ = pipe.execute()
        if not found:
            return
        texts = [text.decode() for text in found]
        pipe = self.client.pipeline(transaction=False)
        for text in texts:
            pipe.scard(self._name("seen", day, text))
        sizes = pipe.execute()
        add_counts(
            day,
            [
                (Key.from_text(text), int(found[text.encode()]), size)
                for text, size in zip(texts, sizes, strict=True)
            ],
            absolute=True,
        )

    def forget_before(self, today: date) -> None:
        self.flush()
        for raw in self.client.smembers(self._name("days")):
            day = date.fromisoformat(raw.decode())
            if day >= today:
                continue
            self.fold(day)
            doomed = [self._name("salt", day), self._name("views", day)]
            doomed += list(self.client.scan_iter(match=self._name("seen", day, "*"), count=500))
            self.client.delete(*doomed)
            self.client.srem(self._name("days"), raw)
        db.session.execute(sa.delete(VisitSalt).where(VisitSalt.day < today))
        db.session.execute(sa.delete(VisitSeen).where(VisitSeen.day < today))
        with self._lock:
            self._salts = {d: s for d, s in self._salts.items() if d >= today}

    def all_keys(self) -> list[bytes]:
        """Every key this store holds in Redis (for tests and the privacy check)."""
        return list(self.client.scan_iter(match=self._name("*"), count=500))


def init_app(app: Flask) -> None:
    """Choose the store: Redis when REDIS_URL is set (unless INSIGHTS_STORE says otherwise)."""
    url = app.config.get("REDIS_URL")
    choice = app.config.get("INSIGHTS_STORE") or ("redis" if url else "database")
    if choice == "redis":
        client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        prefix = app.config.get("INSIGHTS_KEY_PREFIX", "insights")
        app.extensions["insights_store"] = RedisStore(client, prefix)
    else:
        app.extensions["insights_store"] = DatabaseStore()


def current() -> DatabaseStore | RedisStore:
    return current_app.extensions["insights_store"]


def roll_over(today: date | None = None) -> None:
    """Bring the counts up to date and delete every salt and visitor hash of past days
    (flushes; the caller commits)."""
    today = today or uktime.today()
    store = current()
    store.forget_before(today)
    store.fold(today)
