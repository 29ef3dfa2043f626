"""Site search in a real browser: the header box and the results page, with JavaScript on and
off, on a phone and a desktop, checked with axe; the admin page of searches too."""

import pytest

from tests.auth_helpers import make_users
from tests.e2e.test_public_pages import DESKTOP, PHONE, describe, focused, run_axe, visit
from tests.e2e.test_staff_booking import Inspector
from tests.e2e.test_staff_journey import sign_in

pytestmark = pytest.mark.browser
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}


def checked_without_script(new_context, viewport, axe_source, screenshot_dir, page, name):
    """Return what axe finds on a page opened with JavaScript off: its HTML is served again,
    at its own address, to a page that runs axe but none of the site's scripts."""
    inspector = Inspector(
        new_context(viewport=viewport), axe_source, screenshot_dir, pages=r".*/search\?.*"
    )
    inspector.url, inspector.html = page.url.split("#")[0], page.content()
    inspector.page.goto(inspector.url)
    inspector.page.screenshot(path=screenshot_dir / f"no-js-{name}.png", full_page=True)
    return describe(run_axe(inspector.page, axe_source))


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_the_header_box_searches_and_the_results_pass_axe(
    live_server, new_context, axe_source, screenshot_dir, viewport, javascript
):
    opened = visit(
        new_context, live_server + "/articles/", viewport, java_script_enabled=javascript
    )
    page = opened.page
    box = page.get_by_role("search", name="Site").get_by_role("searchbox", name="Search the site")
    box.fill("amitriptyline muscles")
    box.press("Enter")  # a plain GET form: no script needed
    page.wait_for_url("**/search?q=amitriptyline+muscles")
    results = page.locator(".search-result")
    assert results.count() >= 1
    assert results.first.locator("h2 a").inner_text().startswith("Does Amitriptyline Relax")
    assert results.first.locator("mark").count() >= 1
    assert page.locator("#search-q").input_value() == "amitriptyline muscles"
    if javascript:
        violations = run_axe(page, axe_source)
        assert not violations, describe(violations)
    else:
        found = checked_without_script(
            new_context, viewport, axe_source, screenshot_dir, page, "search-results"
        )
        assert found == "", found
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the results page scrolls sideways: {widths}"
    assert not opened.errors and not opened.csp_violations()
    page.get_by_role("link", name="Does Amitriptyline Relax Muscles?").click()
    page.wait_for_url("**/articles/does-amitriptyline-relax-muscles")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_no_results_and_empty_queries_read_well(
    live_server, new_context, axe_source, screenshot_dir, javascript
):
    opened = visit(
        new_context,
        live_server + '/search?q=<i>"xylophone"</i>',
        PHONE,
        java_script_enabled=javascript,
    )
    page = opened.page
    assert page.get_by_role("heading", name='No results for “<i>"xylophone"</i>”').is_visible()
    assert page.get_by_role("link", name="Book a free 15-minute discovery call").is_visible()
    if javascript:
        violations = run_axe(page, axe_source)
        assert not violations, describe(violations)
    else:
        found = checked_without_script(
            new_context, PHONE, axe_source, screenshot_dir, page, "search-no-results"
        )
        assert found == "", found
    page.locator("#search-q").fill("")  # an empty search
    page.locator("main").get_by_role("button", name="Search").click()
    assert "Type a word or two" in page.locator("#search-q-error").inner_text()
    too_long = visit(new_context, live_server + "/search?q=" + "x" * 300, PHONE)
    assert too_long.status == 400
    assert too_long.page.locator("#search-q").get_attribute("aria-invalid") == "true"
    assert not run_axe(too_long.page, axe_source)


def test_the_header_box_is_reached_by_keyboard_with_a_visible_focus_ring(live_server, new_context):
    page = visit(new_context, live_server + "/", PHONE).page
    for _ in range(12):
        page.keyboard.press("Tab")
        if focused(page)["id"] == "site-search-q":
            break
    stop = focused(page)
    assert stop["id"] == "site-search-q", stop
    assert stop["outline"] >= 2 and stop["contrast"] >= 3 and stop["visible"], stop
    page.keyboard.type("prolotherapy")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=prolotherapy")
    assert page.locator(".search-result").count() >= 1


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_the_admin_page_of_searches_passes_axe(
    demo, live_server, new_context, axe_source, viewport
):
    visitor = visit(
        new_context,
        live_server + "/search?q=xylophone",
        DESKTOP,
        user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0",
    )
    assert visitor.page.locator(".no-results").is_visible()
    make_users(demo)
    context = new_context(viewport=viewport)
    page = context.new_page()
    sign_in(page, live_server, "marketer")
    page.goto(live_server + "/admin/insights/searches?days=7")
    gaps = page.locator("#gaps-caption").locator("xpath=ancestor::table")
    assert "xylophone" in gaps.inner_text()
    violations = run_axe(page, axe_source)
    assert not violations, describe(violations)
