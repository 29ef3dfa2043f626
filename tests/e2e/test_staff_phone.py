"""The staff admin on a phone: reflow, target size and axe on the pages staff use to call back.

Staff call patients back from their phones, so each staff page is checked at 390x844 (a
common phone) and at 320 px wide (WCAG 1.4.10 reflow), with data that stretches it: a long
name and e-mail address, a long message, a call due today (so the outcome buttons show), a
failed e-mail and enough leads for a second page.
"""

from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from clinic.booking.models import Booking
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.notifications.models import OutboxMessage
from tests.e2e.test_public_pages import describe, run_axe
from tests.e2e.test_staff_journey import sign_in
from tests.test_leads_admin import book, make_leads, prepare_users, update

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
NARROW = {"width": 320, "height": 844}  # WCAG 1.4.10: 320 CSS px wide, no sideways scrolling
LONG = {
    "name": "Maximiliana Featherstonehaugh-Worthington",
    "email": "maximiliana.featherstonehaugh-worthington@example-long-domain.co.uk",
    "phone": "07911 100001",
}
ADA = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "07911 100002"}
MESSAGE = (
    "Lower back pain for two years; it gets worse after long drives and physiotherapy "
    "helped only a little. Please call after 5pm if you can."
)
SMTP_ERROR = (
    "ConnectionRefusedError: [Errno 111] Connection refused while connecting to "
    "smtp.mail-provider.example.test:587 (after 3 attempts)"
)
# WCAG 1.4.12 text spacing, as the usual bookmarklet sets it.
TEXT_SPACING = """
* { line-height: 1.5 !important; letter-spacing: 0.12em !important;
    word-spacing: 0.16em !important; }
p { margin-bottom: 2em !important; }
"""

# Every visible target smaller than 24x24 CSS px (WCAG 2.5.8), except an inline link that
# shares its line with text that is not a target: the "inline" exception, a link inside a
# sentence whose height the line-height of the text around it sets. Nothing else is exempt:
# not the spacing exception, so a small control passes only by its own size. The target, not
# its label, is measured, so a checkbox counts at the size of the box. What is not drawn
# (display: none, a closed <details>, visibility: hidden) is not a target to measure.
SMALL_TARGETS = """() => {
  const TARGETS = 'a[href], button, input:not([type=hidden]), select, textarea, summary, '
    + '[tabindex]:not([tabindex="-1"])';
  const inTarget = (node) => node && node.closest(TARGETS);
  const blockOf = (el) => {
    let block = el.parentElement;
    while (getComputedStyle(block).display.startsWith('inline')) block = block.parentElement;
    return block;
  };
  const inSentence = (el) => {
    if (getComputedStyle(el).display !== 'inline') return false;
    const lines = [...el.getClientRects()];
    const walker = document.createTreeWalker(blockOf(el), NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.data.trim() || inTarget(node.parentElement)) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const text of range.getClientRects()) {
        if (text.width > 1 && text.height > 1
            && lines.some((line) => text.top < line.bottom && text.bottom > line.top)) {
          return true;
        }
      }
    }
    return false;
  };
  const small = [];
  for (const el of document.querySelectorAll(TARGETS)) {
    if (!el.getClientRects().length || getComputedStyle(el).visibility === 'hidden') continue;
    const box = el.getBoundingClientRect();
    if ((box.width >= 24 && box.height >= 24) || inSentence(el)) continue;
    const name = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim();
    small.push(`${el.tagName.toLowerCase()} "${name.slice(0, 40)}" `
               + `${box.width.toFixed(1)}x${box.height.toFixed(1)}`);
  }
  return small;
}"""

# Any box that scrolls sideways must be reachable by keyboard and named (a data table's region).
UNNAMED_SCROLLERS = """() => [...document.querySelectorAll('main *')].filter((el) => {
  const overflow = getComputedStyle(el).overflowX;
  return ['auto', 'scroll'].includes(overflow) && el.scrollWidth > el.clientWidth;
}).filter((el) => !(el.tabIndex === 0 && el.getAttribute('role') === 'region'
                    && (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby'))))
  .map((el) => el.outerHTML.slice(0, 120))"""

WIDTHS = "() => [document.documentElement.scrollWidth, window.innerWidth]"


@dataclass
class StaffData:
    lead_id: int  # the lead with the long name, a call today and a failed e-mail


@pytest.fixture
def staff_data(demo) -> StaffData:
    prepare_users(demo)
    client = demo.test_client()
    lead_id = book(demo, client, LONG, "london", message=MESSAGE)
    book(demo, client, ADA, "manchester")
    with demo.app_context():
        booking_id = db.session.scalar(sa.select(Booking.id).where(Booking.lead_id == lead_id))
        email_id = db.session.scalar(
            sa.select(OutboxMessage.id).where(OutboxMessage.lead_id == lead_id).limit(1)
        )
    # A call that starts now is today's: "Call done" and "No show" show for it.
    update(demo, Booking, booking_id, starts_at=utcnow().replace(second=0, microsecond=0))
    update(demo, OutboxMessage, email_id, status="failed", attempts=8, last_error=SMTP_ERROR)
    make_leads(demo, 30)  # two pages of leads
    return StaffData(lead_id=lead_id)


