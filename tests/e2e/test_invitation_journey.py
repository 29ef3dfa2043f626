"""An admin invites a colleague; the colleague, in a browser without JavaScript, follows the
e-mailed link, chooses a password, enrols an authenticator (typing the key shown as text)
and signs in with a code to reach the leads. axe checks the new sign-in pages."""

import re

import pyotp
import pytest
from playwright.sync_api import expect

from clinic.accounts import links, services
from clinic.extensions import db
from clinic.notifications import outbox
from tests.auth_helpers import PASSWORD, ROLE_EMAILS, make_users
from tests.e2e.test_public_pages import DESKTOP, PHONE, describe, run_axe, visit
from tests.e2e.test_staff_journey import enter_code, sign_in

pytestmark = pytest.mark.browser

COLLEAGUE = "ada.nurse@example.com"
CHOSEN = "lantern quarry violet tulip"
LINK = re.compile(r"https?://\S+/admin/invitation/[\w.\-]+")


def assert_accessible(page, axe_source: str, where: str) -> None:
    violations = run_axe(page, axe_source)
    assert violations == [], f"{where}:\n{describe(violations)}"


def invite_colleague(live_server, new_context, axe_source) -> None:
    page = new_context(viewport=DESKTOP).new_page()
    sign_in(page, live_server, "admin")
    page.goto(live_server + "/admin/users/new")
    assert_accessible(page, axe_source, "/admin/users/new")
    page.get_by_label("E-mail address").fill(COLLEAGUE)
    page.get_by_label("Role").select_option(label="Staff")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_text(f"Invitation sent to {COLLEAGUE}")).to_be_visible()
    expect(page.locator("table.invitation-list")).to_contain_text(COLLEAGUE)
    assert_accessible(page, axe_source, "/admin/users with an invitation")


def received_link(mail_app, smtp_server) -> str:
    with mail_app.test_request_context():
        assert outbox.send_due()["sent"] == 1
    [message] = smtp_server.wait_for(1)
    assert message["To"] == COLLEAGUE
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    return LINK.search(text.get_payload(decode=True).decode()).group()


def test_an_invited_colleague_sets_up_and_signs_in_without_javascript(
    mail_app, smtp_server, live_server, new_context, axe_source, screenshot_dir
):
    make_users(mail_app)
    invite_colleague(live_server, new_context, axe_source)
    link = received_link(mail_app, smtp_server)
    path = link[link.index("/admin/") :]

    opened = visit(new_context, live_server + path, DESKTOP, java_script_enabled=False)
    page = opened.page
    expect(page.get_by_role("heading", name="Set up your account")).to_be_visible()
    page.get_by_label("Choose a password").fill(CHOSEN)
    page.get_by_label("Repeat the password").fill(CHOSEN)
    page.get_by_role("button", name="Choose this password").click()

    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "two-factor-enrolment.png"), full_page=True)
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Six-digit code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-factor").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have saved them: continue").click()
    page.get_by_role("button", name="Sign out").click()

    page.get_by_label("E-mail address").fill(COLLEAGUE)
    page.get_by_label("Password").fill(CHOSEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    with mail_app.app_context():  # the enrolment's code was this step's: wait for the next
        services.find_user(COLLEAGUE).totp_last_step = None
        db.session.commit()
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Leads").click()
    expect(page.get_by_role("heading", name="Leads", level=1)).to_be_visible()
    assert opened.errors == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_sign_in_pages_have_no_axe_violations(
    demo, live_server, new_context, axe_source, viewport
):
    make_users(demo)
    with demo.app_context():
        services.create_user("new@example.test", PASSWORD, "staff")
        link = links.invite("invited@example.com", "staff", None, send=False)
        db.session.commit()
    page = visit(new_context, live_server + "/admin/forgot", viewport).page
    assert_accessible(page, axe_source, "/admin/forgot")
    page.get_by_label("E-mail address").fill("someone@example.com")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    assert_accessible(page, axe_source, "forgot: sent")
    page.goto(live_server + link[link.index("/admin/") :])
    assert_accessible(page, axe_source, "invitation")
    page.goto(live_server + "/admin/reset/damaged")
    assert_accessible(page, axe_source, "a damaged link")

    page.goto(live_server + "/admin/login")
    page.get_by_label("E-mail address").fill("new@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    assert_accessible(page, axe_source, "enrolment")

    staff = visit(new_context, live_server + "/admin/login", viewport).page
    staff.get_by_label("E-mail address").fill(ROLE_EMAILS["staff"])
    staff.get_by_label("Password").fill(PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    expect(staff.get_by_role("heading", name="Enter your code")).to_be_visible()
    assert_accessible(staff, axe_source, "code step")
    enter_code(staff)
    staff.goto(live_server + "/admin/account")
    assert_accessible(staff, axe_source, "/admin/account")
