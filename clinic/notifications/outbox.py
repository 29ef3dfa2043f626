"""Queue e-mails in the caller's transaction; deliver them afterwards, with retries.

`queue`, `queue_template`, `cancel_pending` and `retry` flush and leave the commit to the
caller. `send_due` and `work` are the worker: they own their short transactions.
"""

import contextlib
import logging
import signal
import smtplib
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from email.utils import parseaddr

import flask_mail
import sqlalchemy as sa
from flask import current_app, render_template
from jinja2 import TemplateNotFound

from clinic.audit.services import record
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.notifications.models import SUBJECT_LENGTH, OutboxMessage

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=6)
ERROR_LENGTH = 2000
# Staff may send again a failed e-mail, or one waiting after a failed try; never one that
# waits for its time (a reminder), which would go out early.
RETRYABLE = sa.or_(
    OutboxMessage.status == "failed",
    sa.and_(OutboxMessage.status == "pending", OutboxMessage.attempts > 0),
)
# Other features' housekeeping that the worker runs once per pass (scheduled publishing).
periodic_tasks: list[Callable[[], object]] = []


def queue(
    recipients: Iterable[str] | str,
    subject: str,
    text_body: str,
    html_body: str | None = None,
    *,
    kind: str,
    lead_id: int | None = None,
    booking_id: int | None = None,
    attachments: Iterable[dict] = (),
    not_before: datetime | None = None,
) -> OutboxMessage:
    """Add an e-mail to the outbox in the current transaction (flushed, not committed)."""
    recipients = [recipients] if isinstance(recipients, str) else list(recipients)
    if not recipients:
        raise ValueError("an e-mail needs at least one recipient")
    message = OutboxMessage(
        kind=kind,
        recipients=recipients,
        # One line, and short enough for the column: a subject must never fail a booking.
        subject=" ".join(subject.split())[:SUBJECT_LENGTH],
        text_body=text_body,
        html_body=html_body,
        attachments=[_attachment(item) for item in attachments],
        not_before=not_before or utcnow(),
        lead_id=lead_id,
        booking_id=booking_id,
    )
    db.session.add(message)
    db.session.flush()
    return message


def _attachment(item: dict) -> dict:
    if not isinstance(item["data"], str):
        raise TypeError(f"attachment {item['filename']!r}: data must be text")
    return {key: item[key] for key in ("filename", "content_type", "data")}


def queue_template(
    recipients: Iterable[str] | str,
    subject: str,
    template: str,
    context: dict,
    *,
    kind: str,
    **options,
) -> OutboxMessage:
    """Render templates/email/<template>.txt (and .html when it exists), then queue it."""
    text_body = render_template(f"email/{template}.txt", **context)
    html_body = _render_html(template, context)
    return queue(recipients, subject, text_body, html_body, kind=kind, **options)


def _render_html(template: str, context: dict) -> str | None:
    try:
        html = current_app.jinja_env.get_template(f"email/{template}.html")
    except TemplateNotFound:
        return None  # a text-only e-mail
    return render_template(html, **context)


def cancel_pending(
    *,
    booking_id: int | None = None,
    lead_id: int | None = None,
    kind: str | None = None,
    lead_ids: list[int] | None = None,
) -> int:
    """Cancel the pending e-mails that match every filter given; return how many."""
    filters = {"booking_id": booking_id, "lead_id": lead_id, "kind": kind}
    criteria = [getattr(OutboxMessage, k) == v for k, v in filters.items() if v is not None]
    if lead_ids is not None:
        criteria.append(OutboxMessage.lead_id.in_(lead_ids))
    if not criteria:
        raise ValueError("cancel_pending needs at least one filter")
    cancel = (
        sa.update(OutboxMessage)
        .where(OutboxMessage.status == "pending", *criteria)
        .values(status="cancelled")
    )
    return db.session.execute(cancel).rowcount


def can_retry(message: OutboxMessage) -> bool:
    """The same rule as RETRYABLE, for one loaded message (the e-mail log's button)."""
    return message.status == "failed" or (message.status == "pending" and message.attempts > 0)


