"""Copy the whole database to a file and back: SQLite's online backup API, or PostgreSQL's
pg_dump and pg_restore. Nothing here commits: a backup reads one snapshot, a restore
replaces the database as a whole."""

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa

from clinic.extensions import db

# Rows these tables always hold, even in a database that has never been used.
BOOKKEEPING = {"alembic_version", "cache_generation"}
CLIENT_TOOLS = (
    "install PostgreSQL's client tools (Debian: apt-get install postgresql-client), "
    "of the server's major version or newer"
)


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


def backup(path: Path) -> None:
    """Write a consistent copy of the database to `path` (replaced only once complete)."""
    url = db.engine.url
    partial = path.with_name(path.name + ".partial")
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite_backup(_sqlite_file(url), partial)
        else:
            _pg_dump(url, partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)


def restore(path: Path, force: bool = False) -> None:
    """Replace the database's content with the backup at `path`; refuse one holding data."""
    if not path.is_file():
        raise BackupError(f"There is no backup file at {path}.")
    used = tables_with_rows()
    if used and not force:
        raise BackupError(
            f"This database is not empty (rows in {', '.join(used)}): restore into an empty "
            "database, or use --force to replace everything in it."
        )
    url = db.engine.url
    db.session.remove()
    db.engine.dispose()  # no pooled connection may keep the old pages or a lock
    if url.get_backend_name() == "sqlite":
        _sqlite_restore(path, _sqlite_file(url))
    else:
        _pg_restore(path, url)


def tables_with_rows() -> list[str]:
    """Return the application's tables that hold rows (bookkeeping tables aside)."""
    present = set(sa.inspect(db.engine).get_table_names())
    used = []
    for table in db.metadata.sorted_tables:
        if table.name in present and table.name not in BOOKKEEPING:
            if db.session.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first():
                used.append(table.name)
    db.session.rollback()
    return used


def _sqlite_file(url: sa.URL) -> str:
    if not url.database or url.database == ":memory:":
        raise BackupError("This SQLite database lives in memory: there is no file to copy.")
    return url.database


def _sqlite_backup(source_file: str, target: Path) -> None:
    """Copy in one step: with WAL, that reads one snapshot and never blocks a writer (copying
    in steps would start again after every write, and might never finish on a busy site)."""
    source = sqlite3.connect(source_file, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        copy.close()
        source.close()


def _sqlite_restore(backup_file: Path, target_file: str) -> None:
    source = sqlite3.connect(f"{backup_file.resolve().as_uri()}?mode=ro", uri=True)
    try:
        if source.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError(f"{backup_file} is damaged: SQLite's quick_check failed.")
        target = sqlite3.connect(target_file, timeout=30)
        try:
            source.backup(target)
        finally:
            target.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{backup_file} is not a SQLite backup: {error}") from error
    finally:
        source.close()


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} was not found on PATH: {CLIENT_TOOLS}.")
    return found


def _libpq(url: sa.URL) -> tuple[str, dict]:
    """Return the URL for libpq tools, and an environment holding its password (never argv)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict, what: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{what} failed (exit {done.returncode}): {done.stderr.strip()}")


def _pg_dump(url: sa.URL, target: Path) -> None:
    """Dump in the custom format: one snapshot, compressed, restored with pg_restore."""
    dsn, env = _libpq(url)
    command = [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges"]
    _run([*command, f"--file={target}", f"--dbname={dsn}"], env, "pg_dump")


def _pg_restore(backup_file: Path, url: sa.URL) -> None:
    """Restore in one transaction: it all arrives, or nothing changes."""
    dsn, env = _libpq(url)
    command = [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges"]
    command += ["--single-transaction", "--exit-on-error", f"--dbname={dsn}", str(backup_file)]
    _run(command, env, "pg_restore")
