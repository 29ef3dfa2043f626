"""Record who did what to whom: called by every view that reads or changes patients' data."""

import sqlalchemy as sa
from flask import has_request_context, request
from flask_login import current_user

from clinic.audit.models import AuditEntry
from clinic.extensions import db


def record(action: str, target_type: str = "", target_id: int | None = None, detail: str = ""):
    """Append an audit entry for the signed-in user (or the system, outside a request)."""
    user = current_user if has_request_context() and current_user.is_authenticated else None
    entry = AuditEntry(
        user_id=user.id if user else None,
        user_email=user.email if user else "system",
        action=action,
        target_type=target_type,
        target_id=target_id,
        detail=detail,
        ip_address=(request.remote_addr or "") if has_request_context() else "",
    )
    db.session.add(entry)
    return entry


def latest_for(target_type: str, target_id: int) -> AuditEntry | None:
    """Return the newest entry about one thing: who last changed it, and when."""
    query = (
        sa.select(AuditEntry)
        .where(AuditEntry.target_id == target_id, AuditEntry.target_type == target_type)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    return db.session.scalar(query)
