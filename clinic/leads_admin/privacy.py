"""Patients' data rights: erase one person's details; purge old leads that never converted.

Erasure keeps every row, so reports still add up (bookings per clinic, per article, per
status), and removes whatever identifies the person. The functions flush; callers commit.
"""

from datetime import datetime, timedelta

import sqlalchemy as sa

from clinic.audit.services import record
from clinic.booking.models import CALL_LENGTH, Booking
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.leads.models import Lead, LeadEvent
from clinic.notifications import outbox
from clinic.notifications.models import OutboxMessage

ERASED = "[erased]"
CONVERTED = ("qualified", "treatment_booked")


def erase_lead(lead: Lead, now: datetime | None = None) -> str:
    """Remove the person's details from the lead, its calls, notes and e-mails; say what went.

    Upcoming calls are cancelled too: nobody could phone the person any more, and the times
    go back to others. No e-mail says so: the address is what is being erased."""
    now = now or utcnow()
    known = [value.lower() for value in (lead.name, lead.email, lead.phone) if value]
    lead.name = lead.email = lead.phone = None
    # Where the visit began can identify (a personal link, a search); campaign tags cannot.
    lead.landing_page = lead.referrer = None
    bookings = list(db.session.scalars(sa.select(Booking).where(Booking.lead_id == lead.id)))
    cancelled = 0
    for booking in bookings:
        booking.message = None
        if booking.is_active and booking.starts_at > now:
            booking.status, booking.cancelled_at = "cancelled", now
            booking.sequence += 1
            cancelled += 1
            event = LeadEvent(
                kind="cancelled",
                booking_id=booking.id,
                actor="system",
                detail="Cancelled when the person's details were erased",
            )
            lead.events.append(event)
    notes = 0
    for event in lead.events:
        if event.kind == "note" or any(value in event.detail.lower() for value in known):
            event.detail, notes = ERASED, notes + 1
    emails = _erase_emails(lead.id)
    lead.erased_at = now
    db.session.flush()
    return (
        f"bookings={len(bookings)} calls_cancelled={cancelled} events_erased={notes} "
        f"emails={emails}"
    )


def _erased_unless_empty(column):
    return sa.case((column.is_(None), None), else_=sa.literal(ERASED))


def _erase_emails(lead_id: int) -> int:
    """Cancel the person's pending e-mails, then blank every e-mail about them."""
    outbox.cancel_pending(lead_id=lead_id)
    blank = (
        sa.update(OutboxMessage)
        .where(OutboxMessage.lead_id == lead_id)
        .values(
            recipients=[],
            subject=ERASED,
            text_body=ERASED,
            attachments=[],
            html_body=_erased_unless_empty(OutboxMessage.html_body),
            # A delivery error can quote the address ("recipient refused: ...").
            last_error=_erased_unless_empty(OutboxMessage.last_error),
        )
        .execution_options(synchronize_session="fetch")
    )
    return db.session.execute(blank).rowcount


def purgeable(older_than: timedelta, now: datetime) -> sa.Select:
    """Select unconverted, unerased leads with no contact since `now - older_than`: created
    before then, nothing on their timeline since (a booking, a call, a note, a status change)
    and no call ahead. The retention period runs from the last contact, not the first."""
    cutoff = now - older_than
    call_ahead = sa.select(Booking.id).where(
        Booking.lead_id == Lead.id,
        Booking.status == "confirmed",
        Booking.starts_at >= now - CALL_LENGTH,
    )
    recent_contact = sa.select(LeadEvent.id).where(
        LeadEvent.lead_id == Lead.id, LeadEvent.created_at >= cutoff
    )
    return (
        sa.select(Lead)
        .where(
            Lead.erased_at.is_(None),
            Lead.status.not_in(CONVERTED),
            Lead.created_at < cutoff,
            ~call_ahead.exists(),
            ~recent_contact.exists(),
        )
        .order_by(Lead.id)
    )


def purge(older_than_days: int, now: datetime | None = None, dry_run: bool = False) -> int:
    """Erase (and audit, as the system) each purgeable lead; return how many."""
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1")
    now = now or utcnow()
    leads = list(db.session.scalars(purgeable(timedelta(days=older_than_days), now)))
    if dry_run:
        return len(leads)
    for lead in leads:
        summary = erase_lead(lead, now)
        record(
            "lead_erased",
            "lead",
            lead.id,
            f"retention: older than {older_than_days} days; " + summary,
        )
    db.session.flush()
    return len(leads)
