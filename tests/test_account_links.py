"""E-mailed one-time links: invitations (the admin never types a password) and password
resets (the same answer for any address); used, expired, replaced, withdrawn or tampered
links get a clear page, never a 500."""

import re
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa

from clinic.accounts import links
from clinic.accounts.models import Invitation, PasswordReset
from clinic.audit.models import AuditEntry
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.notifications import outbox
from clinic.notifications.models import OutboxMessage
from tests.auth_helpers import (
    ROLE_EMAILS,
    csrf_token,
    form_data,
    login,
    make_users,
)
from tests.helpers import soup

NEW = "nurse@example.com"
CHOSEN = "lantern quarry violet tulip"
LINK = re.compile(r"https://www\.example\.test(/admin/(?:invitation|reset)/[\w.\-]+)")


@pytest.fixture
def users(app):
    app.config["LOGIN_RATE_LIMIT"] = "100 per minute"
    return make_users(app)


@pytest.fixture
def admin(app, users):
    client = app.test_client()
    assert login(client, "admin").status_code == 303
    return client


def invite(admin, email=NEW, role="staff"):
    data = {"csrf_token": csrf_token(admin, "/admin/users/new"), "email": email, "role": role}
    assert admin.post("/admin/users/new", data=data).status_code == 303


def path_in(text: str) -> str:
    return LINK.findall(text)[-1]


def outbox_link(app, kind: str) -> str:
    """The path of the link in the newest e-mail of `kind`."""
    with app.app_context():
        query = sa.select(OutboxMessage).where(OutboxMessage.kind == kind)
        message = db.session.scalars(query.order_by(OutboxMessage.id.desc())).first()
        return path_in(message.text_body)


def choose_password(client, path: str, password: str = CHOSEN):
    data = {**form_data(soup(client.get(path))), "new": password, "confirm": password}
    return client.post(path, data=data)


def enrol(client) -> str:
    page = soup(client.get("/admin/account/two-factor"))
    secret = page.select_one("#totp-secret").get_text().replace(" ", "")
    data = {**form_data(page), "code": pyotp.TOTP(secret).now()}
    assert client.post("/admin/account/two-factor", data=data).status_code == 200
    return secret


def test_an_invited_colleague_chooses_a_password_and_enrols(mail_app, smtp_server, admin):
    invite(admin)
    with mail_app.app_context():
        assert outbox.send_due()["sent"] == 1
    [message] = smtp_server.wait_for(1)
    assert message["To"] == NEW
    text = next(
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )
    path = path_in(text)
    colleague = mail_app.test_client()
    page = colleague.get(path)
    assert page.status_code == 200 and NEW in page.get_data(as_text=True)
    weak = choose_password(colleague, path, "password1234")
    assert weak.status_code == 422 and "common password" in weak.get_data(as_text=True)
    response = choose_password(colleague, path)
    assert response.headers["Location"] == "/admin/account/two-factor"
    assert colleague.get("/admin/leads").headers["Location"] == "/admin/account/two-factor"
    enrol(colleague)
    assert colleague.get("/admin/leads").status_code == 200
    used = mail_app.test_client().get(path)
    assert used.status_code == 410 and "used already" in used.get_data(as_text=True)
    assert login(mail_app.test_client(), email=NEW, password=CHOSEN).status_code == 303
    with mail_app.app_context():
        actions = db.session.scalars(sa.select(AuditEntry.action)).all()
    assert {"invitation_sent", "invitation_accepted", "two_factor_enrolled"} <= set(actions)


def test_a_resent_invitation_replaces_the_old_link(app, admin):
    invite(admin)
    old = outbox_link(app, "invitation")
    with app.app_context():
        invitation_id = db.session.scalar(sa.select(Invitation.id))
    token = csrf_token(admin, "/admin/users")
    resent = admin.post(
        f"/admin/users/invitations/{invitation_id}/resend", data={"csrf_token": token}
    )
    assert resent.status_code == 303
    new = outbox_link(app, "invitation")
    assert new != old
    replaced = app.test_client().get(old)
    assert replaced.status_code == 410 and "replaced" in replaced.get_data(as_text=True)
    assert app.test_client().get(new).status_code == 200


def test_a_withdrawn_invitation_says_so(app, admin):
    invite(admin)
    path = outbox_link(app, "invitation")
    with app.app_context():
        invitation_id = db.session.scalar(sa.select(Invitation.id))
    token = csrf_token(admin, "/admin/users")
    url = f"/admin/users/invitations/{invitation_id}/withdraw"
    assert admin.post(url, data={"csrf_token": token}).status_code == 303
    response = app.test_client().get(path)
    assert response.status_code == 410 and "withdrawn" in response.get_data(as_text=True)
    assert admin.post(url, data={"csrf_token": token}).status_code == 409
    late = app.test_client()
    data = {**form_data(soup(late.get("/admin/login"))), "new": CHOSEN, "confirm": CHOSEN}
    assert late.post(path, data=data).status_code == 410, "a form sent after it was withdrawn"


def _tampered(path: str) -> str:
    return path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb")


def _unknown(app, kind: str) -> str:
    with app.test_request_context():
        token = links._serializer(kind).dumps([999999, "whatever"])
    return f"/admin/{kind}/{token}"


