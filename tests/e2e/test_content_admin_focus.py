"""A keyboard user in the content editor keeps their place: after "Add another", the cursor is
in the new row; after a failed save, on the error summary. With JavaScript and without."""

import pytest

from tests.e2e.test_marketer_journey import csp_violations, signed_in  # noqa: F401 (a fixture)
from tests.e2e.test_public_pages import DESKTOP, describe, run_axe

pytestmark = pytest.mark.browser


def _focused_id(page) -> str:
    return page.evaluate("() => document.activeElement && document.activeElement.id")


@pytest.mark.parametrize("javascript", [True, False])
def test_add_another_puts_the_cursor_in_the_new_row(live_server, signed_in, javascript):  # noqa: F811
    _context, page = signed_in(viewport=DESKTOP, java_script_enabled=javascript)
    page.goto(live_server + "/admin/content/articles/1")
    rows = page.locator("input[name$=-question]").count()
    page.get_by_role("button", name="Add another question").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"#faqs-{rows}-question")
    assert _focused_id(page) == f"faqs-{rows}-question"
    page.keyboard.type("Typed straight away?")
    assert page.locator(f"#faqs-{rows}-question").input_value() == "Typed straight away?"
    assert not csp_violations(page)


def test_a_failed_save_puts_the_cursor_on_the_error_summary(live_server, signed_in, axe_source):  # noqa: F811
    _context, page = signed_in(viewport=DESKTOP)
    page.goto(live_server + "/admin/content/people/1")
    page.get_by_label("Name", exact=True).fill("")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state()
    assert _focused_id(page) == "error-summary"
    page.keyboard.press("Tab")
    assert _focused_id(page) == ""  # the summary's first link, to the name field
    assert page.evaluate("() => document.activeElement.getAttribute('href')") == "#name"
    violations = run_axe(page, axe_source)
    assert not violations, describe(violations)
    assert not csp_violations(page)


def test_publish_anyway_unticked_points_at_the_checkbox(live_server, signed_in, axe_source):  # noqa: F811
    _context, page = signed_in(viewport=DESKTOP)
    page.goto(live_server + "/admin/content/articles/1")
    page.get_by_role("button", name="Publish changes").click()
    page.wait_for_load_state()
    assert _focused_id(page) == "error-summary"
    page.get_by_role("link", name="Tick the box to confirm you have checked the warnings.").click()
    assert _focused_id(page) == "confirm_warnings"
    violations = run_axe(page, axe_source)
    assert not violations, describe(violations)
