"""Rules for leads that booking and the admin share. They flush; callers commit."""

import sqlalchemy as sa

from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.leads.models import ATTRIBUTION_FIELDS, Lead, LeadEvent


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
    """Append one entry to the lead's timeline."""
    event = LeadEvent(kind=kind, detail=detail, booking_id=booking_id, actor=actor)
    lead.events.append(event)
    return event
