"""Rules for leads that booking and the admin share. They flush; callers commit."""

import sqlalchemy as sa

from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.leads import queries
from clinic.leads.models import ATTRIBUTION_FIELDS, Lead, LeadEvent


class LeadErased(Exception):
    """The person's details were erased: their record can no longer change."""


def find_or_create_lead(email: str, name: str, phone: str, attribution: dict) -> Lead:
    """Return the lead for this e-mail, creating it with its first-touch attribution."""
    lead = db.session.scalar(sa.select(Lead).where(Lead.email == email))
    if lead is None:
        values = {k: (attribution.get(k) or None) for k in ATTRIBUTION_FIELDS}
        lead = Lead(email=email, **values)
        db.session.add(lead)
    lead.name, lead.phone = name, phone
    return lead


def record_consent(lead: Lead, consent_text: str, marketing_opt_in: bool) -> None:
    lead.consent_at = utcnow()
    lead.consent_text = consent_text
    lead.marketing_opt_in = lead.marketing_opt_in or marketing_opt_in


def record_event(lead: Lead, kind: str, detail: str = "", *, booking_id=None, actor="patient"):
    """Append one entry to the lead's timeline (without loading the timeline so far)."""
    event = LeadEvent(lead=lead, kind=kind, detail=detail, booking_id=booking_id, actor=actor)
    db.session.add(event)
    return event


def add_note(lead: Lead, text: str, actor: str) -> LeadEvent:
    """Add a staff note to the lead's timeline."""
    _refuse_if_erased(lead)
    return record_event(lead, "note", text, actor=actor)


def change_pipeline(lead: Lead, status: str, owner_id: int | None, actor: str) -> str:
    """Set status and owner, add a timeline entry; return what changed (ids only), or ""."""
    _refuse_if_erased(lead)
    changes, audit = [], []
    if status != lead.status:
        labels = queries.STATUS_LABELS
        changes.append(f"Status: {labels[lead.status]} → {labels[status]}")
        audit.append(f"status {lead.status}→{status}")
    if owner_id != lead.owner_id:
        emails = queries.owner_emails({lead.owner_id, owner_id})
        changes.append(f"Owner: {emails.get(lead.owner_id, 'nobody')} → "
                       f"{emails.get(owner_id, 'nobody')}")  # fmt: skip
        audit.append(f"owner_id {lead.owner_id or 'none'}→{owner_id or 'none'}")
    if not changes:
        return ""
    lead.status, lead.owner_id = status, owner_id
    record_event(lead, "status", "; ".join(changes), actor=actor)
    return "; ".join(audit)


def _refuse_if_erased(lead: Lead) -> None:
    if lead.erased_at is not None:
        raise LeadErased
