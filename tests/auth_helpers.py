"""Signing in as each role, the way a person does: the login form, then the code that an
authenticator app with the test users' known secret shows (computed with pyotp)."""

from datetime import timedelta
from urllib.parse import urlsplit

import pyotp
import sqlalchemy as sa

from clinic.accounts.models import User
from clinic.accounts.services import create_user
from clinic.dbtypes import utcnow
from clinic.extensions import db
from tests.helpers import soup

PASSWORD = "correct horse battery staple"
ROLE_EMAILS = {role: f"{role}@example.test" for role in ("admin", "staff", "marketer")}
# The test users' authenticator secret (base32), as if their phones had scanned it.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def make_user(email: str, role: str, password: str = PASSWORD) -> User:
    """Create an active user enrolled in two-factor with TOTP_SECRET (flushed)."""
    user = create_user(email, password, role)
    user.totp_secret = TOTP_SECRET
    return user


def make_users(app) -> dict[str, int]:
    """Create one active, enrolled user per role; return their ids."""
    with app.app_context():
        ids = {role: make_user(email, role).id for role, email in ROLE_EMAILS.items()}
        db.session.commit()
    return ids


def form_data(page) -> dict:
    """The hidden inputs of a page's form (CSRF token, next)."""
    return {i["name"]: i.get("value", "") for i in page.select("form input[type=hidden]")}


def login(
    client,
    role: str | None = None,
    email: str | None = None,
    password: str = PASSWORD,
    next_path: str | None = None,
    code: str | None = None,
    **request,
):
    """Post the login form with a real CSRF token, then the code when one is asked for (the
    current one unless `code` is given); return the last response."""
    query = f"?next={next_path}" if next_path else ""
    data = form_data(soup(client.get("/admin/login" + query, **request)))
    data.update(email=email or ROLE_EMAILS[role], password=password)
    response = client.post("/admin/login", data=data, **request)
    if urlsplit(response.headers.get("Location", "")).path != "/admin/login/code":
        return response
    return enter_code(client, code or current_code(client.application, data["email"]), **request)


def enter_code(client, code: str, **request):
    """Post the second step of signing in; return the response."""
    data = form_data(soup(client.get("/admin/login/code", **request)))
    return client.post("/admin/login/code", data={**data, "code": code}, **request)


def current_code(app, email: str, offset_steps: int = 0) -> str:
    """The code `email`'s authenticator shows now (or `offset_steps` steps away).

    Tests sign the same person in many times within one 30 s step, which the app refuses as
    a replay: forget the last step used first, as if the next step had come."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
        user.totp_last_step = None
        db.session.commit()
        secret = user.totp_secret
    return pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=30 * offset_steps))


def csrf_token(client, path: str = "/admin/") -> str:
    """Read a CSRF token from an admin page (the session must be signed in)."""
    return soup(client.get(path)).select_one("input[name=csrf_token]")["value"]
