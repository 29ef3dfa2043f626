"""`flask --app clinic outbox ...`: deliver the e-mails waiting in the outbox."""

import click
from flask.cli import AppGroup

from clinic.notifications import outbox

outbox_group = AppGroup("outbox", help="Deliver the e-mails waiting in the outbox.")


@outbox_group.command("send")
@click.option("--limit", default=20, show_default=True, type=int, help="Most e-mails to send.")
def send_command(limit: int):
    """Send the e-mails that are due now, once, and print the counts."""
    counts = outbox.send_due(limit=limit)
    click.echo(
        f"Outbox: {counts['sent']} sent, {counts['retry']} to retry, {counts['failed']} failed."
    )


@outbox_group.command("work")
@click.option("--poll", default=2.0, show_default=True, type=float, help="Seconds between checks.")
@click.option("--once", is_flag=True, help="Make one pass, then stop.")
def work_command(poll: float, once: bool):
    """Keep delivering e-mails as they fall due, until SIGTERM or Ctrl-C."""
    click.echo(f"Outbox worker: checking every {poll:g} s.")
    outbox.work(poll_seconds=poll, once=once)
    click.echo("Outbox worker: stopped.")
