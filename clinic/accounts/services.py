"""Sign-in rules: one answer for any failure, a lock after repeated failures from one IP
address that a browser the person signed in from before gets past (OWASP's device cookies)."""

import secrets
import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, request, session
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from clinic.accounts import sessions, twofactor
from clinic.accounts.models import ROLES, LoginThrottle, User
from clinic.audit.services import record
from clinic.dbtypes import utcnow
from clinic.extensions import db

MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
MIN_PASSWORD_SCORE = 3  # zxcvbn: 3 is "safely unguessable" against an offline attack on a hash
# Checked when the e-mail is unknown, so that a wrong address costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")

DEVICE_COOKIE = "device"
DEVICE_SALT = "clinic.accounts.device"
DEVICE_COOKIE_AGE = timedelta(days=365)
DEVICE_ACCOUNTS = 10  # a shared reception computer keeps trusting each of its people
# Failures from one trusted browser, counted on its nonce by the limiter (views.py): a stolen
# device cookie guesses no faster than the account lock lets anyone else.
DEVICE_FAILURE_LIMIT = f"{MAX_FAILURES} per {LOCK_FOR.seconds // 60} minutes"


def typed_address(typed: str) -> str:
    """What the audit log keeps of a failed sign-in's e-mail box: an address, never a
    password typed into the wrong box."""
    typed = typed.strip().lower()
    return typed[:254] if "@" in typed and " " not in typed else "(not an e-mail address)"


def find_user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def authenticate(
    email: str,
    password: str,
    device: str | None = None,
    ip: str = "",
    now: datetime | None = None,
) -> User | None:
    """Return the user when the e-mail and password match an active account that is unlocked
    for this IP address, or locked but asked from a browser its person signed in from
    (`device`, the cookie); a refusal is audited with the address typed."""
    user = _password_matches(email, password, device, ip, now)
    if user is None:
        record("login_failed", detail=typed_address(email))
    return user


def _password_matches(
    email: str,
    password: str,
    device: str | None = None,
    ip: str = "",
    now: datetime | None = None,
) -> User | None:
    now = now or utcnow()
    user = find_user(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    trusted = device_vouches_for(device, user)
    locked = is_locked(user, ip, now)
    if not user.active or (locked and not trusted):
        user.check_password(password)  # as slow as any other refusal: nothing to tell apart
        return None
    if not user.check_password(password):
        if not trusted:  # a trusted browser's failures count on the browser, not the account
            count_failure(user, ip, now)
        return None
    if not locked:  # a lock that others' guesses set stands until it runs out
        forget_failures(user, ip)
    return user


def throttle_of(user: User, ip: str) -> LoginThrottle | None:
    """Return the failure count of `user` from `ip`, if any failed."""
    return db.session.get(LoginThrottle, (user.id, ip))


def is_locked(user: User, ip: str, now: datetime | None = None) -> bool:
    """Tell whether repeated failures from `ip` locked `user` there."""
    throttle = throttle_of(user, ip)
    return bool(throttle and throttle.locked_until and throttle.locked_until > (now or utcnow()))


def count_failure(user: User, ip: str, now: datetime, code: bool = False) -> bool:
    """Count a wrong password (or, with `code`, a wrong second-step code) from `ip`; lock the
    account there at MAX_FAILURES; return whether it is locked now."""
    throttle = throttle_of(user, ip)
    if throttle is None:
        throttle = LoginThrottle(user_id=user.id, ip_address=ip, failures=0, code_failures=0)
        db.session.add(throttle)
    field = "code_failures" if code else "failures"
    setattr(throttle, field, getattr(throttle, field) + 1)
    if getattr(throttle, field) >= MAX_FAILURES:
        throttle.locked_until = now + LOCK_FOR
        throttle.failures = throttle.code_failures = 0
        return True
    return False


def forget_failures(user: User, ip: str, code: bool = False) -> None:
    """Clear the wrong passwords counted for `user` from `ip` (with `code`, the wrong codes
    too: the password alone must not give a code guesser a fresh count)."""
    throttle = throttle_of(user, ip)
    if throttle is None:
        return
    throttle.failures = 0
    if code:
        throttle.code_failures = 0
    if not throttle.code_failures and not is_locked(user, ip):
        db.session.delete(throttle)


PENDING_KEY = "pending_sign_in"
PENDING_SALT = "clinic.accounts.pending-sign-in"
PENDING_AGE = timedelta(minutes=5)


def _pending_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=PENDING_SALT)


