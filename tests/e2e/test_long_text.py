"""A person's own text that cannot break at a space still wraps (issue 13, WCAG 1.4.10).

A patient whose name, e-mail address and message are long unbroken strings books a call
through the real form on a 320 px phone. Every page that shows them, public and admin, and
every e-mail sent about the call, must fit 320 and 390 px without scrolling sideways, and
no line of that text may be wider than the screen (it wraps rather than stretching a box).
"""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from clinic.booking.models import Booking
from clinic.extensions import db
from clinic.leads.models import Lead
from clinic.notifications.models import OutboxMessage
from tests.e2e.test_public_pages import describe, run_axe, visit
from tests.e2e.test_staff_journey import sign_in
from tests.test_leads_admin import prepare_users

pytestmark = pytest.mark.browser

NARROW = {"width": 320, "height": 844}  # WCAG 1.4.10 reflow
PHONE = {"width": 390, "height": 844}
VIEWPORTS = (NARROW, PHONE)
NAME = "A" + "a" * 59  # 60 characters and no space to break at
EMAIL = "b" * 64 + "@example.com"  # the longest local part an address may have
MESSAGE = "M" + "m" * 299
CAMPAIGN = "c" * 80  # comes back as part of the lead's landing page, a long URL
# The start of each, to find the text on a page.
NEEDLES = [NAME[:12], EMAIL[:12], MESSAGE[:12], CAMPAIGN[:12]]

# The page's widths, and the outermost elements that reach past the right edge of the screen
# outside any box that scrolls or clips sideways: where to look when the page is too wide.
MEASURE = """() => {
  const inner = window.innerWidth;
  const contained = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') return true;
    }
    return false;
  };
  const wide = [...document.querySelectorAll('body *')].filter((el) =>
    el.getBoundingClientRect().right > inner + 0.5 && !contained(el));
  const outermost = wide.filter((el) => !wide.includes(el.parentElement));
  return {
    document: document.documentElement.scrollWidth, body: document.body.scrollWidth, inner,
    wide: outermost.slice(0, 5).map((el) => el.outerHTML.slice(0, 100)),
  };
}"""

# Each line of the person's text that is wider than the screen: text that did not wrap.
LONG_LINES = """(needles) => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!needles.some((needle) => node.data.includes(needle))) continue;
    if (node.parentElement.closest('.visually-hidden')) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const line of range.getClientRects()) {
      if (line.width > window.innerWidth) {
        found.push(`<${node.parentElement.tagName.toLowerCase()}> ${Math.round(line.width)}px`);
      }
    }
  }
  return found;
}"""


class Reflow:
    """Measure each page at each width and collect what does not fit."""

    def __init__(self, screenshot_dir):
        self.screenshot_dir, self.problems = screenshot_dir, []

    def check(self, page, name: str) -> None:
        for viewport in VIEWPORTS:
            page.set_viewport_size(viewport)
            width = viewport["width"]
            sizes = page.evaluate(MEASURE)
            if max(sizes["document"], sizes["body"]) > sizes["inner"]:
                self.problems.append(
                    f"{name} at {width}px scrolls sideways: document {sizes['document']}px, "
                    f"body {sizes['body']}px; too wide: {sizes['wide']}"
                )
            for line in page.evaluate(LONG_LINES, NEEDLES):
                self.problems.append(f"{name} at {width}px: a line of {line} does not wrap")
            shot = self.screenshot_dir / f"long-text-{name}-{width}.png"
            page.screenshot(path=shot, full_page=True)
        page.set_viewport_size(NARROW)


def fill_the_booking_form(page) -> None:
    """Choose a clinic and a time and give the long details, as a patient does."""
    times = page.locator("[data-times]")
    page.get_by_role("radio", name=re.compile(r"^London")).check()
    expect(times).not_to_contain_text(re.compile("Choose a clinic|Loading free times"))
    day = page.get_by_label("Day")
    day.select_option(index=1)
    expect(times).not_to_contain_text("Loading free times")
    slot = times.locator(f'input[name=slot][value^="{day.input_value()}"]').first
    expect(slot).to_be_attached()
    page.locator(f'label[for="{slot.get_attribute("id")}"]').click()
    page.get_by_label("Full name").fill(NAME)
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_label("Phone number").fill("07911 100013")
    page.get_by_label("What would you like help with?").fill(MESSAGE)


