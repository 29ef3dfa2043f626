"""Booking rules: make, move and cancel a call, and record how it went, for the public form and
for staff on the phone alike.

`book_call`, `move_call` and `cancel_call` are the use cases the views call: each checks, writes,
records the timeline and (when staff act) the audit entry, and commits, because retrying a lost
race means starting the transaction again. The steps under them only flush."""

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import ServiceUnavailable

from clinic import uktime
from clinic.audit.services import record
from clinic.booking import availability, catalogue, emails, queries
from clinic.booking.models import Booking
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.leads import services as leads
from clinic.monitoring import metrics
from clinic.uktime import to_local

STATUS_LABELS = {
    "confirmed": "Booked",
    "cancelled": "Cancelled",
    "done": "Call done",
    "no_show": "No show",
}
OUTCOME_EVENTS = {"done": "call_done", "no_show": "no_show"}


TAKEN = "That time was just taken: it is not free any more. Please choose another time."
NOT_OFFERED = (
    "We do not offer calls at that time: the clinic is closed then, or the time has passed. "
    "Choose one of the times shown."
)
CLOSED = (
    "The clinic is closed on {day}{why}, so no calls can be booked that day. "
    "Choose one of the times shown."
)
RETRIES = 3


class SlotUnavailable(Exception):
    """The chosen time is not (or no longer) free: `reason` says why, for the time field, and
    `alternatives` are the clinic's next free times after it."""

    def __init__(self, reason: str = TAKEN, alternatives: list[datetime] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.alternatives = alternatives or []


class Busy(ServiceUnavailable):
    """Every try lost a race or waited on a lock: the 503 page (try again, or phone us)."""


class OutcomeRefused(Exception):
    """This call cannot take an outcome: it is not confirmed, or it has not happened yet."""


class ChangeRefused(Exception):
    """Staff cannot move or cancel this call: it is over, no longer booked, or its lead erased."""


@dataclass(frozen=True)
class Request:
    """What the patient asked for, already validated by the form."""

    clinic: catalogue.BookableClinic
    start: datetime
    name: str
    email: str
    phone: str
    message: str | None
    consent_text: str | None  # None: staff booking a call keep the consent the lead gave
    marketing_opt_in: bool
    attribution: dict
    idempotency_key: str | None


_BY_KEY = sa.select(Booking.__table__.c.id).where(
    Booking.__table__.c.idempotency_key == sa.bindparam("key")
)


def booked_with_key(key: str | None) -> int | None:
    """Return the id of the booking this form already made (a double submit), if any.

    Asked on every booking POST, so a plain indexed query rather than a loaded Booking."""
    if not key:
        return None
    return db.session.connection().execute(_BY_KEY, {"key": key}).scalar()


def book_call(request: Request, actor: str = "patient") -> int:
    """Book the call once and commit; return its booking id, also when this form (its
    idempotency key) booked it already, so a double click is answered with its booking.

    A lost race (the slot, the key, the lead's e-mail, a lock) is tried again in a new
    transaction; SlotUnavailable says why the time cannot be had and offers the next ones."""
    for _attempt in range(RETRIES):
        if existing := booked_with_key(request.idempotency_key):
            return existing
        try:
            booking_id = book(request, actor=actor).id  # read before the commit expires it
            db.session.commit()
            metrics.booking_made("patient" if actor == "patient" else "staff")
            return booking_id
        except SlotUnavailable:
            # Nothing was written. The time may have been taken by this very form, sent twice.
            if existing := booked_with_key(request.idempotency_key):
                return existing
            raise unavailable(request.clinic, request.start) from None
        except (IntegrityError, OperationalError):
            db.session.rollback()
    metrics.booking_refused("busy")
    raise Busy()


def move_call(booking: Booking, start: datetime, actor: str = "patient") -> Booking:
    """Move the call to another free time at its clinic and commit; the same move sent twice
    is answered as done. Raises SlotUnavailable (why, and the next free times)."""
    booking_id, before = booking.id, booking.starts_at
    try:
        reschedule(booking, start, actor=actor)
        _audit(
            actor,
            "booking_rescheduled",
            booking,
            f"from={before.isoformat()} to={start.isoformat()}",
        )
        db.session.commit()
        return booking
    except (SlotUnavailable, IntegrityError, OperationalError):
        db.session.rollback()
    booking = db.session.get(Booking, booking_id)
    if booking.is_active and booking.starts_at == start:
        return booking
    raise unavailable(catalogue.by_id(booking.clinic_id), start)


def cancel_call(booking: Booking, actor: str = "patient") -> Booking:
    """Cancel the call and commit: its time is free for others, the patient is told."""
    was_active = booking.is_active
    cancel(booking, actor=actor)
    if was_active:
        _audit(actor, "booking_cancelled", booking)
    db.session.commit()
    return booking


def unavailable(clinic: catalogue.BookableClinic | None, start: datetime) -> SlotUnavailable:
    """The refusal for a time: taken by someone, or never one of the clinic's times at all (a
    Sunday or a past time, sent by hand); with the next free times after it."""
    if clinic is None:
        return SlotUnavailable()
    now = utcnow()
    reason = TAKEN if availability.is_offered(clinic, start, now) else _not_offered(clinic, start)
    return SlotUnavailable(reason, availability.next_free(clinic, now, after=start))


def _not_offered(clinic: catalogue.BookableClinic, start: datetime) -> str:
    """Say why a time is none of the clinic's: closed that day (and for what), or otherwise."""
    day = to_local(start).date()
    closure = availability.closure_on(clinic, day)
    if closure is None:
        return NOT_OFFERED
    why = f", {closure.reason}" if closure.reason else ""
    return CLOSED.format(day=uktime.day_label(day), why=why)


def _audit(actor: str, action: str, booking: Booking, detail: str = "") -> None:
    """Audit what staff did to a call (a patient's own changes are on the timeline)."""
    if _staff(actor):
        record(action, "booking", booking.id, f"lead={booking.lead_id} {detail}".strip())


def book(request: Request, now: datetime | None = None, actor: str = "patient") -> Booking:
    """Write the lead, the booking, its timeline entry and its e-mails in one transaction.

    `actor` is who made it: the patient, or the member of staff who booked it by phone.
    SlotUnavailable comes before anything is written, so the caller need not roll back."""
    now = now or utcnow()
    if not availability.is_free(request.clinic, request.start, now):
        raise SlotUnavailable
    lead, differs = leads.find_or_create_lead(
        request.email, request.name, request.phone, request.attribution
    )
    if request.consent_text:
        leads.record_consent(lead, request.consent_text, request.marketing_opt_in)
    booking = Booking(
        lead=lead,
        clinic_id=request.clinic.id,
        starts_at=request.start,
        message=request.message,
        source_article=request.attribution.get("source_article"),
        idempotency_key=request.idempotency_key,
    )
    db.session.add(booking)
    db.session.flush()
    leads.record_event(lead, "booked", _describe(booking), booking_id=booking.id, actor=actor)
    if differs:
        leads.record_event(
            lead,
            "details_differ",
            f"This booking gave {differs}. The record "
            "keeps its details: check with the patient before correcting them.",
            booking_id=booking.id,
        )
    emails.booked(booking, differs, by=_staff(actor))
    db.session.flush()
    _audit(
        actor,
        "booking_created",
        booking,
        f"clinic={request.clinic.slug} starts_at={request.start.isoformat()} by phone",
    )
    return booking


def reschedule(
    booking: Booking, start: datetime, now: datetime | None = None, actor: str = "patient"
) -> Booking:
    """Move an active booking to another free slot at the same clinic."""
    now = now or utcnow()
    clinic = catalogue.by_id(booking.clinic_id)
    if clinic is None or not booking.is_active or not availability.is_free(clinic, start, now):
        raise SlotUnavailable
    before = _describe(booking)
    booking.starts_at = start
    booking.sequence += 1
    db.session.flush()
    leads.record_event(
        booking.lead,
        "rescheduled",
        f"{before} → {_describe(booking)}",
        booking_id=booking.id,
        actor=actor,
    )
    emails.rescheduled(booking, by=_staff(actor))
    return booking


def cancel(booking: Booking, actor: str = "patient") -> Booking:
    """Cancel an active booking; its slot becomes free again."""
    if not booking.is_active:
        return booking
    booking.status = "cancelled"
    booking.cancelled_at = utcnow()
    booking.sequence += 1
    db.session.flush()
    leads.record_event(
        booking.lead, "cancelled", _describe(booking), booking_id=booking.id, actor=actor
    )
    emails.cancelled(booking, by=_staff(actor))
    return booking


def _staff(actor: str) -> str:
    """The member of staff who acted, for the staff e-mail ("" when the patient did)."""
    return "" if actor in ("patient", "system") else actor


def can_change(booking: Booking, now: datetime | None = None) -> bool:
    """Tell whether staff may still move or cancel the call: booked, not yet begun, and its
    person's details not erased (the patient's e-mails need them)."""
    return (
        booking.is_active
        and booking.starts_at > (now or utcnow())
        and booking.lead.erased_at is None
    )


def agenda(first: date, last: date, clinic=None) -> list[Booking]:
    """Return the calls from `first` to `last` (UK days), at one clinic or all, and audit who
    looked at whose calls: the filter and the leads' ids, never their details."""
    calls = queries.calls_between(first, last, clinic)
    leads = ",".join(map(str, dict.fromkeys(call.lead_id for call in calls)))
    where = f"clinic={clinic.slug if clinic else 'all'} from={first} to={last}"
    record("agenda_viewed", "lead", None, f"{where} leads={leads or 'none'}")
    return calls


def call_helpers() -> dict:
    """What pages about a lead need to show its calls: their labels, and whether each may still
    take an outcome, or be moved and cancelled."""
    return {
        "call_labels": STATUS_LABELS,
        "can_take_outcome": can_take_outcome,
        "can_change": can_change,
    }


def refuse_change(booking: Booking, now: datetime | None = None) -> None:
    """Raise ChangeRefused, saying why, unless staff may move or cancel this call."""
    if booking.lead.erased_at is not None:
        raise ChangeRefused("This person's details were erased, so their call cannot change.")
    if not booking.is_active:
        raise ChangeRefused(
            f"This call is already marked “{STATUS_LABELS[booking.status]}”, so it can no "
            "longer be moved or cancelled."
        )
    if not can_change(booking, now):
        raise ChangeRefused(
            f"This call was on {_when(booking)}. A call that has begun can no longer be moved "
            "or cancelled: record its outcome instead."
        )


def _describe(booking: Booking) -> str:
    return f"{uktime.call_time(booking.starts_at)}, {booking.clinic.name}"


def can_take_outcome(booking: Booking, now: datetime | None = None) -> bool:
    """Tell whether the call is confirmed and today or earlier (UK), so it may be closed."""
    return booking.status == "confirmed" and to_local(booking.starts_at).date() <= uktime.today(now)


def record_outcome(booking: Booking, outcome: str, actor: str, now: datetime | None = None):
    """Mark a call done or a no-show and add it to the lead's timeline (flushes, no commit)."""
    if booking.status != "confirmed":
        raise OutcomeRefused(
            f"This call is already marked “{STATUS_LABELS[booking.status]}”, so its outcome "
            "cannot change."
        )
    if not can_take_outcome(booking, now):
        raise OutcomeRefused(
            f"This call is on {_when(booking)}. You can record its outcome from that day on."
        )
    booking.status = outcome
    leads.record_event(
        booking.lead,
        OUTCOME_EVENTS[outcome],
        f"Call on {_when(booking)}",
        booking_id=booking.id,
        actor=actor,
    )
    if outcome == "done" and booking.lead.status == "new" and booking.lead.erased_at is None:
        # Spoken to: no longer a new lead, so the New count means "nobody has called yet".
        leads.change_pipeline(booking.lead, "contacted", booking.lead.owner_id, actor)
    record("booking_outcome", "booking", booking.id, detail=outcome)
    db.session.flush()
    return booking


def _when(booking: Booking) -> str:
    return f"{uktime.call_time(booking.starts_at)}, {booking.clinic.city}"
