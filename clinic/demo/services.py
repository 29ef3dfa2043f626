"""Write the volume generator's rows: bulk inserts in batches, never over real leads."""

import operator
import random
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa

from clinic.accounts.models import User
from clinic.booking.models import Booking
from clinic.booking.slots import Hours
from clinic.content.models import Article, Clinic, OpeningHours
from clinic.content.seed import seed_demo
from clinic.dbtypes import UTCDateTime, utcnow
from clinic.demo import volume
from clinic.extensions import db
from clinic.leads.models import Lead

# Parents before children: a booking names its lead, a timeline line its lead.
TABLES = ("lead", "booking", "lead_event", "audit_entry", "outbox_message")
STAFF = ("reception", "nurse", "physio", "manager")
BATCH_LEADS = 2000
# Not a hash of anything: checking any password against it fails.
NO_PASSWORD = "!no password: made by demo-load"


def real_leads() -> int:
    """Count the leads demo-load did not make (erased ones included)."""
    query = sa.select(sa.func.count()).where(Lead.consent_text.is_distinct_from(volume.MARK))
    return db.session.scalar(query)


def load(leads: int, seed: int | None = None, now: datetime | None = None) -> Counter:
    """Insert `leads` demo leads with their calls, timelines, audit and e-mails; flush only."""
    rng = random.Random(seed)
    world = _world(now or utcnow())
    made: Counter = Counter()
    times = volume.lead_times(leads, world.now, rng)
    with sqlite_cache(db.session.connection()):
        for batch in volume.batches(world, times, rng, BATCH_LEADS):
            for name, rows in batch.tables().items():
                if rows:
                    insert_many(db.metadata.tables[name], rows)
                    made[name] += len(rows)
    _follow_ids()
    _analyze()
    return made


def insert_many(table: sa.Table, rows: list[dict]) -> None:
    """Insert rows (dicts with the same keys) in one executemany, converting values with the
    columns' own types: SQLAlchemy's per-row parameter handling took most of the time."""
    connection = db.session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    converters = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    ]
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(n) for n in names)
    values = _values(rows, names, converters)
    if dialect.name == "postgresql":
        # COPY, in the session's transaction: a third less time than an executemany of
        # INSERTs for 100,000 leads' 1.5 million rows.
        cursor = connection.connection.driver_connection.cursor()
        with cursor, cursor.copy(f"COPY {quote(table.name)} ({columns}) FROM STDIN") as copy:
            for value in values:
                copy.write_row(value)
        return
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({', '.join([marker] * len(names))})"
    connection.exec_driver_sql(sql, values)


def _values(rows: list[dict], names: list[str], converters: list) -> list[tuple]:
    """Return each row's values in `names` order, converted where a column needs it."""
    pick = operator.itemgetter(*names)
    needed = [(i, convert) for i, convert in enumerate(converters) if convert is not None]
    values = []
    for row in rows:
        value = list(pick(row))
        for i, convert in needed:
            value[i] = convert(value[i])
        values.append(tuple(value))
    return values


def _converter(column: sa.Column, dialect):
    """Return the column type's own conversion, or a quicker equal one for SQLite's times."""
    if isinstance(column.type, UTCDateTime) and dialect.name == "sqlite":
        return _sqlite_time
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def _sqlite_time(value: datetime | None) -> str | None:
    """Write an aware time as SQLAlchemy writes it to SQLite: naive UTC, to the microsecond."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


@contextmanager
def sqlite_cache(connection, kibibytes: int = 256 * 1024):
    """Give SQLite a large page cache while loading: index pages stay in memory."""
    if connection.dialect.name != "sqlite":
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size=-{kibibytes}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size={before}")


def _world(now: datetime) -> volume.World:
    if db.session.scalar(sa.select(sa.func.count()).select_from(Clinic)) == 0:
        seed_demo()
        db.session.flush()
    return volume.World(
        now=now,
        clinics=_clinics(),
        articles=_articles(),
        staff=_staff(),
        next_ids={name: _max_id(name) + 1 for name in TABLES},
        taken=_taken(),
    )


def _clinics() -> list[volume.ClinicInfo]:
    hours: dict[int, list[Hours]] = {}
    for row in db.session.scalars(sa.select(OpeningHours)):
        hours.setdefault(row.clinic_id, []).append(Hours(row.weekday, row.opens, row.closes))
    clinics = db.session.scalars(sa.select(Clinic).order_by(Clinic.id))
    return [
        volume.ClinicInfo(c.id, c.slug, c.name, c.city, tuple(hours[c.id]))
        for c in clinics
        if c.id in hours
    ]


def _articles() -> list[str]:
    return list(db.session.scalars(sa.select(Article.slug).order_by(Article.slug)))


def _staff() -> list[tuple[int, str]]:
    """Return demo staff accounts (made once, with no password: nobody can sign in as one)."""
    users = []
    for name in STAFF:
        email = f"{name}@{volume.DOMAIN}"
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is None:
            user = User(email=email, role="staff", password_hash=NO_PASSWORD)
            db.session.add(user)
            db.session.flush()
        users.append((user.id, user.email))
    return users


def _max_id(name: str) -> int:
    table = db.metadata.tables[name]
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0)))


def _taken() -> set[tuple[int, datetime]]:
    query = sa.select(Booking.clinic_id, Booking.starts_at).where(Booking.status != "cancelled")
    return {(clinic_id, start) for clinic_id, start in db.session.execute(query)}


def _analyze() -> None:
    """Give PostgreSQL's planner the new row counts and spreads at once: without them it scans
    whole tables rather than use their indexes (the lead search's pg_trgm index among them),
    until autovacuum, if it runs at all, analyzes them. Inside the transaction, it sees the
    new rows."""
    if db.session.get_bind().dialect.name == "postgresql":
        for name in TABLES:
            db.session.execute(sa.text(f'ANALYZE "{name}"'))


def _follow_ids() -> None:
    """Move PostgreSQL's id sequences past the ids given here, so later rows get new ones."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for name in TABLES:
        db.session.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f'(SELECT COALESCE(MAX(id), 1) FROM "{name}"))'
            )
        )


def refresh_statistics() -> None:
    """Have PostgreSQL look at the new rows now: until autovacuum gets to tables that just
    grew a hundredfold, the planner guesses their sizes and counts read every row."""
    if db.engine.dialect.name == "postgresql":
        # VACUUM too: it marks the pages all-visible, so counts read only the indexes.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE"))
