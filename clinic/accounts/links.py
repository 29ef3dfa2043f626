"""E-mailed one-time links: invitations (72 hours) and password resets (one hour).

A link carries a signed [row id, nonce]; the row keeps only the nonce's SHA-256, so that a
link can be used once, replaced (resent) or withdrawn, and a copy of the database opens
nothing. E-mails are outbox rows written in the caller's transaction."""

import hashlib
import hmac
import secrets
from contextlib import nullcontext
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, has_request_context, render_template, url_for
from itsdangerous import BadData, URLSafeSerializer

from clinic.accounts import services
from clinic.accounts.models import ROLES, Invitation, PasswordReset, User
from clinic.audit.services import record
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.notifications import outbox

INVITATION_AGE = timedelta(hours=72)
RESET_AGE = timedelta(hours=1)


class LinkRefused(Exception):
    """The link cannot be used: `status` (400 damaged, 404 unknown, 410 gone) and why."""

    def __init__(self, status: int, heading: str, message: str):
        super().__init__(message)
        self.status, self.heading, self.message = status, heading, message


def _serializer(kind: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=f"clinic.accounts.{kind}")


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def _new_token(kind: str, row: Invitation | PasswordReset) -> str:
    """Give `row` a new nonce (any older link dies); return the signed token for the link."""
    nonce = secrets.token_urlsafe(24)
    row.nonce_hash = _digest(nonce)
    db.session.flush()
    return _serializer(kind).dumps([row.id, nonce])


def _read(kind: str, model, token: str, now: datetime | None = None):
    """Return the row a link names, or raise LinkRefused saying clearly what is wrong."""
    try:
        row_id, nonce = _serializer(kind).loads(token)
        row = db.session.get(model, int(row_id))
    except (BadData, ValueError, TypeError, OverflowError):
        raise LinkRefused(400, "This link is damaged", _DAMAGED) from None
    if row is None:
        raise LinkRefused(404, "This link is not known", _ASK_AGAIN[kind])
    if not hmac.compare_digest(row.nonce_hash, _digest(str(nonce))):
        raise LinkRefused(410, "This link was replaced", "A newer link was sent: use that one.")
    if row.used_at is not None:
        raise LinkRefused(410, "This link was used already", _USED[kind])
    if getattr(row, "withdrawn_at", None) is not None:
        raise LinkRefused(410, "This invitation was withdrawn", _ASK_AGAIN[kind])
    if row.expires_at <= (now or utcnow()):
        raise LinkRefused(410, "This link has expired", _ASK_AGAIN[kind])
    return row


_DAMAGED = "Part of the link is missing or changed. Copy the whole link from the e-mail."
_ASK_AGAIN = {
    "invitation": "Ask an admin of the clinic to send you a new invitation.",
    "reset": "Ask for a new link on the sign-in page: “Forgot your password?”.",
}
_USED = {
    "invitation": "Your account is set up: sign in with your e-mail address and password.",
    "reset": "Your password was changed with it. Ask for a new link if you need one.",
}


def _absolute(endpoint: str, **values) -> str:
    """An absolute link for an e-mail, also from a CLI command (which has no request)."""
    context = nullcontext() if has_request_context() else current_app.test_request_context()
    with context:
        return current_app.config["CLINIC_BASE_URL"] + url_for(endpoint, **values)


def _email_context(**values) -> dict:
    config = current_app.config
    return {"site_name": config["CLINIC_NAME"], "site_phone": config["CLINIC_PHONE"], **values}


def invite(email: str, role: str, invited_by: User | None, send: bool = True) -> str:
    """Invite `email` as `role`: withdraw their older invitations, e-mail a new link (unless
    `send` is False); return the link. Audited."""
    email = email.strip().lower()
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if services.find_user(email):
        raise services.Refused(f"There is already an account for {email}.")
    for older in pending_invitations(email):
        older.withdrawn_at = utcnow()
    invitation = Invitation(email=email, role=role, nonce_hash="", expires_at=utcnow())
    invitation.invited_by_id = invited_by.id if invited_by else None
    db.session.add(invitation)
    link = _send_invitation(invitation, send)
    record("invitation_sent", "invitation", invitation.id, detail=f"{email} as {role}")
    return link


