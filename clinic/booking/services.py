"""Booking rules: make, move and cancel a call, and record how it went. They flush; the view
commits."""

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from clinic.booking import availability, catalogue, emails
from clinic.booking.models import Booking
from clinic.booking.slots import to_local
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.leads import services as leads

STATUS_LABELS = {"confirmed": "Booked", "cancelled": "Cancelled", "done": "Call done",
                 "no_show": "No show"}  # fmt: skip
OUTCOME_EVENTS = {"done": "call_done", "no_show": "no_show"}


class SlotUnavailable(Exception):
    """The chosen time is not (or no longer) free."""


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
        lead=lead, clinic_id=request.clinic.id, starts_at=request.start, message=request.message,
        source_article=request.attribution.get("source_article"),
        idempotency_key=request.idempotency_key,
    )  # fmt: skip
    db.session.add(booking)
    db.session.flush()
    leads.record_event(lead, "booked", _describe(booking), booking_id=booking.id, actor=actor)
    if differs:
        leads.record_event(lead, "details_differ", f"This booking gave {differs}. The record "
                           "keeps its details: check with the patient before correcting them.",
                           booking_id=booking.id)  # fmt: skip
    emails.booked(booking, differs, by=_staff(actor))
    db.session.flush()
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
    leads.record_event(booking.lead, "rescheduled", f"{before} → {_describe(booking)}",
                       booking_id=booking.id, actor=actor)  # fmt: skip
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
    leads.record_event(booking.lead, "cancelled", _describe(booking), booking_id=booking.id,
                       actor=actor)  # fmt: skip
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
    return f"{to_local(booking.starts_at):%A %d %B %Y %H:%M} at {booking.clinic.name}"


def uk_today(now: datetime | None = None) -> date:
    return to_local(now or utcnow()).date()


def can_take_outcome(booking: Booking, now: datetime | None = None) -> bool:
    """Tell whether the call is confirmed and today or earlier (UK), so it may be closed."""
    return booking.status == "confirmed" and to_local(booking.starts_at).date() <= uk_today(now)


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
    leads.record_event(booking.lead, OUTCOME_EVENTS[outcome], f"Call on {_when(booking)}",
                       booking_id=booking.id, actor=actor)  # fmt: skip
    if outcome == "done" and booking.lead.status == "new" and booking.lead.erased_at is None:
        # Spoken to: no longer a new lead, so the New count means "nobody has called yet".
        leads.change_pipeline(booking.lead, "contacted", booking.lead.owner_id, actor)
    db.session.flush()
    return booking


def _when(booking: Booking) -> str:
    local = to_local(booking.starts_at)
    return f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M}, {booking.clinic.city}"
