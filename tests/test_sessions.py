"""Session records: the account page lists where one is signed in, and any of them ends."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from clinic.accounts import sessions
from clinic.accounts.models import UserSession
from clinic.audit.models import AuditEntry
from clinic.extensions import db
from tests.auth_helpers import PASSWORD, csrf_token, login, make_users
from tests.helpers import soup

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def users(app):
    app.config["LOGIN_RATE_LIMIT"] = "100 per minute"
    return make_users(app)


def browser(app, user_agent: str, ip: str):
    client = app.test_client()
    client.environ_base.update(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)
    assert login(client, "staff").status_code == 303
    return client


def rows(page) -> dict[str, str]:
    return {
        r.th.get_text(" ", strip=True): r.get_text(" ", strip=True)
        for r in page.select(".session-list tbody tr")
    }


def test_the_account_page_lists_the_browsers_signed_in(app, users):
    laptop = browser(app, FIREFOX, "192.0.2.10")
    browser(app, SAFARI_PHONE, "198.51.100.4")
    listed = rows(soup(laptop.get("/admin/account")))
    assert set(listed) == {"Firefox on Windows (this browser)", "Safari on iPhone"}
    assert "192.0.2.10" in listed["Firefox on Windows (this browser)"]
    assert "198.51.100.4" in listed["Safari on iPhone"]


def test_ending_a_session_signs_that_browser_out(app, users):
    laptop = browser(app, FIREFOX, "192.0.2.10")
    phone = browser(app, SAFARI_PHONE, "198.51.100.4")
    page = soup(laptop.get("/admin/account"))
    [form] = page.select(".session-list form")
    response = laptop.post(
        form["action"], data={"csrf_token": csrf_token(laptop, "/admin/account")}
    )
    assert response.status_code == 303
    assert phone.get("/admin/leads").status_code == 302, "the phone is signed out"
    assert laptop.get("/admin/leads").status_code == 200, "this browser is not"
    assert set(rows(soup(laptop.get("/admin/account")))) == {"Firefox on Windows (this browser)"}
    with app.app_context():
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "session_ended"))
        assert entry.detail == "Safari on iPhone"


def test_ones_own_current_or_someone_elses_session_cannot_be_ended_here(app, users):
    laptop = browser(app, FIREFOX, "192.0.2.10")
    marketer = app.test_client()
    login(marketer, "marketer")
    with app.app_context():
        mine, theirs = (
            db.session.scalar(sa.select(UserSession.id).where(UserSession.user_id == users[role]))
            for role in ("staff", "marketer")
        )
    token = csrf_token(laptop, "/admin/account")
    assert (
        laptop.post(f"/admin/account/sessions/{mine}/end", data={"csrf_token": token}).status_code
        == 409
    )
    assert (
        laptop.post(f"/admin/account/sessions/{theirs}/end", data={"csrf_token": token}).status_code
        == 404
    )
    assert marketer.get("/admin/").status_code == 200


def test_signing_out_ends_the_record_and_a_password_change_ends_the_others(app, users):
    laptop = browser(app, FIREFOX, "192.0.2.10")
    phone = browser(app, SAFARI_PHONE, "198.51.100.4")
    new = "a brand new long password"
    data = {"csrf_token": csrf_token(laptop, "/admin/account/password"), "current": PASSWORD}
    assert (
        laptop.post(
            "/admin/account/password", data={**data, "new": new, "confirm": new}
        ).status_code
        == 303
    )
    assert phone.get("/admin/").status_code == 302
    assert set(rows(soup(laptop.get("/admin/account")))) == {"Firefox on Windows (this browser)"}
    laptop.post("/admin/logout", data={"csrf_token": csrf_token(laptop)})
    with app.app_context():
        assert (
            db.session.scalar(sa.select(sa.func.count()).where(UserSession.ended_at.is_(None))) == 0
        )


def test_last_used_is_written_at_most_once_a_minute(app, users):
    laptop = browser(app, FIREFOX, "192.0.2.10")
    with app.app_context():
        record = db.session.scalar(sa.select(UserSession))
        signed_in = record.last_seen_at
    laptop.get("/admin/")
    with app.app_context():
        assert db.session.scalar(sa.select(UserSession.last_seen_at)) == signed_in, "no write yet"
        db.session.scalar(sa.select(UserSession)).last_seen_at = signed_in - sessions.TOUCH_EVERY
        db.session.commit()
    laptop.environ_base["REMOTE_ADDR"] = "192.0.2.11"
    assert laptop.get("/admin/").status_code == 200
    with app.app_context():
        touched = db.session.scalar(sa.select(UserSession))
        assert touched.last_seen_at > signed_in - timedelta(seconds=1)
        assert touched.ip_address == "192.0.2.11"


def test_a_session_whose_record_is_gone_is_signed_out(app, users):
    laptop = browser(app, FIREFOX, "192.0.2.10")
    with app.app_context():
        db.session.execute(sa.delete(UserSession))
        db.session.commit()
    assert laptop.get("/admin/leads").status_code == 302
