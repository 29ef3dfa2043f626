"""Rules for leads that booking and the admin share. They flush; callers commit."""

from collections.abc import Collection

import sqlalchemy as sa

from clinic.accounts.models import User
from clinic.audit.services import record
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.leads.models import ATTRIBUTION_FIELDS, STATUS_LABELS, Lead, LeadEvent

# A person who phoned: no visit, no article. utm_source is where the leads list and the staff
# e-mail show a lead's channel; a booking made by phone names no source article.
PHONE_ATTRIBUTION = {"utm_source": "phone"}
PHONE_CONSENT_TEXT = (
    "Given by phone to a member of staff: keep my contact details to arrange a free discovery "
    "call and contact me about it, and use what I tell you about my health to prepare for it, "
    "as described in the privacy notice."
)


class LeadErased(Exception):
    """The person's details were erased: their record can no longer change."""


class LeadExists(Exception):
    """This e-mail address already belongs to a lead, which is left as it is."""

    def __init__(self, lead_id: int):
        super().__init__(lead_id)
        self.lead_id = lead_id


def find_or_create_lead(email: str, name: str, phone: str, attribution: dict) -> tuple[Lead, str]:
    """Return the lead for this e-mail (created with its first-touch attribution) and what the
    form gave that differs from a known lead's record, or "".

    The form never changes a known person's name or phone: anyone can type anyone's e-mail
    address. Staff see the difference and correct the record after speaking to the patient."""
    lead = db.session.scalar(sa.select(Lead).where(Lead.email == email))
    if lead is None:
        values = {k: (attribution.get(k) or None) for k in ATTRIBUTION_FIELDS}
        lead = Lead(email=email, name=name, phone=phone, **values)
        db.session.add(lead)
        return lead, ""
    differs = []
    if name != lead.name:
        differs.append(f"the name “{name}”")
    if phone != lead.phone:
        differs.append(f"the phone number {phone}")
    return lead, " and ".join(differs)


def add_by_phone(email: str, name: str, phone: str, actor: str) -> Lead:
    """Create the lead for a person who phoned, with the consent they gave on the phone.

    A known e-mail address raises LeadExists and changes nothing: staff open that lead."""
    lead, _differs = find_or_create_lead(email, name, phone, PHONE_ATTRIBUTION)
    if lead.id is not None:
        raise LeadExists(lead.id)
    record_consent(lead, PHONE_CONSENT_TEXT, marketing_opt_in=False)
    record_event(
        lead,
        "added",
        "Added by staff for a person who phoned; consent given by phone.",
        actor=actor,
    )
    db.session.flush()
    record("lead_created", "lead", lead.id, "added by staff: a person who phoned")
    return lead


def correct_contact(lead: Lead, name: str, phone: str, actor: str) -> str:
    """Change a lead's name or phone (staff, after speaking to the patient), audited with the
    field names only (no personal data); return what changed, or ""."""
    _refuse_if_erased(lead)
    changed = [f for f, new in (("name", name), ("phone", phone)) if getattr(lead, f) != new]
    if not changed:
        return ""
    lead.name, lead.phone = name, phone
    record_event(
        lead, "contact", "Contact details corrected: " + " and ".join(changed), actor=actor
    )
    return _audited(lead, "corrected " + ", ".join(changed))


def record_consent(lead: Lead, consent_text: str, marketing_opt_in: bool) -> None:
    lead.consent_at = utcnow()
    lead.consent_text = consent_text
    lead.marketing_opt_in = lead.marketing_opt_in or marketing_opt_in


def record_event(lead: Lead, kind: str, detail: str = "", *, booking_id=None, actor="patient"):
    """Append one entry to the lead's timeline (without loading the timeline so far)."""
    event = LeadEvent(lead=lead, kind=kind, detail=detail, booking_id=booking_id, actor=actor)
    db.session.add(event)
    return event


def add_note(lead: Lead, text: str, actor: str) -> str:
    """Add a staff note to the lead's timeline, audited by its length (never its words)."""
    _refuse_if_erased(lead)
    record_event(lead, "note", text, actor=actor)
    return _audited(lead, f"note added ({len(text)} characters)")


def change_pipeline(lead: Lead, status: str, owner_id: int | None, actor: str) -> str:
    """Set status and owner, add a timeline entry, audited (ids only); return what changed,
    or ""."""
    _refuse_if_erased(lead)
    changes, audit = [], []
    if status != lead.status:
        labels = STATUS_LABELS
        changes.append(f"Status: {labels[lead.status]} → {labels[status]}")
        audit.append(f"status {lead.status}→{status}")
    if owner_id != lead.owner_id:
        emails = owner_emails({lead.owner_id, owner_id})
        changes.append(
            f"Owner: {emails.get(lead.owner_id, 'nobody')} → {emails.get(owner_id, 'nobody')}"
        )
        audit.append(f"owner_id {lead.owner_id or 'none'}→{owner_id or 'none'}")
    if not changes:
        return ""
    lead.status, lead.owner_id = status, owner_id
    record_event(lead, "status", "; ".join(changes), actor=actor)
    return _audited(lead, "; ".join(audit))


def _audited(lead: Lead, detail: str) -> str:
    record("lead_changed", "lead", lead.id, detail)
    return detail


def _refuse_if_erased(lead: Lead) -> None:
    if lead.erased_at is not None:
        raise LeadErased


def owner_emails(user_ids: Collection[int | None]) -> dict[int, str]:
    ids = [i for i in user_ids if i is not None]
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(User.id, User.email).where(User.id.in_(ids))).all())
