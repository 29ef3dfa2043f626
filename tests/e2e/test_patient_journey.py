"""A patient reads an article, follows its call to action and books a call, in a real browser:
on a desktop, on a phone and with JavaScript turned off. The staff e-mail reaches SMTP."""

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from clinic.booking.models import Booking
from clinic.extensions import db
from clinic.notifications import outbox
from tests.booking_helpers import booking_data, first_free_slot
from tests.e2e.test_public_pages import DESKTOP, PHONE, run_axe, visit

pytestmark = pytest.mark.browser
ARTICLE = "amitriptyline-for-back-pain"
VARIANTS = {
    "desktop": {"viewport": DESKTOP},
    "phone": {"viewport": PHONE, "is_mobile": True, "has_touch": True},
    "no-js": {"viewport": DESKTOP, "java_script_enabled": False},
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_patient_books_from_an_article(
    mail_app, smtp_server, live_server, new_context, axe_source, screenshot_dir, variant
):
    options = dict(VARIANTS[variant])
    viewport = options.pop("viewport")
    landing = f"/articles/{ARTICLE}?utm_source=newsletter&utm_campaign=autumn"
    opened = visit(new_context, live_server + landing, viewport, **options)
    page = opened.page
    page.get_by_role("link", name="Book your free discovery call").last.click()
    page.wait_for_url(re.compile(r"/book\?from=" + ARTICLE))

    page.get_by_label(re.compile("^Manchester")).check()
    if variant == "no-js":
        page.get_by_label("Day").select_option(index=1)
        page.get_by_role("button", name="Show free times").click()
        page.wait_for_load_state()
    else:
        assert not page.get_by_role("button", name="Show free times").is_visible()
        page.get_by_label("Day").select_option(index=1)
    day = page.get_by_label("Day").input_value()
    first_time = page.locator(f"input[name=slot][value^='{day}']").first
    first_time.wait_for()
    chosen = first_time.get_attribute("value")
    page.locator(f"label[for='{first_time.get_attribute('id')}']").click()
    page.get_by_label("Full name").fill("Mary Seacole")
    page.get_by_label("E-mail address").fill("mary@example.com")
    page.get_by_label("Phone number").fill("07911 123456")
    page.get_by_label(re.compile("What would you like help with")).fill("Knee pain when walking.")
    page.get_by_label(re.compile("^Contact me about this request")).check()
    page.screenshot(path=str(screenshot_dir / f"booking-form-{variant}.png"), full_page=True)
    page.get_by_role("button", name="Book my free call").click()

    page.wait_for_url(re.compile("/book/confirmed/"))
    assert page.get_by_role("heading", name="Your free discovery call is booked").is_visible()
    assert "ProHealth Clinic Manchester" in page.inner_text("main")
    if variant != "no-js":  # evaluate() never returns in a page without JavaScript
        assert run_axe(page, axe_source) == []
    assert opened.errors == []

    with mail_app.app_context():
        booking = db.session.scalar(sa.select(Booking))
        assert booking.clinic.slug == "manchester"
        assert booking.source_article == ARTICLE
        lead = booking.lead
        if variant == "no-js":  # without JavaScript only the article that was followed is kept
            assert (lead.source_article, lead.utm_source) == (ARTICLE, None)
        else:  # the visit's first touch, kept in sessionStorage, came with the form
            assert (lead.utm_source, lead.utm_campaign) == ("newsletter", "autumn")
            assert lead.landing_page == landing
        assert booking.starts_at == datetime.fromisoformat(chosen).astimezone(UTC)
    with mail_app.test_request_context():
        assert outbox.send_due()["sent"] >= 2
    received = smtp_server.wait_for(2)
    staff = next(m for m in received if m["To"] == "staff@example.test")
    body = next(p for p in staff.walk() if p.get_content_type() == "text/plain")
    text = body.get_payload(decode=True).decode()
    assert "Mary Seacole" in text and ARTICLE in text


def test_booking_form_error_state_is_accessible(
    live_server, new_context, axe_source, screenshot_dir
):
    opened = visit(new_context, f"{live_server}/book?clinic=london", DESKTOP)
    page = opened.page
    page.get_by_role("button", name="Book my free call").click()
    page.wait_for_load_state()
    summary = page.locator("#error-summary")
    assert summary.is_visible()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert "Enter your name" in summary.inner_text()
    page.screenshot(path=str(screenshot_dir / "booking-form-errors.png"), full_page=True)
    assert run_axe(page, axe_source) == []
    page.locator("#error-summary a", has_text="Enter your name").click()
    assert page.evaluate("document.activeElement.id") == "name"
    assert opened.csp_violations() == []


def test_a_taken_time_offers_the_next_ones_then_the_call_is_cancelled_with_a_second_thought(
    demo, live_server, new_context, axe_source, screenshot_dir
):
    """On a phone: the time goes to someone else first; the next free times fit the screen;
    the patient books one, then cancels it from the manage page, which asks once more."""
    client = demo.test_client()
    taken = first_free_slot(client, "bedford")
    assert (
        client.post("/book", data=booking_data(client, slot=taken, at="bedford")).status_code == 303
    )

    opened = visit(
        new_context, f"{live_server}/book?clinic=bedford", PHONE, is_mobile=True, has_touch=True
    )
    page = opened.page
    # The form as the patient saw it before the time went: the taken slot posted as chosen.
    page.evaluate(
        """(slot) => { const i = document.createElement('input');
           i.type = 'hidden'; i.name = 'slot'; i.value = slot;
           document.querySelector('form.booking-form').append(i); }""",
        taken,
    )
    page.get_by_label("Full name").fill("Mary Seacole")
    page.get_by_label("E-mail address").fill("mary@example.com")
    page.get_by_label("Phone number").fill("07911 123456")
    page.get_by_label(re.compile("^Contact me about this request")).check()
    page.get_by_role("button", name="Book my free call").click()
    page.wait_for_load_state()
    assert "just taken" in page.locator("#error-summary").inner_text()
    offered = page.locator("[data-times] input[name=slot]")
    assert offered.count() >= 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(screenshot_dir / "booking-time-taken-phone.png"), full_page=True)
    assert run_axe(page, axe_source) == []

    page.locator(f"label[for='{offered.first.get_attribute('id')}']").click()
    page.get_by_role("button", name="Book my free call").click()
    page.wait_for_url(re.compile("/book/confirmed/"))
    confirmation = page.url
    assert "07911 123456" in page.inner_text("main")
    page.get_by_role("link", name="Change or cancel this call").click()
    page.get_by_role("button", name="Cancel my call").click()
    assert page.get_by_role("heading", name=re.compile("^Cancel your call on")).is_visible()
    assert run_axe(page, axe_source) == []
    page.get_by_role("button", name="Yes, cancel my call").click()
    assert page.get_by_text("This call is cancelled").is_visible()
    page.goto(confirmation)
    assert page.get_by_role("heading", name="Your discovery call is cancelled").is_visible()
    assert run_axe(page, axe_source) == []
    # The refusal's 409 is the one status the browser reports; nothing else went wrong.
    assert [e for e in opened.errors if "status of 409" not in e] == []
    assert opened.csp_violations() == []
    with demo.app_context():
        statuses = sorted(db.session.scalars(sa.select(Booking.status)))
    assert statuses == ["cancelled", "confirmed"]
