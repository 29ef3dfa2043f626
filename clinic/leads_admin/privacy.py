"""Patients' data rights: erase one person's details; purge old leads that never converted.

Erasure keeps every row, so reports still add up (bookings per clinic, per article, per
status), and removes whatever identifies the person. The functions flush; callers commit.
"""

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

import sqlalchemy as sa

from clinic.audit.services import record, record_many
from clinic.booking.models import CALL_LENGTH, Booking
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.leads.models import Lead, LeadEvent
from clinic.leads_admin import exports, queries
from clinic.notifications import outbox
from clinic.notifications.models import OutboxMessage

ERASED = "[erased]"
CONVERTED = ("qualified", "treatment_booked")
PURGE_BATCH = 200  # about 0.1 s of write lock on this machine, up to 0.5 s when it is busy


def erase_lead(lead: Lead, now: datetime | None = None) -> str:
    """Remove the person's details from the lead, its calls, notes and e-mails (audited); say
    what went.

    Upcoming calls are cancelled too: nobody could phone the person any more, and the times
    go back to others. No e-mail says so: the address is what is being erased."""
    summary = erase_leads([lead.id], now or utcnow())[lead.id]
    db.session.expire(lead)  # its timeline gained lines the session has not seen
    record("lead_erased", "lead", lead.id, summary)
    return summary


def subject_access(lead: Lead) -> str:
    """Everything stored about the person, as JSON for a subject access request; audited,
    since the data leaves the building."""
    body = exports.subject_access_json(
        lead, queries.bookings_of(lead.id), queries.outbox_of(lead.id)
    )
    record("lead_exported", "lead", lead.id, "subject access export (JSON)")
    return body


def erase_leads(lead_ids: list[int], now: datetime) -> dict[int, str]:
    """Erase several leads as `erase_lead` does, in a few set-based statements whatever their
    number (the purge's batches); return what went, per lead."""
    if not lead_ids:
        return {}
    known = _known_values(lead_ids)
    bookings = _count_by_lead(Booking.lead_id, lead_ids)
    cancelled = _cancel_upcoming_calls(lead_ids, now)
    db.session.execute(sa.update(Booking).where(Booking.lead_id.in_(lead_ids)).values(message=None))
    events = _erase_events(lead_ids, known)
    emails = _count_by_lead(OutboxMessage.lead_id, lead_ids)
    _erase_emails(lead_ids)
    # Where the visit began can identify (a personal link, a search); campaign tags cannot.
    db.session.execute(
        sa.update(Lead)
        .where(Lead.id.in_(lead_ids))
        .values(name=None, email=None, phone=None, landing_page=None, referrer=None, erased_at=now)
    )
    db.session.flush()
    return {
        lead_id: f"bookings={bookings.get(lead_id, 0)} calls_cancelled="
        f"{cancelled.get(lead_id, 0)} events_erased={events.get(lead_id, 0)} "
        f"emails={emails.get(lead_id, 0)}"
        for lead_id in lead_ids
    }


def _known_values(lead_ids: list[int]) -> dict[int, list[str]]:
    """Return each lead's name, e-mail and phone, lower case, to find them in free text."""
    query = sa.select(Lead.id, Lead.name, Lead.email, Lead.phone).where(Lead.id.in_(lead_ids))
    return {
        lead_id: [value.lower() for value in values if value]
        for lead_id, *values in db.session.execute(query)
    }


def _count_by_lead(column, lead_ids: list[int]) -> dict[int, int]:
    query = sa.select(column, sa.func.count()).where(column.in_(lead_ids)).group_by(column)
    return dict(db.session.execute(query).all())


def _cancel_upcoming_calls(lead_ids: list[int], now: datetime) -> dict[int, int]:
    """Cancel the leads' calls still ahead, each with a line on its lead's timeline."""
    upcoming = db.session.execute(
        sa.select(Booking.id, Booking.lead_id).where(
            Booking.lead_id.in_(lead_ids), Booking.status == "confirmed", Booking.starts_at > now
        )
    ).all()
    if not upcoming:
        return {}
    db.session.execute(
        sa.update(Booking)
        .where(Booking.id.in_([booking_id for booking_id, _lead in upcoming]))
        .values(status="cancelled", cancelled_at=now, sequence=Booking.sequence + 1)
    )
    lines = [
        {
            "lead_id": lead_id,
            "booking_id": booking_id,
            "kind": "cancelled",
            "actor": "system",
            "detail": "Cancelled when the person's details were erased",
            "created_at": now,
        }
        for booking_id, lead_id in upcoming
    ]
    db.session.execute(sa.insert(LeadEvent), lines)
    return Counter(lead_id for _booking, lead_id in upcoming)


