"""lead search index: FTS5 trigram table kept by triggers (SQLite), pg_trgm GIN (PostgreSQL)

Staff search leads by parts of a name, an e-mail or a phone number (clinic/leads/search.py).
The index is kept in step by the database, so that every writer of `lead` (booking, staff,
erasure, purge, demo-load's bulk inserts, a restore) keeps it right without knowing of it:

- SQLite: an external-content FTS5 table over lead(name, email, phone) with the trigram
  tokenizer (SQLite 3.34+), which matches any substring of three characters or more; three
  triggers on `lead` write to it (an erased lead's NULLs replace its old values). A batch
  migration that recreates `lead` drops these triggers and must make them again.
- PostgreSQL: one GIN index with pg_trgm's operator class on the three columns, which serves
  ILIKE '%...%'; an index, so kept in step by PostgreSQL itself (without a pending list).

Upgrading fills the index from the leads already there.

Revision ID: 9f3b6d2e8a41
Revises: a7d3e9f1c2b8
Create Date: 2026-12-04 18:45:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '9f3b6d2e8a41'
down_revision = 'a7d3e9f1c2b8'
branch_labels = None
depends_on = None

COLUMNS = "name, email, phone"
OLD = "'delete', old.id, old.name, old.email, old.phone"
NEW = "new.id, new.name, new.email, new.phone"
SQLITE_UPGRADE = [
    f"CREATE VIRTUAL TABLE lead_search USING fts5({COLUMNS}, content='lead', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER lead_search_insert AFTER INSERT ON lead BEGIN "
    f"INSERT INTO lead_search(rowid, {COLUMNS}) VALUES ({NEW}); END",
    "CREATE TRIGGER lead_search_delete AFTER DELETE ON lead BEGIN "
    f"INSERT INTO lead_search(lead_search, rowid, {COLUMNS}) VALUES ({OLD}); END",
    f"CREATE TRIGGER lead_search_update AFTER UPDATE OF {COLUMNS} ON lead BEGIN "
    f"INSERT INTO lead_search(lead_search, rowid, {COLUMNS}) VALUES ({OLD}); "
    f"INSERT INTO lead_search(rowid, {COLUMNS}) VALUES ({NEW}); END",
    # Index the leads already there, read from `lead` (the table's external content).
    "INSERT INTO lead_search(lead_search) VALUES ('rebuild')",
]
SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS lead_search_update",
    "DROP TRIGGER IF EXISTS lead_search_delete",
    "DROP TRIGGER IF EXISTS lead_search_insert",
    "DROP TABLE IF EXISTS lead_search",
]
POSTGRESQL_UPGRADE = [
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # fastupdate off: new entries go straight into the index, not a pending list that every
    # search reads in full until (auto)vacuum empties it (36 ms for a search finding nothing
    # at 100k leads after a bulk load, 0.2 ms without). Leads arrive a few at a time.
    "CREATE INDEX ix_lead_search_trgm ON lead USING gin "
    "(name gin_trgm_ops, email gin_trgm_ops, phone gin_trgm_ops) WITH (fastupdate = off)",
]
# The extension stays: other indexes may use it.
POSTGRESQL_DOWNGRADE = ["DROP INDEX IF EXISTS ix_lead_search_trgm"]


def _run(statements):
    for statement in statements:
        op.execute(statement)


def upgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    _run(SQLITE_UPGRADE if sqlite else POSTGRESQL_UPGRADE)


def downgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    _run(SQLITE_DOWNGRADE if sqlite else POSTGRESQL_DOWNGRADE)
