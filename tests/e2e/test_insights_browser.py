"""Visit counting in a real browser: the beacon counts with JavaScript on, nothing is counted
(and everything works) with it off; the insights page passes axe and sorts without script."""

import os
import time

import pytest
import sqlalchemy as sa

from clinic import uktime
from clinic.extensions import db
from clinic.insights import beacon, store
from clinic.insights.models import VisitCount
from tests.auth_helpers import make_users
from tests.e2e.test_public_pages import CSP_LISTENER, DESKTOP, describe, run_axe
from tests.e2e.test_staff_booking import Inspector
from tests.e2e.test_staff_journey import sign_in

pytestmark = pytest.mark.browser

ARTICLE = "/articles/does-amitriptyline-relax-muscles"
# Playwright's headless Chromium names itself HeadlessChrome, which is not counted (a robot):
# these tests browse as the desktop Chrome a patient would use.
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


@pytest.fixture
def counting(demo):
    """The demo app counting into its own Redis keys (when REDIS_URL is set), removed after."""
    demo.config["INSIGHTS_KEY_PREFIX"] = f"e2e-{os.getpid()}-insights"
    store.init_app(demo)
    beacon.per_minute = beacon.PerMinute()
    yield demo
    chosen = demo.extensions["insights_store"]
    if isinstance(chosen, store.RedisStore) and (keys := chosen.all_keys()):
        chosen.client.delete(*keys)


def counted(app) -> dict[tuple[str, str], int]:
    with app.app_context():
        store.current().fold(uktime.today())
        db.session.commit()
        rows = db.session.execute(
            sa.select(VisitCount.kind, VisitCount.path, sa.func.sum(VisitCount.views)).group_by(
                VisitCount.kind, VisitCount.path
            )
        )
        return {(kind, path): int(views) for kind, path, views in rows}


def wait_for_count(app, key, views, seconds=10.0) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        found = counted(app)
        if found.get(key) == views or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_without_javascript_nothing_is_counted_and_the_site_works(
    counting, live_server, new_context
):
    page = new_context(viewport=DESKTOP, user_agent=CHROME, java_script_enabled=False).new_page()
    page.goto(live_server + ARTICLE)
    page.get_by_role("link", name="Book a free call").first.click()
    page.wait_for_url("**/book**")
    assert page.get_by_role("heading", level=1).is_visible()
    page.goto(live_server + "/clinics/")
    time.sleep(1.0)  # time enough for any beacon to arrive
    assert counted(counting) == {}


def test_with_javascript_the_beacon_counts_the_page_and_the_form_opened_from_it(
    counting, live_server, new_context
):
    context = new_context(viewport=DESKTOP, user_agent=CHROME)
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.goto(live_server + ARTICLE + "?utm_source=newsletter&utm_campaign=spring")
    found = wait_for_count(counting, ("view", ARTICLE), 1)
    assert found.get(("view", ARTICLE)) == 1, found
    page.get_by_role("link", name="Book a free call").first.click()
    page.wait_for_url("**/book**")
    found = wait_for_count(counting, ("form", ARTICLE), 1)
    assert found.get(("form", ARTICLE)) == 1, found
    assert found.get(("view", "/book")) == 1
    assert page.evaluate("() => window.__cspViolations") == []
    with counting.app_context():
        sources = set(db.session.scalars(sa.select(VisitCount.source)))
        campaigns = set(db.session.scalars(sa.select(VisitCount.campaign)))
    assert sources == {"newsletter"} and campaigns == {"spring"}  # the visit's first touch


def test_the_insights_page_passes_axe_sorts_and_explains_a_bad_date(
    counting, live_server, new_context, axe_source, screenshot_dir
):
    make_users(counting)
    with counting.app_context():
        visits = [(store.Key("view", ARTICLE, "google.com", "(none)"), 40, 31)]
        store.add_counts(uktime.today(), visits)
        store.add_counts(uktime.today(), [(store.Key("site", "", "google.com", "(none)"), 40, 31)])
        db.session.commit()
    context = new_context(viewport=DESKTOP)
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    sign_in(page, live_server, "marketer")
    page.get_by_role("link", name="Insights", exact=True).click()
    page.wait_for_url("**/admin/insights/")
    assert page.locator("table.insights-table tbody tr").count() >= 1
    page.screenshot(path=screenshot_dir / "insights-1280x900.png", full_page=True)
    violations = run_axe(page, axe_source)
    assert violations == [], describe(violations)

    page.get_by_role("link", name="Bookings", exact=True).click()
    assert page.locator("th[aria-sort]").inner_text().startswith("Bookings")

    page.get_by_label("Or from").fill("2026-02-10")
    page.get_by_label("to", exact=True).fill("2026-02-01")
    page.get_by_role("button", name="Show").click()
    assert "on or before the last day" in page.locator("#from-error").inner_text()
    violations = run_axe(page, axe_source)
    assert violations == [], describe(violations)
    assert page.evaluate("() => window.__cspViolations") == []


def test_without_javascript_the_insights_page_reads_sorts_and_passes_axe(
    counting, live_server, new_context, axe_source, screenshot_dir
):
    """Sign-in, the page, a sort and a bad date all work with JavaScript off; axe and the
    layout checks read each page as it stood (served again to a page that runs none of the
    site's scripts)."""
    make_users(counting)
    with counting.app_context():
        store.add_counts(
            uktime.today(), [(store.Key("view", ARTICLE, "google.com", "(none)"), 12, 9)]
        )
        db.session.commit()
    page = new_context(viewport=DESKTOP, java_script_enabled=False).new_page()
    inspector = Inspector(new_context(viewport=DESKTOP), axe_source, screenshot_dir)
    sign_in(page, live_server, "marketer")
    page.goto(live_server + "/admin/insights/")
    assert page.locator("table.insights-table tbody tr").count() >= 1
    inspector.check(page, "insights")
    page.get_by_role("link", name="Views", exact=True).click()
    assert page.locator("th[aria-sort]").inner_text().startswith("Views")
    page.get_by_label("Or from").fill("2026-02-10")
    page.get_by_label("to", exact=True).fill("2026-02-01")
    page.get_by_role("button", name="Show").click()
    assert "on or before the last day" in page.locator("#from-error").inner_text()
    inspector.check(page, "insights-bad-date")
    assert inspector.problems == []
