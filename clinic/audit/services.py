"""Record who did what to whom: called by every view that reads or changes patients' data."""

import sqlalchemy as sa
from flask import has_request_context, request
from flask_login import current_user

from clinic.audit.models import AuditEntry
from clinic.dbtypes import utcnow
from clinic.extensions import db


def _who() -> dict:
    """The signed-in user (or the system, outside a request) and where they are."""
    user = current_user if has_request_context() and current_user.is_authenticated else None
    return {
        "user_id": user.id if user else None,
        "user_email": user.email if user else "system",
        "ip_address": (request.remote_addr or "") if has_request_context() else "",
    }


def record(action: str, target_type: str = "", target_id: int | None = None, detail: str = ""):
    """Append an audit entry for the signed-in user (or the system, outside a request)."""
    entry = AuditEntry(
        action=action, target_type=target_type, target_id=target_id, detail=detail, **_who()
    )
    db.session.add(entry)
    return entry


def record_many(action: str, target_type: str, details: dict[int, str]) -> None:
    """Append one entry per target, as `record` would, in a single INSERT (a purge's batch:
    500 ORM objects cost more than the rest of the batch's work)."""
    who, at = _who(), utcnow()
    rows = [
        {"action": action, "target_type": target_type, "target_id": target, "detail": detail}
        | who
        | {"at": at}
        for target, detail in details.items()
    ]
    if rows:
        db.session.execute(sa.insert(AuditEntry), rows)


def latest_for(target_type: str, target_id: int) -> AuditEntry | None:
    """Return the newest entry about one thing: who last changed it, and when."""
    query = (
        sa.select(AuditEntry)
        .where(AuditEntry.target_id == target_id, AuditEntry.target_type == target_type)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    return db.session.scalar(query)
