"""Two-factor sign-in (TOTP, RFC 6238): who must use it, enrolment, codes accepted once,
single-use recovery codes."""

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
import sqlalchemy as sa

from clinic.accounts.models import AccountSettings, RecoveryCode, User
from clinic.audit.services import record
from clinic.dbtypes import utcnow
from clinic.extensions import db

ROLES_THAT_SEE_PATIENTS = ("admin", "staff")
VALID_WINDOW = 1  # pyotp's valid_window: one 30 s step of clock drift either way
RECOVERY_CODES = 10
ISSUER = "ProHealth Clinic"


def settings() -> AccountSettings:
    """Return the sign-in settings row, made with the defaults when missing (flushed)."""
    row = db.session.get(AccountSettings, 1)
    if row is None:
        row = AccountSettings(id=1, two_factor_for_everyone=True)
        db.session.add(row)
        db.session.flush()
    return row


def set_for_everyone(required: bool) -> None:
    """Require two-factor of marketers too, or only of the roles that see patients (audited)."""
    settings().two_factor_for_everyone = required
    state = "required" if required else "not required"
    record("setting_changed", detail=f"two-factor for everyone: {state}")


def required_for(user: User) -> bool:
    """Tell whether `user` must sign in with a second factor."""
    if user.role in ROLES_THAT_SEE_PATIENTS:
        return True
    row = db.session.get(AccountSettings, 1)
    return row is None or row.two_factor_for_everyone


def needs_enrolment(user: User) -> bool:
    """Tell whether `user` must enrol before reaching any other admin page."""
    return user.totp_secret is None and required_for(user)


def new_secret() -> str:
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_data_uri(secret: str, email: str) -> str:
    """The enrolment QR code as an SVG data: URI (the CSP allows data: images, not scripts)."""
    return segno.make(provisioning_uri(secret, email), error="m").svg_data_uri(scale=5, border=2)


def grouped(secret: str) -> str:
    """Show a secret in groups of four, easier to type into an app."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def matching_step(secret: str, code: str, now: datetime | None = None) -> int | None:
    """Return the time step `code` belongs to, within VALID_WINDOW steps of now, or None."""
    totp, moment = pyotp.TOTP(secret), now or utcnow()
    current = totp.timecode(moment)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def enrol(user: User, secret: str, code: str, now: datetime | None = None) -> list[str] | None:
    """Turn on two-factor when `code` proves the app has `secret`; return new recovery codes."""
    step = matching_step(secret, _digits(code), now)
    if step is None:
        return None
    user.totp_secret, user.totp_last_step = secret, step
    record("two_factor_enrolled", "user", user.id)
    return new_recovery_codes(user)


def accept_code(user: User, code: str, now: datetime | None = None) -> bool:
    """Accept a current code once: a step at or before the last one used is a replay."""
    step = matching_step(user.totp_secret or "", _digits(code), now)
    if step is None:
        return False
    # One conditional UPDATE, so two requests racing with the same code cannot both win.
    claimed = db.session.execute(
        sa.update(User)
        .where(User.id == user.id)
        .where(sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount == 1:
        user.totp_last_step = step
    return claimed.rowcount == 1


def _digits(code: str) -> str:
    return "".join(code.split())


def renew_recovery_codes(user: User) -> list[str]:
    """Replace one's recovery codes on request (audited); return them, to show once."""
    record("recovery_codes_renewed", "user", user.id)
    return new_recovery_codes(user)


def new_recovery_codes(user: User) -> list[str]:
    """Replace `user`'s recovery codes with RECOVERY_CODES new ones; return them, to show once."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(c)) for c in codes)
    db.session.flush()
    return codes


def _recovery_code() -> str:
    raw = secrets.token_hex(5)  # 40 random bits, shown as two groups of five
    return f"{raw[:5]}-{raw[5:]}"


def _hash(code: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(8)
    return f"{salt}${hashlib.sha256((salt + _normal(code)).encode()).hexdigest()}"


def _normal(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def use_recovery_code(user: User, code: str) -> int | None:
    """Spend one of `user`'s recovery codes; return how many are left, or None if none match."""
    for stored in unused_recovery_codes(user):
        salt, _ = stored.code_hash.split("$", 1)
        if hmac.compare_digest(stored.code_hash, _hash(code, salt)):
            spent = db.session.execute(
                sa.update(RecoveryCode)
                .where(RecoveryCode.id == stored.id, RecoveryCode.used_at.is_(None))
                .values(used_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if spent.rowcount != 1:
                return None  # spent a moment ago by another request
            left = len(unused_recovery_codes(user))
            record("recovery_code_used", "user", user.id, detail=f"{left} left")
            return left
    return None


def unused_recovery_codes(user: User) -> list[RecoveryCode]:
    query = sa.select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
    )
    return list(db.session.scalars(query))


def reset(user: User) -> None:
    """Turn two-factor off for `user` (a lost phone): they enrol again at next sign-in."""
    user.totp_secret = user.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
