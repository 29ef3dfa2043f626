"""Stalled e-mail: notice it, open one incident, alert the admins once, close it when e-mail
flows again.

`check` runs in every outbox worker's loop (an outbox periodic task). The alert is sent
straight over SMTP (`outbox.send_now`), not queued: when the queue is what is stuck (a worker
down, a message that jams it, a backlog) a queued alert would wait behind it. Its delivery is
recorded on the incident row, which serves as the lease too: a conditional UPDATE hands the
alert to one worker, so two hosts never both send it, and a failed send (the SMTP server
itself is down) is tried again every ALERT_RETRY until it goes out, still once. When no worker
runs at all nothing here runs either: the dashboard banner, /readyz and the metrics measure
the queue themselves, so they show the stall anyway.
"""

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from clinic.accounts.models import User
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.monitoring.models import REASON_LENGTH, OutboxIncident
from clinic.notifications import health as outbox_health
from clinic.notifications import outbox

log = logging.getLogger(__name__)

ALERT_RETRY = timedelta(minutes=5)
ALERT_SUBJECT = "E-mail from the clinic's website is not going out"


def measure(now: datetime | None = None) -> outbox_health.OutboxHealth:
    """The outbox's health with this app's stall and failure settings."""
    config = current_app.config
    return outbox_health.measure(
        timedelta(minutes=config["CLINIC_OUTBOX_STALL_MINUTES"]),
        timedelta(hours=config["CLINIC_OUTBOX_FAILED_HOURS"]),
        now,
    )


def describe(health: outbox_health.OutboxHealth) -> str:
    """Say in one sentence what is wrong with e-mail ("" when nothing is)."""
    minutes = current_app.config["CLINIC_OUTBOX_STALL_MINUTES"]
    hours = current_app.config["CLINIC_OUTBOX_FAILED_HOURS"]
    parts = []
    if health.late:
        parts.append(f"{_emails(health.late)} waited more than {minutes} minutes to be sent")
    if health.failed_recently:
        parts.append(f"{_emails(health.failed_recently)} failed for good in the last {hours} hours")
    return " and ".join(parts) + "." if parts else ""


def _emails(count: int) -> str:
    return "1 e-mail has" if count == 1 else f"{count} e-mails have"


def open_incident() -> OutboxIncident | None:
    return db.session.scalar(sa.select(OutboxIncident).where(OutboxIncident.open_flag == 1))


def check(now: datetime | None = None) -> OutboxIncident | None:
    """Open or close the incident to match the queue, then alert for it; commit."""
    now = now or utcnow()
    health = measure(now)
    incident = open_incident()
    if health.stalled and incident is None:
        incident = _open(describe(health), now)
    elif not health.stalled and incident is not None:
        incident.open_flag = None
        incident.closed_at = now
        log.info("outbox incident %s closed: e-mail flows again", incident.id)
        incident = None
    db.session.commit()
    if incident is not None and incident.alerted_at is None:
        _alert(incident.id, now)
    return incident


def _open(reason: str, now: datetime) -> OutboxIncident | None:
    incident = OutboxIncident(
        open_flag=1, reason=reason[:REASON_LENGTH], opened_at=now, alert_next_try=now
    )
    db.session.add(incident)
    try:
        db.session.flush()  # the only write of this transaction: a rollback loses nothing else
    except IntegrityError:  # another worker opened it a moment ago
        db.session.rollback()
        return open_incident()
    log.warning("outbox incident %s opened: %s", incident.id, reason)
    return incident


def _alert(incident_id: int, now: datetime) -> None:
    """Send the incident's one alert, if this worker wins it; record the outcome."""
    claim = (
        sa.update(OutboxIncident)
        .where(
            OutboxIncident.id == incident_id,
            OutboxIncident.alerted_at.is_(None),
            OutboxIncident.alert_next_try <= now,
        )
        .values(alert_next_try=now + ALERT_RETRY)
        .execution_options(synchronize_session=False)
    )
    won = db.session.execute(claim).rowcount == 1
    db.session.commit()
    if not won:
        return
    incident = db.session.get(OutboxIncident, incident_id)
    recipients = admin_emails()
    try:
        if not recipients:
            raise LookupError("no active admin account to tell")
        outbox.send_now(recipients, ALERT_SUBJECT, _alert_text(incident))
    except Exception as error:  # SMTP down too: try again after ALERT_RETRY
        incident.alert_error = f"{type(error).__name__}: {error}"[:2000]
        log.error("outbox incident %s: alert not sent (%s)", incident_id, type(error).__name__)
    else:
        incident.alerted_at = utcnow()
        incident.alerted_to = ", ".join(recipients)
        incident.alert_error = None
        log.warning("outbox incident %s: %d admins alerted", incident_id, len(recipients))
    db.session.commit()


def admin_emails() -> list[str]:
    """The addresses of the active admins, who are told about stalled e-mail."""
    query = sa.select(User.email).where(User.role == "admin", User.active.is_(True))
    return list(db.session.scalars(query.order_by(User.id)))


def _alert_text(incident: OutboxIncident) -> str:
    base = current_app.config["CLINIC_BASE_URL"]
    return (
        f"E-mail from {base} is stalled: {incident.reason}\n\n"
        "While it lasts, patients may not get their booking confirmations and staff may not "
        "hear of new bookings.\n\n"
        f"The e-mail log shows each message and its last error: {base}/admin/emails\n"
        "What to do: check that the outbox worker runs on every host and that the SMTP "
        "server accepts mail (see the README, Watching the site). Failed e-mails can be sent "
        "again from the e-mail log once the cause is fixed.\n\n"
        "This is the only e-mail about this incident. The dashboard says when it is over.\n"
    )


def dashboard_notice() -> dict | None:
    """What the dashboard says at the top while e-mail is stalled (None when it is not).

    Measured on the spot rather than read from the incident, so it shows even when no outbox
    worker runs to open one."""
    health = measure()
    if not health.stalled:
        return None
    incident = open_incident()
    return {"text": describe(health), "alerted_at": incident.alerted_at if incident else None}
