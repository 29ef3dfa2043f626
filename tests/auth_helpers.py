"""Signing in as each role, the way a person does: through the login form."""

from clinic.accounts.services import create_user
from clinic.extensions import db
from tests.helpers import soup

PASSWORD = "correct horse battery staple"
ROLE_EMAILS = {role: f"{role}@example.test" for role in ("admin", "staff", "marketer")}


def make_users(app) -> dict[str, int]:
    """Create one active user per role; return their ids."""
    with app.app_context():
        ids = {role: create_user(email, PASSWORD, role).id for role, email in ROLE_EMAILS.items()}
        db.session.commit()
    return ids


def login(
    client,
    role: str | None = None,
    email: str | None = None,
    password: str = PASSWORD,
    next_path: str | None = None,
):
    """Post the login form with a real CSRF token; return the response."""
    page = soup(client.get("/admin/login" + (f"?next={next_path}" if next_path else "")))
    data = {i["name"]: i.get("value", "") for i in page.select("form input[type=hidden]")}
    data.update(email=email or ROLE_EMAILS[role], password=password)
    return client.post("/admin/login", data=data)


def csrf_token(client, path: str = "/admin/") -> str:
    """Read a CSRF token from an admin page (the session must be signed in)."""
    return soup(client.get(path)).select_one("input[name=csrf_token]")["value"]