def _erase_events(lead_ids: list[int], known: dict[int, list[str]]) -> Counter:
    """Blank notes, and any timeline line that quotes the person's name, e-mail or phone."""
    lines = db.session.execute(
        sa.select(LeadEvent.id, LeadEvent.lead_id, LeadEvent.kind, LeadEvent.detail).where(
            LeadEvent.lead_id.in_(lead_ids)
        )
    ).all()
    erased = [
        (line_id, lead_id)
        for line_id, lead_id, kind, detail in lines
        if kind == "note" or any(value in detail.lower() for value in known.get(lead_id, ()))
    ]
    for start in range(0, len(erased), 500):
        ids = [line_id for line_id, _lead in erased[start : start + 500]]
        db.session.execute(sa.update(LeadEvent).where(LeadEvent.id.in_(ids)).values(detail=ERASED))
    return Counter(lead_id for _line, lead_id in erased)


def _erased_unless_empty(column):
    return sa.case((column.is_(None), None), else_=sa.literal(ERASED))


def _erase_emails(lead_ids: list[int]) -> None:
    """Cancel the people's pending e-mails, then blank every e-mail about them."""
    outbox.cancel_pending(lead_ids=lead_ids)
    blank = (
        sa.update(OutboxMessage)
        .where(OutboxMessage.lead_id.in_(lead_ids))
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
    db.session.execute(blank)


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
    """Erase (and audit, as the system) each purgeable lead in one go; return how many.
    Small sets only (tests, a console): the command uses `purge_in_batches`."""
    return sum(purge_in_batches(older_than_days, now, dry_run, batch_size=None))


def purge_in_batches(
    older_than_days: int,
    now: datetime | None = None,
    dry_run: bool = False,
    batch_size: int | None = PURGE_BATCH,
) -> Iterator[int]:
    """Erase the purgeable leads `batch_size` at a time (all at once when None), yielding how
    many after each batch is flushed: the caller commits there, so that no transaction (and
    on SQLite no write lock) lasts longer than one batch, and bookings carry on meanwhile.

    Each batch takes the leads by id, past the last batch, and erases them with a handful of
    set-based statements; its first statement re-checks the rules on the rows it changes,
    so a lead that booked a call since it was chosen is left alone."""
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1")
    now = now or utcnow()
    rules = purgeable(timedelta(days=older_than_days), now)
    if dry_run:
        yield db.session.scalar(sa.select(sa.func.count()).select_from(rules.subquery()))
        return
    after = 0
    while True:
        chosen = rules.with_only_columns(Lead.id).where(Lead.id > after)
        if batch_size is not None:
            chosen = chosen.limit(batch_size)
        ids = list(db.session.scalars(chosen))
        if not ids:
            return
        after = ids[-1]
        claimed = _claim(rules, ids)
        reason = f"retention: older than {older_than_days} days; "
        summaries = erase_leads(claimed, now)
        record_many("lead_erased", "lead", {i: reason + text for i, text in summaries.items()})
        db.session.flush()
        yield len(claimed)


def _claim(rules: sa.Select, ids: list[int]) -> list[int]:
    """Mark the chosen leads that still meet the rules (in one statement, which takes the
    write lock on SQLite and the rows' locks on PostgreSQL); return their ids."""
    still = rules.with_only_columns(Lead.id).where(Lead.id.in_(ids)).order_by(None)
    claim = (
        sa.update(Lead)
        .where(Lead.id.in_(still.scalar_subquery()))
        .values(updated_at=utcnow())
        .returning(Lead.id)
    )
    return sorted(db.session.scalars(claim.execution_options(synchronize_session=False)))
