"""Scheduled publishing: flip due items to published, so caches everywhere refresh at once.

`Publishable.visible()` already shows a due scheduled item, but pages cached before it fell
due (the article list, the home page) would wait for their expiry. Flipping the status
flushes a watched model, which bumps the page-cache generation for every worker.
"""

import logging
import time
from datetime import datetime

import sqlalchemy as sa
from flask import Flask

from clinic.audit.services import record
from clinic.content import review, revisions
from clinic.content.hours import UK
from clinic.content.models import Article, Page
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.notifications import outbox

log = logging.getLogger(__name__)


def publish_due(now: datetime | None = None) -> list[tuple[str, str]]:
    """Publish every scheduled article and page whose time has come; return (kind, slug)."""
    now = now or utcnow()
    published = []
    for kind, model in (("article", Article), ("page", Page)):
        query = sa.select(model).where(model.status == "scheduled", model.publish_at <= now)
        for item in db.session.scalars(query.order_by(model.id)):
            item.status = "published"
            item.published_on = item.published_on or item.publish_at.astimezone(UK).date()
            db.session.flush()
            revisions.record(kind, item, "Published on schedule")
            record("content_publish", kind, item.id, detail=f"{item.slug}; scheduled")
            published.append((kind, item.slug))
    return published


def publish_due_and_commit() -> None:
    """The outbox worker's periodic task: publish what is due, in its own transaction."""
    published = publish_due()
    db.session.commit()
    if published:
        log.info("content: published on schedule: %s", ", ".join(s for _, s in published))


_reminders_checked_at: float | None = None
REMINDER_CHECK_SECONDS = 3600


def review_reminders_and_commit() -> None:
    """The worker's hourly task: queue this ISO week's reviewer e-mails (once per week each)."""
    global _reminders_checked_at
    now = time.monotonic()
    if _reminders_checked_at is not None and now - _reminders_checked_at < REMINDER_CHECK_SECONDS:
        return
    _reminders_checked_at = now
    counts = review.send_review_reminders()
    db.session.commit()
    if counts["sent"]:
        log.info("content: weekly review reminders queued: %s", counts["sent"])


def init_app(app: Flask) -> None:
    """Let the outbox worker (started by `serve`) publish scheduled content and remind
    reviewers each week, without a cron job."""
    for task in (publish_due_and_commit, review_reminders_and_commit):
        if task not in outbox.periodic_tasks:
            outbox.periodic_tasks.append(task)
