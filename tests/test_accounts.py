"""Accounts: sign-in, one message for failures, lockout, safe `next`, sign-out, passwords, CLI."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from clinic.accounts.models import User
from clinic.accounts.services import MAX_FAILURES
from clinic.audit.models import AuditEntry
from clinic.dbtypes import utcnow
from clinic.extensions import db
from tests.auth_helpers import PASSWORD, csrf_token, login, make_users
from tests.helpers import soup


@pytest.fixture
def users(app):
    return make_users(app)


def test_sign_in_and_out(app, client, users):
    response = login(client, "staff")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/"
    page = client.get("/admin/")
    assert page.status_code == 200
    assert "no-store" in page.headers["Cache-Control"]
    assert "staff@example.test" in page.get_data(as_text=True)
    out = client.post("/admin/logout", data={"csrf_token": csrf_token(client)})
    assert out.status_code == 303
    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize(
    ("email", "password"),
    [("staff@example.test", "wrong password!"), ("nobody@example.test", PASSWORD)],
)
def test_one_message_for_any_failure(app, client, users, email, password):
    response = login(client, email=email, password=password)
    assert response.status_code == 401
    assert "Invalid e-mail or password." in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_lockout_after_repeated_failures(app, client, users):
    for _ in range(MAX_FAILURES):
        assert (
            login(client, email="staff@example.test", password="nope nope nope").status_code == 401
        )
    assert login(client, "staff").status_code == 401, "locked: even the right password fails"
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "staff@example.test"))
        assert user.locked_until > utcnow()
        user.locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert login(client, "staff").status_code == 303


def test_login_is_rate_limited(app, client, users):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    codes = [login(client, email="x@example.test", password="y").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/admin/leads", "/admin/leads"),
        ("https://evil.example/", "/admin/"),
        ("//evil.example/", "/admin/"),
        ("/\\evil.example", "/admin/"),
        ("javascript:alert(1)", "/admin/"),
        ("http:/evil.example", "/admin/"),
    ],
)
def test_next_only_accepts_local_paths(app, client, users, target, expected):
    response = login(client, "staff", next_path=target)
    assert response.headers["Location"] == expected


def test_change_password_ends_other_sessions(app, users):
    mine, other = app.test_client(), app.test_client()
    login(mine, "staff")
    login(other, "staff")
    token = csrf_token(mine, "/admin/account/password")
    new = "a brand new long password"
    data = {"csrf_token": token, "current": PASSWORD, "new": new, "confirm": new}
    assert mine.post("/admin/account/password", data=data).status_code == 303
    assert mine.get("/admin/").status_code == 200
    assert other.get("/admin/").status_code == 302
    assert login(app.test_client(), email="staff@example.test", password=new).status_code == 303


def test_change_password_checks_the_current_one(app, client, users):
    login(client, "staff")
    token = csrf_token(client, "/admin/account/password")
    data = {"csrf_token": token, "current": "wrong", "new": "x" * 12, "confirm": "x" * 12}
    response = client.post("/admin/account/password", data=data)
    assert response.status_code == 422
    assert "not your current password" in response.get_data(as_text=True)


def test_deactivated_user_cannot_sign_in(app, client, users, runner):
    result = runner.invoke(args=["users", "deactivate", "staff@example.test"])
    assert result.exit_code == 0
    assert login(client, "staff").status_code == 401


def test_users_cli_create_and_list(app, runner, monkeypatch):
    monkeypatch.setenv("CLINIC_PASSWORD", "a long enough password")
    result = runner.invoke(args=["users", "create", "New@Example.test", "--role", "marketer"])
    assert result.exit_code == 0, result.output
    listing = runner.invoke(args=["users", "list"]).output
    assert "new@example.test\tmarketer\tactive" in listing
    again = runner.invoke(args=["users", "create", "new@example.test", "--role", "staff"])
    assert again.exit_code != 0 and "already exists" in again.output
    monkeypatch.setenv("CLINIC_PASSWORD", "short")
    weak = runner.invoke(args=["users", "create", "weak@example.test", "--role", "staff"])
    assert weak.exit_code != 0 and "12 characters" in weak.output
    with app.app_context():
        stored = db.session.scalar(
            sa.select(User.password_hash).where(User.email == "new@example.test")
        )
        assert stored.startswith("scrypt:") and "a long enough password" not in stored


def test_users_cli_prompts_for_a_password(app, runner, monkeypatch):
    monkeypatch.delenv("CLINIC_PASSWORD", raising=False)
    pw = "typed at the prompt ok"
    result = runner.invoke(
        args=["users", "create", "p@example.test", "--role", "staff"], input=f"{pw}\n{pw}\n"
    )
    assert result.exit_code == 0, result.output
    assert login(app.test_client(), email="p@example.test", password=pw).status_code == 303


def test_sign_in_is_audited(app, client, users):
    login(client, "staff")
    login(app.test_client(), email="staff@example.test", password="wrong one")
    with app.app_context():
        actions = list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["login", "login_failed"]


def test_audit_entries_cannot_be_changed(app, client, users):
    login(client, "staff")
    with app.app_context():
        entry = db.session.scalar(sa.select(AuditEntry))
        entry.detail = "rewritten"
        with pytest.raises(PermissionError):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.scalar(sa.select(AuditEntry)))
        with pytest.raises(PermissionError):
            db.session.flush()
        db.session.rollback()


def test_login_page_has_no_error_before_submitting(app, client):
    page = soup(client.get("/admin/login"))
    assert page.select_one("input[name=csrf_token]")
    assert not page.select(".error-summary")
