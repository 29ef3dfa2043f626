"""`flask --app clinic content ...`: scheduled publishing and the weekly review reminders."""

import click
from flask.cli import AppGroup

from clinic.content import review, scheduler
from clinic.extensions import db

content_group = AppGroup("content", help="Publish scheduled content and remind reviewers.")


@content_group.command("publish-due")
def publish_due_command():
    """Publish the scheduled articles and pages whose time has come (the worker does it too)."""
    published = scheduler.publish_due()
    db.session.commit()
    names = ", ".join(f"{kind} {slug}" for kind, slug in published) or "nothing was due"
    click.echo(f"Published {len(published)}: {names}.")


@content_group.command("review-reminders")
def review_reminders_command():
    """E-mail each medical reviewer what is due for review (once per ISO week; run weekly)."""
    counts = review.send_review_reminders()
    db.session.commit()
    click.echo(
        f"Review reminders: {counts['sent']} queued, {counts['already_sent']} already sent "
        f"this week, {counts['no_email']} item(s) without a reviewer e-mail."
    )
