"""Two-factor sign-in: enrolment, the second step, replays, drift, recovery codes, the lock on
wrong codes, an admin's reset, and who must use it."""

from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa

from clinic.accounts import services, twofactor
from clinic.accounts.models import RecoveryCode, User
from clinic.accounts.services import MAX_FAILURES
from clinic.audit.models import AuditEntry
from clinic.extensions import db
from tests.auth_helpers import (
    PASSWORD,
    ROLE_EMAILS,
    csrf_token,
    current_code,
    enter_code,
    form_data,
    login,
    make_users,
)
from tests.helpers import soup

STAFF = ROLE_EMAILS["staff"]
LOCAL = "127.0.0.1"


@pytest.fixture
def users(app):
    app.config["LOGIN_RATE_LIMIT"] = "100 per minute"
    return make_users(app)


def new_account(app, email="new@example.test", role="staff") -> int:
    """An account made on the command line: a password, no two-factor yet."""
    with app.app_context():
        user = services.create_user(email, PASSWORD, role)
        db.session.commit()
        return user.id


def enrol_through_the_page(client) -> tuple[str, list[str]]:
    """Read the key from the enrolment page as a person types it; return it and the codes."""
    page = soup(client.get("/admin/account/two-factor"))
    secret = page.select_one("#totp-secret").get_text().replace(" ", "")
    assert page.select_one("img.qr-code")["src"].startswith("data:image/svg+xml")
    data = {**form_data(page), "code": pyotp.TOTP(secret).now()}
    response = client.post("/admin/account/two-factor", data=data)
    assert response.status_code == 200
    codes = [c.get_text() for c in soup(response).select(".recovery-codes code")]
    return secret, codes


def password_step(client, email=STAFF, password=PASSWORD):
    data = {**form_data(soup(client.get("/admin/login"))), "email": email, "password": password}
    return client.post("/admin/login", data=data)


def test_an_account_without_two_factor_enrols_before_anything_else(app, client):
    new_account(app)
    response = password_step(client, "new@example.test")
    assert response.headers["Location"] == "/admin/account/two-factor"
    for path in ("/admin/leads", "/admin/", "/admin/account/password"):
        assert client.get(path).headers["Location"] == "/admin/account/two-factor", path
    secret, codes = enrol_through_the_page(client)
    assert len(codes) == twofactor.RECOVERY_CODES == len(set(codes))
    assert client.get("/admin/leads").status_code == 200
    with app.app_context():
        user = services.find_user("new@example.test")
        assert user.totp_secret == secret
        stored = db.session.scalars(sa.select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not any(code in h for code in codes for h in stored)


def test_a_wrong_code_at_enrolment_turns_nothing_on(app, client):
    new_account(app)
    password_step(client, "new@example.test")
    page = soup(client.get("/admin/account/two-factor"))
    response = client.post("/admin/account/two-factor", data={**form_data(page), "code": "000000"})
    assert response.status_code == 422
    assert "not right" in response.get_data(as_text=True)
    with app.app_context():
        assert services.find_user("new@example.test").totp_secret is None


def test_the_password_alone_is_not_a_signed_in_session(app, client, users):
    response = password_step(client)
    assert response.headers["Location"] == "/admin/login/code"
    assert client.get("/admin/leads").status_code == 302, "half signed in opens nothing"
    with client.session_transaction() as session:
        assert "_user_id" not in session
    assert enter_code(client, current_code(app, STAFF)).headers["Location"] == "/admin/"
    assert client.get("/admin/leads").status_code == 200


def test_a_wrong_code_is_refused(app, client, users):
    response = login(client, "staff", code="123456")
    assert response.status_code == 401
    assert "not right" in response.get_data(as_text=True)
    assert client.get("/admin/leads").status_code == 302


def test_a_code_is_accepted_once_only(app, users):
    code = current_code(app, STAFF)
    assert login(app.test_client(), "staff", code=code).status_code == 303
    assert login(app.test_client(), "staff", code=code).status_code == 401, "replayed"


@pytest.mark.parametrize(("offset", "status"), [(-1, 303), (1, 303), (-2, 401), (2, 401)])
def test_one_step_of_clock_drift_is_allowed(app, client, users, offset, status):
    code = current_code(app, STAFF, offset_steps=offset)
    assert login(client, "staff", code=code).status_code == status


def test_the_code_step_expires(app, client, users, monkeypatch):
    password_step(client)
    data = {**form_data(soup(client.get("/admin/login/code"))), "code": current_code(app, STAFF)}
    monkeypatch.setattr(services, "PENDING_AGE", timedelta(seconds=-1))  # already too old
    response = client.post("/admin/login/code", data=data)
    assert response.headers["Location"] == "/admin/login"
    assert client.get("/admin/leads").status_code == 302


def test_recovery_codes_are_single_use_and_counted(app, client):
    new_account(app)
    password_step(client, "new@example.test")
    _, codes = enrol_through_the_page(client)
    client.post("/admin/logout", data={"csrf_token": csrf_token(client)})
    response = login(client, email="new@example.test", code=codes[0].upper())
    assert response.status_code == 303
    assert "recovery code, 9 left" in client.get("/admin/").get_data(as_text=True)
    assert "9 unused recovery codes" in client.get("/admin/account/two-factor").get_data(
        as_text=True
    )
    client.post("/admin/logout", data={"csrf_token": csrf_token(client)})
    assert login(app.test_client(), email="new@example.test", code=codes[0]).status_code == 401
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEntry.action)).all()
    assert "recovery_code_used" in actions and "two_factor_enrolled" in actions


