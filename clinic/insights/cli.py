"""`flask insights roll`: fold the day's counts in and delete past days' salts (cron)."""

from datetime import date

import click
from flask.cli import AppGroup

from clinic.extensions import db
from clinic.insights import store

insights_group = AppGroup("insights", help="Cookie-free visit counts.")


@insights_group.command("roll")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="UK date to treat as today.")
def roll_command(today):
    """Fold counts into the database; delete every salt and visitor hash of past days."""
    day: date | None = today.date() if today else None
    store.roll_over(day)
    db.session.commit()
    click.echo("Visit counts folded; salts and visitor hashes of past days deleted.")