def retry(message_id: int) -> OutboxMessage:
    """Send a failed or waiting e-mail again now (audited); attempts are kept (one more try if
    spent)."""
    # Conditional, so a message a worker is sending right now is never handed to another.
    result = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, RETRYABLE)
        .values(status="pending", not_before=utcnow(), claimed_until=None)
    )
    if result.rowcount != 1:
        raise ValueError(f"outbox message {message_id} is not failed or waiting to try again")
    record("email_retry", "outbox_message", message_id)
    return db.session.get(OutboxMessage, message_id)


def backoff(attempts: int) -> timedelta:
    """Return the wait after a failed attempt: 30 s, 2 min, 8 min, 32 min ... at most 6 h."""
    return min(FIRST_RETRY * 4 ** min(max(attempts - 1, 0), 8), LONGEST_WAIT)


def send_due(now: datetime | None = None, limit: int = 20) -> dict[str, int]:
    """Send up to `limit` due e-mails, committing each claim and outcome; return the counts."""
    now = now or utcnow()
    counts = {"sent": 0, "failed": 0, "retry": 0}
    for _ in range(limit):
        claim = _claim_next(now)
        if claim is None:
            break
        counts[_deliver(*claim, now)] += 1
    return counts


def _due(now: datetime):
    """Pending and due, or being sent by a worker whose lease ran out (it died)."""
    return sa.or_(
        sa.and_(OutboxMessage.status == "pending", OutboxMessage.not_before <= now),
        sa.and_(OutboxMessage.status == "sending", OutboxMessage.claimed_until < now),
    )


def _oldest_due_sqlite(now: datetime):
    """The oldest due message, from two index reads. Given the OR of `_due`, SQLite scans
    every e-mail ever sent in id order (28 ms at 125,000, inside the write statement that
    claims, so bookings waited for it at every poll); apart, each half reads only the few
    pending or sending rows off the status indexes (0.07 ms)."""
    pending = sa.select(OutboxMessage.id).where(
        OutboxMessage.status == "pending", OutboxMessage.not_before <= now
    )
    stuck = sa.select(OutboxMessage.id).where(
        OutboxMessage.status == "sending", OutboxMessage.claimed_until < now
    )
    due = sa.union_all(pending, stuck).subquery()
    return sa.select(sa.func.min(due.c.id)).scalar_subquery()