def _send_invitation(invitation: Invitation, send: bool) -> str:
    invitation.expires_at = utcnow() + INVITATION_AGE
    link = _absolute("accounts.invitation", token=_new_token("invitation", invitation))
    if send:
        context = _email_context(link=link, invitation=invitation, hours=72)
        subject = f"Your invitation to the {context['site_name']} admin"
        outbox.queue_template(invitation.email, subject, "invitation", context, kind="invitation")
    return link


def pending_invitations(email: str | None = None) -> list[Invitation]:
    """Return the invitations not used or withdrawn (expired ones too: they can be resent)."""
    query = sa.select(Invitation).where(Invitation.used_at.is_(None))
    query = query.where(Invitation.withdrawn_at.is_(None)).order_by(Invitation.created_at)
    if email:
        query = query.where(Invitation.email == email)
    return list(db.session.scalars(query))


def resend(invitation: Invitation) -> None:
    """Send a new link, valid another 72 hours; the old link stops working. Audited."""
    if not invitation.pending:
        raise services.Refused("That invitation was used or withdrawn: invite them again.")
    _send_invitation(invitation, send=True)
    record("invitation_resent", "invitation", invitation.id, detail=invitation.email)


def withdraw(invitation: Invitation) -> None:
    """Stop an invitation's link working. Audited."""
    if not invitation.pending:
        raise services.Refused("That invitation was used or withdrawn already.")
    invitation.withdrawn_at = utcnow()
    record("invitation_withdrawn", "invitation", invitation.id, detail=invitation.email)


def read_invitation(token: str) -> Invitation:
    """Return the pending invitation a link names, or raise LinkRefused."""
    invitation = _read("invitation", Invitation, token)
    if services.find_user(invitation.email):
        raise LinkRefused(410, "This invitation was used already", _USED["invitation"])
    return invitation


def accept(token: str, password: str) -> User:
    """Create the invited account with the password its person chose. Audited."""
    invitation = read_invitation(token)
    if problem := services.password_problem(password, invitation.email):
        raise services.WeakPassword(problem)
    user = services.create_user(invitation.email, password, invitation.role)
    invitation.used_at = utcnow()
    record("invitation_accepted", "user", user.id, detail=f"role {user.role}")
    return user


def request_reset(email: str) -> None:
    """E-mail a reset link when `email` is an active account's. The same work either way
    (token, e-mail rendered, audit entry), so the answer and its time tell nothing; only the
    outbox row is left out for an unknown address."""
    user = services.find_user(email)
    known = user is not None and user.active
    if known:
        reset = PasswordReset(user_id=user.id, nonce_hash="", expires_at=utcnow() + RESET_AGE)
        db.session.add(reset)
        token = _new_token("reset", reset)
    else:  # signed and hashed like a real one, never stored
        token = _serializer("reset").dumps([0, _digest(secrets.token_urlsafe(24))])
    context = _email_context(link=_absolute("accounts.reset", token=token), minutes=60)
    text_body, html_body = _render("password_reset", context)
    if known:
        subject = f"Choose a new password for the {context['site_name']} admin"
        outbox.queue(user.email, subject, text_body, html_body, kind="password_reset")
    record("password_reset_requested", detail=services.typed_address(email))


def _render(template: str, context: dict) -> tuple[str, str]:
    html = render_template(f"email/{template}.html", **context)
    return render_template(f"email/{template}.txt", **context), html


def read_reset(token: str) -> PasswordReset:
    """Return the unused reset a link names, or raise LinkRefused."""
    reset = _read("reset", PasswordReset, token)
    if not db.session.get(User, reset.user_id).active:
        raise LinkRefused(410, "This link has expired", _ASK_AGAIN["reset"])
    return reset


def complete_reset(token: str, password: str) -> User:
    """Set the new password from a reset link: every session and every other reset link of
    the account ends; two-factor is still asked at the next sign-in. Audited."""
    reset = read_reset(token)
    user = db.session.get(User, reset.user_id)
    services.set_new_password(user, password)
    services.end_sessions(user)
    db.session.execute(
        sa.update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    reset.used_at = utcnow()
    record("password_reset", "user", user.id, detail="new password from an e-mailed link")
    return user