def start_pending(user: User, next_path: str) -> None:
    """Remember, for five minutes, that this browser gave `user`'s password: not a signed-in
    session (nothing opens with it), only the right to try the second step."""
    marker = [user.id, user.session_stamp, next_path]
    session[PENDING_KEY] = _pending_serializer().dumps(marker)


def pending_sign_in() -> tuple[User | None, str]:
    """Return the user whose password this browser gave, and where to go next; or None."""
    try:
        user_id, stamp, next_path = _pending_serializer().loads(
            session.get(PENDING_KEY, ""), max_age=PENDING_AGE.total_seconds()
        )
        user = db.session.get(User, int(user_id))
    except (BadData, ValueError, TypeError):
        return None, ""
    if user is None or not user.active or user.session_stamp != stamp:
        return None, ""
    return user, str(next_path)


def second_factor(
    user: User, code: str, device: str | None, ip: str, now: datetime | None = None
) -> str | None:
    """Check the second step; return how it passed ("authenticator code", or "recovery code,
    N left") or None, counting a failure like a wrong password (per account and IP address,
    or on the trusted browser) and auditing it."""
    how = _code_matches(user, code, device, ip, now)
    if how is None:
        record("login_code_failed", "user", user.id)
    return how


def _code_matches(
    user: User, code: str, device: str | None, ip: str, now: datetime | None = None
) -> str | None:
    now = now or utcnow()
    trusted = device_vouches_for(device, user)
    if is_locked(user, ip, now) and not trusted:
        return None
    if twofactor.accept_code(user, code, now):
        forget_failures(user, ip, code=True)
        return "authenticator code"
    left = twofactor.use_recovery_code(user, code)
    if left is not None:
        forget_failures(user, ip, code=True)
        return f"recovery code, {left} left"
    if not trusted:  # a trusted browser's failures count on the browser (views.py)
        count_failure(user, ip, now, code=True)
    return None


def reset_two_factor(user: User, acting: User) -> None:
    """Turn off a colleague's two-factor (a lost phone) and sign them out everywhere; they
    enrol again at their next sign-in. Audited."""
    if user.id == acting.id:
        raise Refused("You cannot reset your own two-factor. Ask another admin to do it.")
    twofactor.reset(user)
    end_sessions(user)
    record("two_factor_reset", "user", user.id, detail=f"two-factor reset for {user.email}")


def device_stamp(user: User) -> str:
    """What a device cookie must carry for `user`: a password change makes older ones worthless.

    Not tied to `sessions_ended_at`: every sign-out sets it, and a browser that signs out each
    evening is just the one this cookie is for. Deactivation needs nothing here: a deactivated
    account is refused, cookie or not."""
    return f"{user.password_changed_at.timestamp():.6f}"


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=DEVICE_SALT)


def read_device(device: str | None) -> dict:
    """Return the device cookie's content, or {} when it is missing, forged or too old."""
    if not device:
        return {}
    try:
        content = _device_serializer().loads(device, max_age=DEVICE_COOKIE_AGE.total_seconds())
    except BadData:  # a bad or expired signature, or not ours at all
        return {}
    return content if isinstance(content, dict) else {}


def device_vouches_for(device: str | None, user: User) -> bool:
    """Tell whether the device cookie says this browser signed in as `user` (same password)."""
    return [user.id, device_stamp(user)] in read_device(device).get("accounts", [])


def device_cookie(user: User, device: str | None) -> str:
    """Sign a new device cookie naming `user` first, then the other accounts it named; a new
    nonce each time, so a success starts the browser's failure count anew."""
    others = [e for e in read_device(device).get("accounts", []) if e[0] != user.id]
    accounts = [[user.id, device_stamp(user)], *others][:DEVICE_ACCOUNTS]
    return _device_serializer().dumps({"nonce": secrets.token_urlsafe(16), "accounts": accounts})