def book_and_manage_the_call(page, reflow: Reflow, axe_source: str) -> None:
    """Book through the real form (refused once), then open the manage page and its question."""
    fill_the_booking_form(page)
    page.get_by_role("button", name="Book my free call").click()  # no consent yet: refused
    expect(page.locator("#error-summary")).to_contain_text("Tick the box")
    reflow.check(page, "book-refused")

    page.get_by_label(re.compile("^Contact me about this request")).check()
    page.get_by_role("button", name="Book my free call").click()
    expect(page.get_by_role("heading", name="Your free discovery call is booked")).to_be_visible()
    expect(page.locator("main")).to_contain_text(EMAIL)
    reflow.check(page, "confirmed")
    assert (violations := run_axe(page, axe_source)) == [], describe(violations)

    page.get_by_role("link", name="Change or cancel this call").click()
    expect(page.get_by_role("heading", name="Move to another time")).to_be_visible()
    reflow.check(page, "manage")
    page.get_by_role("button", name="Cancel my call").click()
    expect(page.get_by_role("heading", name=re.compile("^Cancel your call on"))).to_be_visible()
    reflow.check(page, "manage-cancel")
    page.get_by_role("link", name="No, keep my call").click()
    expect(page.get_by_role("heading", name="Move to another time")).to_be_visible()


def check_the_staff_pages(page, base_url, reflow: Reflow, axe_source: str, demo) -> None:
    """Open each admin page that shows the patient, then cancel the call as staff."""
    with demo.app_context():
        lead = db.session.scalar(sa.select(Lead).where(Lead.email == EMAIL))
        assert (lead.name, CAMPAIGN in lead.landing_page) == (NAME, True)
        booking_id = db.session.scalar(sa.select(Booking.id).where(Booking.lead_id == lead.id))
        lead_id = lead.id
    pages = {
        "dashboard": "/admin/",
        "leads": "/admin/leads",
        "leads-search": f"/admin/leads?q={EMAIL[:20]}",
        "lead": f"/admin/leads/{lead_id}",
        "calls": "/admin/bookings",
        "emails": "/admin/emails",
        "audit": "/admin/audit",
        "new-call": f"/admin/leads/{lead_id}/calls/new",
        "move": f"/admin/calls/{booking_id}/move",
        "cancel": f"/admin/calls/{booking_id}/cancel",
    }
    for name, path in pages.items():
        page.goto(base_url + path)
        if name == "lead":
            page.get_by_text("Correct the name or phone").click()  # opens the form to measure
            expect(page.get_by_label("Name", exact=True)).to_be_visible()
            assert (violations := run_axe(page, axe_source)) == [], describe(violations)
        reflow.check(page, name)
    page.get_by_role("button", name="Yes, cancel the call").click()
    expect(page.get_by_role("status")).to_contain_text("is cancelled")
    reflow.check(page, "lead-cancelled")


def test_a_patient_with_long_unbroken_details_fits_every_page(
    demo, live_server, new_context, axe_source, screenshot_dir
):
    prepare_users(demo)
    reflow = Reflow(screenshot_dir)
    # The visit's first page, its landing page, comes back on the lead's page: a long URL.
    opened = visit(new_context, f"{live_server}/book?utm_campaign={CAMPAIGN}", NARROW)
    book_and_manage_the_call(opened.page, reflow, axe_source)
    assert opened.csp_violations() == []

    staff = new_context(viewport=NARROW).new_page()
    sign_in(staff, live_server, "admin")  # admins see the audit log too
    check_the_staff_pages(staff, live_server, reflow, axe_source, demo)

    # Each e-mail's HTML as a phone's mail app shows it, 320px wide.
    with demo.app_context():
        emails = db.session.execute(
            sa.select(OutboxMessage.kind, OutboxMessage.html_body).order_by(OutboxMessage.id)
        ).all()
    assert len(emails) >= 4  # to staff and to the patient, booked and cancelled
    mail = new_context(viewport=NARROW).new_page()
    for number, (kind, html) in enumerate(emails):
        mail.set_content(html)
        expect(mail.locator("body")).to_contain_text(NAME)
        reflow.check(mail, f"email-{number}-{kind}")

    assert not reflow.problems, "\n".join(reflow.problems)
