"""Staff book a call for a person who phoned, then move and cancel it: on a phone, without
JavaScript, by keyboard where a person would, with axe and the reflow checks on every page."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from clinic.booking.models import Booking
from clinic.extensions import db
from clinic.leads.models import Lead
from tests.auth_helpers import ROLE_EMAILS
from tests.e2e.test_public_pages import describe, run_axe
from tests.e2e.test_staff_journey import sign_in
from tests.e2e.test_staff_phone import (
    SMALL_TARGETS,
    UNNAMED_SCROLLERS,
    WIDTHS,
    right_edge_within_region,
)
from tests.test_leads_admin import book, prepare_users

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
CALLER = {"name": "Mary Seacole", "email": "mary.seacole@example.org", "phone": "07911 100009"}
OTHER = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "07911 100001"}


class Inspector:
    """Check a page that was opened without JavaScript, where evaluate() cannot run.

    The page's HTML is served again, at its own address, to a page that runs JavaScript for
    axe and the measurements but loads none of the site's scripts: it renders as it did."""

    def __init__(self, context, axe_source: str, screenshot_dir, pages=r".*/admin/.*"):
        self.page = context.new_page()
        self.axe_source, self.screenshot_dir = axe_source, screenshot_dir
        self.html, self.url, self.problems = "", "", []
        context.route("**/static/js/**", lambda route: route.abort())
        context.route(re.compile(pages), self._serve)

    def _serve(self, route) -> None:
        if route.request.resource_type == "document" and route.request.url == self.url:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=self.html)
        else:
            route.continue_()

    def check(self, page, name: str) -> None:
        self.url, self.html = page.url.split("#")[0], page.content()
        self.page.goto(self.url)
        self.page.screenshot(path=self.screenshot_dir / f"no-js-{name}.png", full_page=True)
        scroll_width, inner_width = self.page.evaluate(WIDTHS)
        if scroll_width > inner_width:
            self.problems.append(f"{name}: scrolls sideways, {scroll_width}px in {inner_width}px")
        self.problems += [
            f"{name}: target under 24x24px: {t}" for t in self.page.evaluate(SMALL_TARGETS)
        ]
        self.problems += [
            f"{name}: unnamed scroll box: {html}" for html in self.page.evaluate(UNNAMED_SCROLLERS)
        ]
        if violations := run_axe(self.page, self.axe_source):
            self.problems.append(f"{name}: axe:\n{describe(violations)}")


def choose_by_keyboard(page, radio) -> None:
    radio.focus()
    page.keyboard.press("Space")
    expect(radio).to_be_checked()