def password_problem(password: str, email: str = "") -> str | None:
    """Return why a new password is not acceptable (too short, or easy to guess according to
    zxcvbn's offline lists of common passwords, names and words), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    # zxcvbn slows down on very long input; the first 100 characters tell enough.
    verdict = zxcvbn(password[:100], user_inputs=[email, *email.split("@")] if email else [])
    if verdict["score"] >= MIN_PASSWORD_SCORE:
        return None
    feedback = verdict["feedback"]
    reasons = [feedback.get("warning") or "This password is easy to guess."]
    return " ".join([*reasons, *feedback.get("suggestions", [])])


class WeakPassword(ValueError):
    """The new password breaks the password rules; the message says why."""


def set_new_password(user: User, password: str) -> None:
    """Give `user` a new password that passes the rules; every session cookie so far ends."""
    if problem := password_problem(password, user.email):
        raise WeakPassword(problem)
    user.set_password(password)


def create_user(email: str, password: str, role: str) -> User:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if problem := password_problem(password, email):
        raise WeakPassword(problem)
    if find_user(email):
        raise ValueError(f"a user with e-mail {email} already exists")
    user = User(email=email.strip().lower(), role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def deactivate(email: str) -> User:
    user = find_user(email)
    if user is None:
        raise ValueError(f"no user with e-mail {email}")
    user.active = False
    return user


def signed_in(user: User, how: str) -> None:
    """Note a sign-in (after the second step, or the password alone), audited with how."""
    user.last_login_at = utcnow()
    record("login", "user", user.id, detail=how)


def sign_out(user: User) -> None:
    """Sign out everywhere on request, audited."""
    record("logout", "user", user.id)
    end_sessions(user)


def change_own_password(user: User, password: str, keep: str | None) -> None:
    """Change one's own password (WeakPassword if it breaks the rules): every other session
    ends, the one whose token is `keep` goes on. Audited."""
    set_new_password(user, password)
    sessions.end_all(user, keep=keep)
    record("password_changed", "user", user.id)


def end_sessions(user: User) -> None:
    """Sign the account out everywhere: every session cookie issued so far stops working."""
    user.sessions_ended_at = utcnow()
    sessions.end_all(user)


def load_user(user_id: str) -> User | None:
    """Load the session's user; a session from before a password change or a sign-out, one
    ended on the account page, or older than the longest a session may last, is refused."""
    signed_in_at = session.get("signed_in_at")
    max_age = current_app.config["SESSION_MAX_HOURS"] * 3600
    if not isinstance(signed_in_at, int | float) or time.time() - signed_in_at > max_age:
        return None
    try:
        raw_id, stamp = user_id.split(":")
        user = db.session.get(User, int(raw_id))
    except (ValueError, TypeError):
        return None
    if user is None or user.session_stamp != stamp:
        return None
    record = sessions.find_live(session.get(sessions.SESSION_KEY), user.id)
    if record is None:  # ended on the account page, or from before session records
        return None
    sessions.touch(record, request.remote_addr or "")
    return user


class Refused(Exception):
    """The change would lock the acting admin out, or break a rule, so it is not made."""


def change_role(user: User, role: str, acting: User) -> str:
    """Give `user` another role, audited; return what changed."""
    if user.id == acting.id:
        raise Refused("You cannot change your own role. Ask another admin to do it.")
    before, user.role = user.role, role
    detail = f"role {before} → {role}"
    if user.may_export and role != "staff":  # a grant is for one staff account, not a role
        user.may_export = False
        detail += "; may export withdrawn"
    record("user_changed", "user", user.id, detail=detail)
    return detail


def set_may_export(user: User, allowed: bool, how: str = "") -> str:
    """Grant or withdraw a staff account's exports, audited; return what changed."""
    if user.role == "marketer":
        raise Refused(
            "Marketers can never export leads or patients' data. "
            "Change their role to staff first if they now follow up leads."
        )
    if user.role == "admin":
        raise Refused("Admins may always export: only staff accounts need the permission.")
    user.may_export = allowed
    detail = f"may export {'granted to' if allowed else 'withdrawn from'} {user.email}"
    record("user_changed", "user", user.id, detail=detail + how)
    return detail


def set_active(user: User, active: bool, acting: User) -> str:
    """Let `user` sign in again, or stop them, audited; return what changed."""
    if user.id == acting.id and not active:
        raise Refused("You cannot deactivate your own account. Ask another admin to do it.")
    user.active = active
    detail = "reactivated" if active else "deactivated"
    record("user_changed", "user", user.id, detail=detail)
    return detail