def test_a_new_set_of_recovery_codes_replaces_the_old(app, client):
    new_account(app)
    password_step(client, "new@example.test")
    _, old = enrol_through_the_page(client)
    token = csrf_token(client, "/admin/account/two-factor")
    response = client.post("/admin/account/two-factor/recovery-codes", data={"csrf_token": token})
    new = [c.get_text() for c in soup(response).select(".recovery-codes code")]
    assert len(new) == 10 and not set(new) & set(old)
    assert login(app.test_client(), email="new@example.test", code=old[1]).status_code == 401
    assert login(app.test_client(), email="new@example.test", code=new[1]).status_code == 303


def test_wrong_codes_lock_the_account_for_this_address(app, users):
    for _ in range(MAX_FAILURES - 1):
        assert login(app.test_client(), "staff", code="000000").status_code == 401
    last = login(app.test_client(), "staff", code="000000")
    assert last.status_code == 401 and "15 minutes" in last.get_data(as_text=True)
    assert login(app.test_client(), "staff").status_code == 401, "locked here, right code or not"
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert login(elsewhere, "staff").status_code == 303
    with app.app_context():
        assert services.is_locked(services.find_user(STAFF), LOCAL)


def test_the_right_password_clears_wrong_passwords_but_not_wrong_codes(app, users):
    wrong = "a wrong password guess"
    for _ in range(MAX_FAILURES - 1):
        assert login(app.test_client(), "staff", password=wrong).status_code == 401
    for _ in range(MAX_FAILURES - 1):
        assert login(app.test_client(), "staff", code="000000").status_code == 401
    with app.app_context():
        throttle = services.throttle_of(services.find_user(STAFF), LOCAL)
        assert (throttle.failures, throttle.code_failures) == (0, MAX_FAILURES - 1)
    last = login(app.test_client(), "staff", code="000000")
    assert "15 minutes" in last.get_data(as_text=True), "a fresh password step gave no new count"


def test_a_right_code_clears_the_count_of_wrong_codes(app, users):
    for _ in range(MAX_FAILURES - 1):
        assert login(app.test_client(), "staff", code="000000").status_code == 401
    assert login(app.test_client(), "staff").status_code == 303
    assert login(app.test_client(), "staff", code="000000").status_code == 401
    with app.app_context():
        assert services.throttle_of(services.find_user(STAFF), LOCAL).code_failures == 1


def test_an_admin_resets_a_colleagues_two_factor(app, users):
    colleague = app.test_client()
    login(colleague, "staff")
    admin = app.test_client()
    login(admin, "admin")
    token = csrf_token(admin, "/admin/users")
    response = admin.post(
        f"/admin/users/{users['staff']}/reset-two-factor", data={"csrf_token": token}
    )
    assert response.status_code == 303
    assert colleague.get("/admin/leads").status_code == 302, "signed out everywhere"
    again = password_step(app.test_client())
    assert again.headers["Location"] == "/admin/account/two-factor", "enrols again"
    own = admin.post(f"/admin/users/{users['admin']}/reset-two-factor", data={"csrf_token": token})
    assert own.status_code == 409
    with app.app_context():
        entry = db.session.scalar(
            sa.select(AuditEntry).where(AuditEntry.action == "two_factor_reset")
        )
        assert (entry.user_email, entry.target_id) == (ROLE_EMAILS["admin"], users["staff"])
        assert db.session.scalar(sa.select(sa.func.count(RecoveryCode.id))) == 0


def test_marketers_need_two_factor_unless_an_admin_turns_the_setting_off(app, users):
    new_account(app, "writer@example.test", "marketer")
    assert password_step(app.test_client(), "writer@example.test").headers["Location"] == (
        "/admin/account/two-factor"
    )
    admin = app.test_client()
    login(admin, "admin")
    token = csrf_token(admin, "/admin/users")
    assert admin.post("/admin/users/settings", data={"csrf_token": token}).status_code == 303
    marketer = app.test_client()
    assert password_step(marketer, "writer@example.test").headers["Location"] == "/admin/"
    assert marketer.get("/admin/content/").status_code in (200, 302)
    new_account(app, "nurse@example.test", "staff")
    staff = password_step(app.test_client(), "nurse@example.test")
    assert staff.headers["Location"] == "/admin/account/two-factor", "staff always"
    with app.app_context():
        entry = db.session.scalar(
            sa.select(AuditEntry).where(AuditEntry.action == "setting_changed")
        )
        assert entry.detail == "two-factor for everyone: not required"
        assert not twofactor.required_for(db.session.get(User, users["marketer"]))
