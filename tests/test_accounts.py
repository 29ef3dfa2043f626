"""Accounts: sign-in, one message for failures, lockout, safe `next`, sign-out, passwords, CLI."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from clinic.accounts import services
from clinic.accounts.models import User
from clinic.accounts.services import MAX_FAILURES
from clinic.audit.models import AuditEntry
from clinic.dbtypes import utcnow
from clinic.extensions import db
from tests.auth_helpers import PASSWORD, csrf_token, login, make_users
from tests.helpers import soup

LOCAL = "127.0.0.1"  # the test client's address


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
        assert services.is_locked(user, LOCAL)
        services.throttle_of(user, LOCAL).locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert login(client, "staff").status_code == 303


def test_guessing_from_one_address_locks_only_that_address(app, client, users):
    for _ in range(MAX_FAILURES):
        assert login(client, email="staff@example.test", password="nope nope").status_code == 401
    assert login(app.test_client(), "staff").status_code == 401, "same address: locked"
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert login(elsewhere, "staff").status_code == 303, "a colleague elsewhere gets in"
    with app.app_context():
        user = services.find_user("staff@example.test")
        assert services.is_locked(user, LOCAL) and not services.is_locked(user, "192.0.2.7")


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short one", "12 characters"),
        ("password1234", "common password"),
        ("aaaaaaaaaaaaaaa", "Repeats"),
        ("staff@example.test!", "easy to guess"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(app, password, reason):
    with app.app_context():
        problem = services.password_problem(password, "staff@example.test")
    assert problem and reason in problem
    with app.app_context():
        assert services.password_problem("tulip quarry lantern violet") is None


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


def test_signing_out_ends_a_copied_session_cookie(app, users):
    """Sessions are signed cookies: a copy taken before signing out must stop working."""
    browser = app.test_client()
    login(browser, "staff")
    copy = app.test_client()
    cookie = browser.get_cookie("session")
    copy.set_cookie("session", cookie.value)
    assert copy.get("/admin/leads").status_code == 200
    browser.post("/admin/logout", data={"csrf_token": csrf_token(browser)})
    assert copy.get("/admin/leads").status_code == 302
    assert login(app.test_client(), "staff").status_code == 303, "signing in again works"


def test_a_session_ends_after_its_longest_life(app, client, users):
    login(client, "staff")
    assert client.get("/admin/leads").status_code == 200
    with client.session_transaction() as session:
        session["signed_in_at"] -= app.config["SESSION_MAX_HOURS"] * 3600 + 1
    assert client.get("/admin/leads").status_code == 302


def test_a_locked_account_costs_a_password_check_like_any_other(app, users, monkeypatch):
    """Refusing a locked or deactivated account before hashing would tell which accounts exist."""
    with app.app_context():
        user = services.find_user("staff@example.test")
        for _ in range(MAX_FAILURES):
            services.count_failure(user, LOCAL, utcnow())
        checked = []
        monkeypatch.setattr(User, "check_password", lambda self, pw: checked.append(pw))
        assert services.authenticate("staff@example.test", PASSWORD, ip=LOCAL) is None
        services.throttle_of(user, LOCAL).locked_until, user.active = None, False
        assert services.authenticate("staff@example.test", PASSWORD, ip=LOCAL) is None
        db.session.rollback()
    assert checked == [PASSWORD, PASSWORD]


def test_a_password_typed_into_the_email_box_is_not_audited(app, client, users):
    login(client, email="my secret password", password="x")
    login(client, email="Someone@Example.test", password="x")
    with app.app_context():
        details = list(db.session.scalars(sa.select(AuditEntry.detail).order_by(AuditEntry.id)))
    assert details == ["(not an e-mail address)", "someone@example.test"]


def test_a_page_of_another_role_says_so_and_links_back(app, client, users):
    login(client, "marketer")
    response = client.get("/admin/leads")
    assert response.status_code == 403
    page = soup(response)
    assert page.h1.get_text() == "Your account cannot open this page"
    assert page.select_one('a[href="/admin/"]')


def test_a_form_sent_after_signing_out_says_nothing_was_saved(app, users):
    """The session cookie is gone (signed out elsewhere, or expired): the form's token with it."""
    browser = app.test_client()
    login(browser, "staff")
    token = csrf_token(browser, "/admin/account/password")
    browser.delete_cookie("session")
    response = browser.post("/admin/account/password", data={"csrf_token": token})
    assert response.status_code == 400
    assert "Nothing was saved" in soup(response).h1.get_text()


def test_accounts_made_or_stopped_on_the_command_line_are_audited(app, runner, monkeypatch):
    monkeypatch.setenv("CLINIC_PASSWORD", "a long enough password")
    assert (
        runner.invoke(args=["users", "create", "cli@example.test", "--role", "staff"]).exit_code
        == 0
    )
    assert runner.invoke(args=["users", "deactivate", "cli@example.test"]).exit_code == 0
    with app.app_context():
        entries = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.detail, e.user_email) for e in entries] == [
        ("user_created", "role staff (command line)", "system"),
        ("user_changed", "deactivated (command line)", "system"),
    ]


def test_exports_granted_and_withdrawn_on_the_command_line_are_audited(app, runner, users):
    granted = runner.invoke(args=["users", "grant-export", "Staff@Example.test"])
    assert granted.exit_code == 0, granted.output
    assert (
        "staff@example.test\tstaff\tactive\tmay export"
        in runner.invoke(args=["users", "list"]).output
    )
    assert runner.invoke(args=["users", "withdraw-export", "staff@example.test"]).exit_code == 0
    marketer = runner.invoke(args=["users", "grant-export", "marketer@example.test"])
    assert marketer.exit_code != 0 and "Marketers can never export" in marketer.output
    unknown = runner.invoke(args=["users", "grant-export", "nobody@example.test"])
    assert unknown.exit_code != 0 and "no user" in unknown.output
    with app.app_context():
        entries = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
        assert not db.session.get(User, users["marketer"]).may_export
    assert {(e.action, e.target_id, e.user_email) for e in entries} == {
        ("user_changed", users["staff"], "system")
    }
    assert [e.detail for e in entries] == [
        "may export granted to staff@example.test (command line)",
        "may export withdrawn from staff@example.test (command line)",
    ]


def test_a_request_over_the_size_limit_is_refused_before_it_is_read(app, client):
    response = client.post("/admin/login", data={"email": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert "too large" in soup(response).h1.get_text()
