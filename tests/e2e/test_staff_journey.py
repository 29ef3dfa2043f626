"""A patient books a call in the browser; a staff member finds the lead and follows it up."""

import re

import pyotp
import pytest
from playwright.sync_api import expect

from tests.auth_helpers import PASSWORD, ROLE_EMAILS, TOTP_SECRET, make_users

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PATIENT = {"name": "Grace Hopper", "email": "grace.hopper@example.com", "phone": "07912 345678"}
NOTE = "Called back: prefers morning calls, wants to know about shockwave therapy."


def book_a_call(page, base_url: str) -> None:
    """Fill in the public booking form the way a patient does, and submit it."""
    page.goto(base_url + "/book")
    times = page.locator("[data-times]")
    # Each change fetches the times again; wait for one answer before the next change.
    page.get_by_role("radio", name=re.compile(r"^London")).check()
    expect(times).not_to_contain_text(re.compile("Choose a clinic|Loading free times"))
    day = page.get_by_label("Day")
    day.select_option(index=1)  # the second bookable day
    expect(times).not_to_contain_text("Loading free times")
    slot = times.locator(f'input[name=slot][value^="{day.input_value()}"]').first
    expect(slot).to_be_attached()
    page.locator(f'label[for="{slot.get_attribute("id")}"]').click()
    expect(slot).to_be_checked()
    page.get_by_label("Full name").fill(PATIENT["name"])
    page.get_by_label("E-mail address").fill(PATIENT["email"])
    page.get_by_label("Phone number").fill(PATIENT["phone"])
    page.get_by_label("What would you like help with?").fill("Heel pain when I run.")
    page.get_by_label("Contact me about this request").check()
    page.get_by_role("button", name="Book my free call").click()
    expect(page.get_by_role("heading", name="Your free discovery call is booked")).to_be_visible()


def sign_in(page, base_url: str, role: str) -> None:
    page.goto(base_url + "/admin/login")
    page.get_by_label("E-mail address").fill(ROLE_EMAILS[role])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    enter_code(page)
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()


def enter_code(page) -> None:
    """Type the code the test users' authenticator app shows now."""
    page.get_by_label("Code").fill(pyotp.TOTP(TOTP_SECRET).now())
    page.get_by_role("button", name="Continue").click()


def test_a_booked_lead_is_followed_up_by_staff(live_server, demo, new_context, screenshot_dir):
    make_users(demo)
    book_a_call(new_context(viewport=DESKTOP).new_page(), live_server)

    page = new_context(viewport=DESKTOP).new_page()
    sign_in(page, live_server, "staff")
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Leads").click()
    page.get_by_label("Name, e-mail or phone").fill(PATIENT["email"])
    page.get_by_role("button", name="Show leads").click()
    lead_link = page.get_by_role("link", name=PATIENT["name"])
    expect(lead_link).to_be_visible()
    page.screenshot(path=screenshot_dir / "admin-leads.png", full_page=True)

    lead_link.click()
    expect(page.get_by_role("heading", name=PATIENT["name"], level=1)).to_be_visible()
    page.get_by_label("Status").select_option(label="Contacted")
    page.get_by_role("button", name="Save status and owner").click()
    expect(page.get_by_text("Status and owner saved.")).to_be_visible()
    # A half-written note is not lost to the status form beside it: the browser asks first.
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
    page.get_by_label("Add a note").fill(NOTE)
    page.get_by_label("Status").select_option(label="Qualified")
    page.get_by_role("button", name="Save status and owner").click()
    expect(page.get_by_label("Add a note")).to_have_value(NOTE)
    assert asked == ["beforeunload"]
    page.get_by_label("Status").select_option(label="Contacted")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Note added.")).to_be_visible()

    timeline = page.locator("#timeline ol.timeline")
    expect(timeline).to_contain_text("Booked a call")
    expect(timeline).to_contain_text(re.compile(r"Status: New → Contacted"))
    expect(timeline).to_contain_text(NOTE)
    expect(timeline.locator("li").last).to_contain_text(f"by {ROLE_EMAILS['staff']}")

    page.goto(live_server + "/admin/")
    expect(page.locator("svg.chart-svg[role=img]")).to_have_count(2)
    page.screenshot(path=screenshot_dir / "admin-dashboard.png", full_page=True)
