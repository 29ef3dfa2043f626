"""`flask --app clinic backup PATH` and `restore PATH`: the whole database to a file and back."""

import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from clinic.backups import services

FILE = click.Path(dir_okay=False, path_type=Path)


@click.command("backup")
@click.argument("path", type=FILE)
@with_appcontext
def backup_command(path: Path):
    """Write a consistent copy of the database to PATH while the site keeps serving.

    SQLite: the online backup API (one file). PostgreSQL: pg_dump's custom format (needs
    pg_dump on PATH, of the server's major version or newer). Nightly, for example:

    \b
        30 2 * * *  cd /srv/clinic && flask --app clinic backup backups/clinic-$(date +\\%F).dump
    """
    started = time.perf_counter()
    try:
        services.backup(path)
    except services.BackupError as error:
        raise click.ClickException(str(error)) from error
    size = path.stat().st_size / 2**20
    click.echo(f"Backed up to {path} ({size:.1f} MiB) in {time.perf_counter() - started:.1f} s.")


@click.command("restore")
@click.argument("path", type=FILE)
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
@with_appcontext
def restore_command(path: Path, force: bool):
    """Load the backup at PATH into this (empty) database: made by `backup` on the same kind
    of database (SQLite or PostgreSQL). A database holding data is refused unless --force."""
    started = time.perf_counter()
    try:
        services.restore(path, force=force)
    except services.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Restored {path} in {time.perf_counter() - started:.1f} s.")