def staff_pages(page, base_url: str, lead_id: int):
    """Open each staff page as staff reach it on a phone; yield a name for each one open."""
    page.goto(base_url + "/admin/")
    yield "dashboard"
    page.goto(base_url + "/admin/leads")
    yield "leads"
    page.get_by_label("Name, e-mail or phone").fill("example")
    page.get_by_label("Status").select_option(label="New")
    page.get_by_label("Sort by").select_option(label="Name, A to Z")
    page.get_by_role("button", name="Show leads").click()
    expect(page.get_by_role("status").filter(has_text="Showing")).to_contain_text("page 1 of 2")
    page.get_by_role("navigation", name="Pages of leads").get_by_role("link", name="Next").click()
    expect(page.get_by_role("link", name="Previous")).to_be_visible()
    yield "leads-filtered-page-2"
    page.goto(f"{base_url}/admin/leads/{lead_id}")
    page.get_by_text("Correct the name or phone").click()  # opens the form to measure it
    expect(page.get_by_label("Name", exact=True)).to_be_visible()
    yield "lead"
    page.goto(base_url + "/admin/bookings")
    yield "calls"
    page.goto(base_url + "/admin/emails")
    yield "emails"


@pytest.mark.parametrize("viewport", [PHONE, NARROW], ids=["390px", "320px"])
def test_staff_pages_fit_a_phone(
    demo, live_server, new_context, axe_source, screenshot_dir, staff_data, viewport
):
    page = new_context(viewport=viewport).new_page()
    sign_in(page, live_server, "staff")
    width = viewport["width"]
    problems = []
    for name in staff_pages(page, live_server, staff_data.lead_id):
        page.screenshot(path=screenshot_dir / f"staff-phone-{name}-{width}.png", full_page=True)
        scroll_width, inner_width = page.evaluate(WIDTHS)
        if scroll_width > inner_width:
            problems.append(f"{name}: the page scrolls sideways, {scroll_width}px in {width}px")
        problems += [f"{name}: target under 24x24px: {t}" for t in page.evaluate(SMALL_TARGETS)]
        problems += [
            f"{name}: scroll box without a named, focusable region: {html}"
            for html in page.evaluate(UNNAMED_SCROLLERS)
        ]
        if violations := run_axe(page, axe_source):
            problems.append(f"{name}: axe at {width}px:\n{describe(violations)}")
    assert not problems, "\n".join(problems)


def right_edge_within_region(locator) -> bool:
    """Tell whether a control inside a table's scroll region shows without scrolling it."""
    box = locator.bounding_box()
    region = locator.locator("xpath=ancestor::div[@role='region']").bounding_box()
    return box["x"] + box["width"] <= region["x"] + region["width"]


@pytest.mark.parametrize("viewport", [PHONE, NARROW], ids=["390px", "320px"])
def test_calling_back_is_easy_on_a_phone(demo, live_server, new_context, staff_data, viewport):
    """The tel: links staff call from are on one line and 44px tall (WCAG 2.5.5, AAA).

    On a 390px phone the number on the call list and the outcome buttons on the lead's page
    show without scrolling their table sideways.
    """
    page = new_context(viewport=viewport).new_page()
    sign_in(page, live_server, "staff")
    for path in (f"/admin/leads/{staff_data.lead_id}", "/admin/bookings"):
        page.goto(live_server + path)
        links = page.locator('main a[href^="tel:"]')
        expect(links.first).to_be_visible()
        for link in links.all():
            box = link.bounding_box()
            assert box["height"] >= 44, (path, link.inner_text(), box)
            assert link.evaluate("(a) => a.getClientRects().length") == 1, (path, "wraps")
            if viewport == PHONE and path == "/admin/bookings":
                assert right_edge_within_region(link), (path, link.inner_text())
        if viewport == PHONE and path != "/admin/bookings":
            for name in ("Call done", "No show"):
                assert right_edge_within_region(page.get_by_role("button", name=name)), name


# The admin header's links and buttons in source order, which is the order Tab follows.
HEADER_BOXES = """() => [...document.querySelectorAll('.admin-header a, .admin-header button')]
  .map((el) => {
    const b = el.getBoundingClientRect();
    return {text: el.textContent.trim(), top: b.top, bottom: b.bottom, left: b.left};
  })"""


@pytest.mark.parametrize("viewport", [PHONE, NARROW], ids=["390px", "320px"])
def test_admin_header_focus_order_follows_the_screen(
    demo, live_server, new_context, staff_data, viewport
):
    """Tab moves through the admin header left to right and down, never back up (WCAG 2.4.3)."""
    page = new_context(viewport=viewport).new_page()
    sign_in(page, live_server, "staff")
    boxes = page.evaluate(HEADER_BOXES)
    assert [b["text"] for b in boxes][-2:] == ["Change password", "Sign out"]
    for before, after in zip(boxes, boxes[1:], strict=False):
        same_row = min(before["bottom"], after["bottom"]) - max(before["top"], after["top"]) > 0
        onward = after["left"] > before["left"] if same_row else after["top"] >= before["bottom"]
        assert onward, f"{after['text']!r} is focused after {before['text']!r} but shown before it"


def test_text_spacing_keeps_the_pages_within_the_width(demo, live_server, new_context, staff_data):
    """WCAG 1.4.12: with wider line, letter and word spacing nothing pushes the page sideways."""
    # The style tag is added by the test: let it past the site's Content-Security-Policy.
    page = new_context(viewport=NARROW, bypass_csp=True).new_page()
    sign_in(page, live_server, "staff")
    wide = []
    for name in staff_pages(page, live_server, staff_data.lead_id):
        page.add_style_tag(content=TEXT_SPACING)
        scroll_width, inner_width = page.evaluate(WIDTHS)
        if scroll_width > inner_width:
            wide.append(f"{name}: {scroll_width}px in {inner_width}px")
    assert not wide, wide
