"""`flask --app clinic leads ...`: data retention for leads."""

import time

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
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=privacy.PURGE_BATCH,
    show_default=True,
    help="Leads erased per transaction (each is committed before the next begins).",
)
def purge_command(days: int, dry_run: bool, batch_size: int):
    """Erase leads that never converted: no contact (booking, call, note, status change) for
    more than DAYS days, status not qualified or treatment booked, and no call ahead. Counts
    stay; each erasure is audited as "system". Works in batches, each its own short
    transaction, so the site keeps taking bookings while it runs; stopped midway, it has
    kept every batch done, and the next run carries on.

    Run it daily, for example from cron (with the app's environment: DATABASE_URL,
    SECRET_KEY):

    \b
        15 3 * * *  cd /srv/clinic && flask --app clinic leads purge --older-than 365
    """
    if dry_run:
        counted = sum(privacy.purge_in_batches(days, dry_run=True))
        click.echo(f"Would erase {counted} lead(s) with no contact for more than {days} days.")
        return
    started, erased = time.perf_counter(), 0
    for done in privacy.purge_in_batches(days, batch_size=batch_size):
        db.session.commit()  # one short transaction per batch
        erased += done
    took = time.perf_counter() - started
    click.echo(
        f"Erased {erased} lead(s) with no contact for more than {days} days in {took:.1f} s."
    )