def test_staff_book_move_and_cancel_a_call_on_a_phone_without_javascript(
    demo, live_server, new_context, axe_source, screenshot_dir
):
    prepare_users(demo)
    page = new_context(viewport=PHONE, java_script_enabled=False).new_page()
    inspector = Inspector(new_context(viewport=PHONE), axe_source, screenshot_dir)
    sign_in(page, live_server, "staff")

    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Leads").click()
    page.get_by_role("link", name="Add a person who phoned").click()
    inspector.check(page, "add-person")
    page.get_by_role("button", name="Add and choose a time").click()
    expect(page.locator("#error-summary")).to_contain_text("Enter the person's name.")
    inspector.check(page, "add-person-422")
    page.get_by_label("Full name").fill(CALLER["name"])
    page.get_by_label("E-mail address").fill(CALLER["email"])
    page.get_by_label("Phone number").fill(CALLER["phone"])
    page.get_by_label(re.compile("^They agreed on the phone")).check()
    page.get_by_role("button", name="Add and choose a time").click()
    expect(page.get_by_role("heading", name="Book a call for Mary Seacole")).to_be_visible()
    inspector.check(page, "book-call")

    choose_by_keyboard(page, page.get_by_role("radio", name=re.compile("^London")))
    page.get_by_label("Day").select_option(index=1)
    page.get_by_role("button", name="Show free times").press("Enter")
    page.wait_for_load_state()
    times = page.locator("[data-times] input[name=slot]")
    expect(times.first).to_be_attached()
    day = page.get_by_label("Day").input_value()
    assert all(time.get_attribute("value").startswith(day) for time in times.all())
    inspector.check(page, "book-call-times")
    page.get_by_role("button", name="Book the call").click()
    expect(page.locator("#slot-error")).to_contain_text("Choose a time for the call.")
    inspector.check(page, "book-call-422")

    page.get_by_label("Day").select_option(day)
    page.get_by_role("button", name="Show free times").click()
    first = times.first
    booked = first.get_attribute("value")
    choose_by_keyboard(page, first)
    page.get_by_label(re.compile("^What they would like help with")).fill("Heel pain.")
    page.get_by_role("button", name="Book the call").click()
    expect(page.get_by_role("status")).to_contain_text("The call is booked")
    calls = page.locator("section[aria-labelledby=calls-title] table")
    expect(calls).to_contain_text("Heel pain.")
    expect(calls).to_contain_text("Booked")
    inspector.check(page, "lead-with-call")
    for action in ("Move", "Cancel"):  # on the phone's screen, not past the table's edge
        link = inspector.page.get_by_role("link", name=re.compile(f"^{action} the call on"))
        assert right_edge_within_region(link), action

    page.get_by_role("link", name=re.compile("^Move the call on")).click()
    expect(page.get_by_role("heading", name="Move the call for Mary Seacole")).to_be_visible()
    inspector.check(page, "move")
    wanted = times.nth(1)
    taken = wanted.get_attribute("value")
    choose_by_keyboard(page, wanted)
    # Meanwhile a patient books that very time on the website.
    book(demo, demo.test_client(), OTHER, "london", slot=taken)
    page.get_by_role("button", name="Move the call").click()
    expect(page.locator("#slot-error")).to_contain_text("That time was just taken")
    inspector.check(page, "move-409")
    alternative = page.locator("[data-times] input[name=slot]").first
    moved_to = alternative.get_attribute("value")
    choose_by_keyboard(page, alternative)
    page.get_by_role("button", name="Move the call").click()
    expect(page.get_by_role("status")).to_contain_text("The call has moved")

    page.get_by_role("link", name=re.compile("^Cancel the call on")).click()
    expect(page.get_by_role("heading", name="Cancel the call for Mary Seacole?")).to_be_visible()
    inspector.check(page, "cancel")
    page.get_by_role("button", name="Yes, cancel the call").click()
    expect(page.get_by_role("status")).to_contain_text("is cancelled")
    expect(calls).to_contain_text("Cancelled")
    expect(page.locator(".call-actions")).to_have_count(0)
    inspector.check(page, "lead-cancelled")

    assert not inspector.problems, "\n".join(inspector.problems)
    with demo.app_context():
        lead = db.session.scalar(sa.select(Lead).where(Lead.email == CALLER["email"]))
        [call] = db.session.scalars(sa.select(Booking).where(Booking.lead_id == lead.id)).all()
        assert call.status == "cancelled" and call.sequence == 2
        assert moved_to not in (booked, taken)
        staff = ROLE_EMAILS["staff"]
        assert [(e.kind, e.actor) for e in lead.events] == [
            ("added", staff),
            ("booked", staff),
            ("rescheduled", staff),
            ("cancelled", staff),
        ]


def test_with_javascript_times_load_in_place_and_errors_take_the_focus(
    demo, live_server, new_context
):
    """booking.js serves the staff page as it serves the public form."""
    prepare_users(demo)
    page = new_context(viewport=PHONE).new_page()
    sign_in(page, live_server, "staff")
    page.goto(live_server + "/admin/leads/new")
    page.get_by_role("button", name="Add and choose a time").click()
    expect(page.locator("#error-summary")).to_be_focused()
    page.get_by_label("Full name").fill(CALLER["name"])
    page.get_by_label("E-mail address").fill(CALLER["email"])
    page.get_by_label("Phone number").fill(CALLER["phone"])
    page.get_by_label(re.compile("^They agreed on the phone")).check()
    page.get_by_role("button", name="Add and choose a time").click()
    expect(page.get_by_role("button", name="Show free times")).to_be_hidden()
    page.get_by_role("radio", name=re.compile("^Bedford")).check()
    expect(page.locator("[data-times] input[name=slot]").first).to_be_attached()
    page.get_by_role("button", name="Book the call").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#slot-error")).to_contain_text("Choose a time for the call.")