def _claim_next(now: datetime) -> tuple[int, int] | None:
    """Lease the oldest due message to this worker; return (id, attempt number) or None."""
    # One statement, so two workers never claim the same row: PostgreSQL skips rows that
    # another worker has locked, SQLite runs one writing statement at a time.
    if db.session.get_bind().dialect.name == "sqlite":
        oldest_due = _oldest_due_sqlite(now)
    else:
        oldest_due = (
            sa.select(OutboxMessage.id)
            .where(_due(now))
            .order_by(OutboxMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
    claim = (
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == oldest_due)
        .values(
            status="sending",
            attempts=OutboxMessage.attempts + 1,
            claimed_until=max(now, utcnow()) + LEASE,
        )
        .returning(OutboxMessage.id, OutboxMessage.attempts)
        .execution_options(synchronize_session=False)
    )
    row = db.session.execute(claim).one_or_none()
    db.session.commit()
    return None if row is None else (row.id, row.attempts)


def _deliver(message_id: int, attempt: int, now: datetime) -> str:
    """Send one claimed message and record the outcome: "sent", "retry" or "failed"."""
    message = db.session.get(OutboxMessage, message_id)
    max_attempts = message.max_attempts
    try:
        email = _mail_message(message)
        db.session.commit()  # end the read: hold no transaction open while SMTP talks
        with _Connection(current_app.extensions["mail"]) as connection:
            connection.send(email)
    except Exception as error:  # refused, down, timed out, bad data: all retried, then failed
        # The error's type only: an SMTP refusal quotes the patient's address, which the
        # e-mail log (staff only) keeps and the server's logs must not.
        log.warning("outbox: message %s, attempt %s: %s", message_id, attempt, type(error).__name__)
        return _record_failure(message_id, attempt, max_attempts, now, error)
    _finish(message_id, attempt, status="sent", sent_at=utcnow(), claimed_until=None)
    return "sent"


def _record_failure(
    message_id: int, attempt: int, max_attempts: int, now: datetime, error: Exception
) -> str:
    values = {
        "last_error": f"{type(error).__name__}: {error}"[:ERROR_LENGTH],
        "claimed_until": None,
    }
    if attempt >= max_attempts:
        _finish(message_id, attempt, status="failed", **values)
        return "failed"
    _finish(message_id, attempt, status="pending", not_before=now + backoff(attempt), **values)
    return "retry"


def _finish(message_id: int, attempt: int, **values) -> None:
    """Record an outcome, unless our lease ran out and another worker claimed the message."""
    result = db.session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.status == "sending",
            OutboxMessage.attempts == attempt,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
        log.warning("outbox: lease on message %s lapsed before its outcome was saved", message_id)


def _mail_message(message: OutboxMessage) -> flask_mail.Message:
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    email = flask_mail.Message(
        message.subject,
        list(message.recipients),
        message.text_body,
        message.html_body,
        sender=sender,
    )
    # The same Message-ID on every attempt, so a receiver can drop a duplicate delivery.
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    email.msgId = f"<outbox.{message.id}.{message.created_at.timestamp():.0f}@{domain}>"
    for item in message.attachments:
        content_type = item["content_type"]
        if content_type.startswith("text/") and "charset" not in content_type.lower():
            content_type += "; charset=utf-8"
        email.attach(item["filename"], content_type, item["data"].encode())
    return email


def send_now(recipients: list[str], subject: str, text_body: str) -> None:
    """Send one e-mail at once over SMTP, outside the outbox; raise if the server refuses it.

    Only for the alert that the outbox itself is stuck: queued, that alert would wait behind
    the very messages that are not going out."""
    email = flask_mail.Message(
        subject, recipients, text_body, sender=current_app.config["MAIL_DEFAULT_SENDER"]
    )
    with _Connection(current_app.extensions["mail"]) as connection:
        connection.send(email)


class _Connection(flask_mail.Connection):
    """Flask-Mail's SMTP connection, with MAIL_TIMEOUT applied (Flask-Mail 0.10 ignores it)."""

    def configure_host(self) -> smtplib.SMTP:
        timeout = current_app.config.get("MAIL_TIMEOUT", 10)
        smtp_class = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = smtp_class(self.mail.server, self.mail.port, timeout=timeout)
        try:
            if self.mail.use_tls:
                host.starttls()
            if self.mail.username and self.mail.password:
                host.login(self.mail.username, self.mail.password)
        except BaseException:
            host.close()
            raise
        return host

    def __exit__(self, *exc_info) -> None:
        # The server accepted the message before QUIT: a failed QUIT must not cause a resend.
        with contextlib.suppress(smtplib.SMTPException, OSError):
            super().__exit__(*exc_info)
        if self.host is not None:
            self.host.close()


def work(
    poll_seconds: float = 2.0, stop: threading.Event | None = None, once: bool = False
) -> None:
    """Deliver e-mails as they fall due until `stop` is set or SIGTERM or SIGINT arrives."""
    stop = stop or threading.Event()
    with _stop_signals() as received:
        while not (stop.is_set() or received):
            _run_periodic_tasks()
            counts = _send_due_surviving_database_errors()
            if once:
                return
            if not any(counts.values()):
                stop.wait(poll_seconds)


def _run_periodic_tasks() -> None:
    for task in periodic_tasks:
        try:
            task()
        except Exception:  # one failing task must not stop e-mail delivery
            log.exception("outbox: periodic task %s failed", task.__name__)
            db.session.remove()


def _send_due_surviving_database_errors() -> dict[str, int]:
    try:
        return send_due()
    except sa.exc.SQLAlchemyError:
        log.exception("outbox: database error; trying again shortly")
        db.session.remove()
        return {}


@contextlib.contextmanager
def _stop_signals() -> Iterator[list[int]]:
    """Yield a list that SIGTERM and SIGINT append to (main thread only); restore after."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    # The handler only records the signal: Event.set inside a handler can deadlock. The
    # loop then stops within one poll interval, never in the middle of a send.
    previous = {
        number: signal.signal(number, lambda signum, _frame: received.append(signum))
        for number in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield received
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
