"""`flask --app clinic leads ...`: data retention for leads."""

import click
from flask.cli import AppGroup

from clinic.extensions import db
from clinic.leads_admin import privacy

leads_group = AppGroup("leads", help="Look after leads' personal data.")


@leads_group.command("purge")
@click.option(
    "--older-than",
    "days",
    type=click.IntRange(min=1),
    required=True,
    metavar="DAYS",
    help="Erase leads with no contact for more than DAYS days.",
)
@click.option("--dry-run", is_flag=True, help="Only count the leads that would be erased.")
def purge_command(days: int, dry_run: bool):
    """Erase leads that never converted: no contact (booking, call, note, status change) for
    more than DAYS days, status not qualified or treatment booked, and no call ahead. Counts
    stay; each erasure is audited as "system".

    Run it daily, for example from cron (with the app's environment: DATABASE_URL,
    SECRET_KEY):

    \b
        15 3 * * *  cd /srv/clinic && flask --app clinic leads purge --older-than 365
    """
    erased = privacy.purge(days, dry_run=dry_run)
    if dry_run:
        click.echo(f"Would erase {erased} lead(s) with no contact for more than {days} days.")
        return
    db.session.commit()
    click.echo(f"Erased {erased} lead(s) with no contact for more than {days} days.")