@pytest.mark.parametrize("kind", ["invitation", "reset"])
def test_damaged_unknown_and_expired_links_get_a_clear_page(app, admin, kind):
    if kind == "invitation":
        invite(admin)
    else:
        forgot(app.test_client(), ROLE_EMAILS["staff"])
    path = outbox_link(app, "invitation" if kind == "invitation" else "password_reset")
    for bad, status, words in [
        (_tampered(path), 400, "damaged"),
        (f"/admin/{kind}/not-a-token", 400, "damaged"),
        (f"/admin/{kind}/" + "x" * 3000, 400, "damaged"),
        (_unknown(app, kind), 404, "not known"),
    ]:
        response = app.test_client().get(bad)
        assert response.status_code == status, bad
        assert words in soup(response).h1.get_text()
    with app.app_context():
        model = Invitation if kind == "invitation" else PasswordReset
        db.session.scalar(sa.select(model)).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    expired = app.test_client().get(path)
    assert expired.status_code == 410 and "expired" in soup(expired).h1.get_text()


def test_the_first_admin_gets_an_invitation_link_on_the_command_line(app, runner):
    result = runner.invoke(
        args=["users", "create", "Boss@Example.test", "--role", "admin", "--invite"]
    )
    assert result.exit_code == 0, result.output
    path = path_in(result.output)
    with app.app_context():
        assert db.session.scalar(sa.select(OutboxMessage)) is None, "printed, not e-mailed"
    client = app.test_client()
    assert choose_password(client, path).headers["Location"] == "/admin/account/two-factor"
    enrol(client)
    assert client.get("/admin/users").status_code == 200


def forgot(client, email: str):
    data = {**form_data(soup(client.get("/admin/forgot"))), "email": email}
    return client.post("/admin/forgot", data=data)


def test_the_sign_in_page_links_to_forgot_your_password(app, client):
    assert soup(client.get("/admin/login")).find("a", string="Forgot your password?")["href"] == (
        "/admin/forgot"
    )


def test_the_same_answer_for_known_and_unknown_addresses(app, users, monkeypatch):
    rendered = []
    real_render = links._render
    monkeypatch.setattr(links, "_render", lambda *a: rendered.append(a[0]) or real_render(*a))
    known = forgot(app.test_client(), ROLE_EMAILS["staff"])
    unknown = forgot(app.test_client(), "nobody@example.test")
    assert known.status_code == unknown.status_code == 200
    strip = lambda response, email: response.get_data(as_text=True).replace(email, "")  # noqa: E731
    known_text, unknown_text = (
        strip(known, ROLE_EMAILS["staff"]),
        strip(unknown, "nobody@example.test"),
    )
    no_token = re.compile(r'name="csrf_token" value="[^"]*"')
    assert no_token.sub("", known_text) == no_token.sub("", unknown_text)
    assert rendered == ["password_reset", "password_reset"], "the same work either way"
    with app.app_context():
        messages = db.session.scalars(sa.select(OutboxMessage)).all()
        details = db.session.scalars(
            sa.select(AuditEntry.detail).where(AuditEntry.action == "password_reset_requested")
        ).all()
    assert [m.recipients for m in messages] == [[ROLE_EMAILS["staff"]]]
    assert sorted(details) == ["nobody@example.test", ROLE_EMAILS["staff"]]


def test_a_reset_sets_a_new_password_ends_sessions_and_still_asks_for_the_code(app, users):
    signed_in = app.test_client()
    login(signed_in, "staff")
    forgot(app.test_client(), ROLE_EMAILS["staff"])
    path = outbox_link(app, "password_reset")
    client = app.test_client()
    weak = choose_password(client, path, "aaaaaaaaaaaaaaaa")
    assert weak.status_code == 422
    done = choose_password(client, path)
    assert done.headers["Location"] == "/admin/login"
    assert signed_in.get("/admin/leads").status_code == 302, "every session ended"
    assert login(app.test_client(), "staff").status_code == 401, "the old password is gone"
    fresh = app.test_client()
    data = {**form_data(soup(fresh.get("/admin/login"))), "email": ROLE_EMAILS["staff"]}
    step = fresh.post("/admin/login", data={**data, "password": CHOSEN})
    assert step.headers["Location"] == "/admin/login/code", "two-factor still asked"
    assert login(app.test_client(), "staff", password=CHOSEN).status_code == 303
    again = app.test_client().get(path)
    assert again.status_code == 410 and "used already" in soup(again).h1.get_text()


def test_no_reset_mail_for_a_deactivated_account(app, users, runner):
    assert runner.invoke(args=["users", "deactivate", ROLE_EMAILS["staff"]]).exit_code == 0
    assert forgot(app.test_client(), ROLE_EMAILS["staff"]).status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(OutboxMessage)) is None


def test_reset_requests_are_limited_per_address_and_per_ip(app, users):
    app.config.update(RESET_RATE_LIMIT_ADDRESS="2 per hour", RESET_RATE_LIMIT_IP="3 per hour")
    codes = []
    for number in range(3):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"192.0.2.{number + 1}"
        codes.append(forgot(client, "Staff@Example.test ").status_code)
    assert codes == [200, 200, 429], "per address, from anywhere"
    same_ip = [forgot(app.test_client(), f"person{n}@example.test").status_code for n in range(4)]
    assert same_ip == [200, 200, 200, 429], "per IP address, whatever the address"
