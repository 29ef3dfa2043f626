"""A marketer in a real browser: sign in, edit an article, preview it, publish it, see it live."""

import re

import pytest

from tests.auth_helpers import PASSWORD, ROLE_EMAILS, login, make_users
from tests.e2e.test_public_pages import CSP_LISTENER, DESKTOP, PHONE, describe, run_axe
from tests.e2e.test_staff_journey import enter_code
from tests.test_content import DEMO_ARTICLES
from tests.test_content_admin import form_data

pytestmark = pytest.mark.browser

ARTICLE = DEMO_ARTICLES[-1]
NEW_TITLE = "Amitriptyline and back pain: what the evidence says"
NEW_PARAGRAPH = "This paragraph was added in the browser test."


@pytest.fixture
def signed_in(live_server, demo, new_context):
    """A browser context with the marketer signed in through the login form."""

    def open_context(viewport=DESKTOP, **options):
        context = new_context(viewport=viewport, **options)
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        page.goto(live_server + "/admin/login")
        page.get_by_label("E-mail address").fill(ROLE_EMAILS["marketer"])
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        enter_code(page)
        page.wait_for_url(live_server + "/admin/")
        return context, page

    make_users(demo)
    return open_context


def csp_violations(page) -> list[str]:
    return page.evaluate("() => window.__cspViolations || []")


def test_marketer_edits_previews_and_publishes_an_article(
    live_server, signed_in, screenshot_dir, axe_source
):
    context, page = signed_in()
    page.get_by_role("link", name="Content", exact=True).click()
    page.screenshot(path=screenshot_dir / "content-index-1280x900.png", full_page=True)
    page.get_by_role("link", name=re.compile("Amitriptyline for Back Pain")).click()
    expect_editor = page.get_by_role("heading", level=1, name="Edit article")
    assert expect_editor.is_visible()

    page.get_by_label("Title (the page's main heading)").fill(NEW_TITLE)
    body = page.get_by_label("Body (Markdown)")
    body.fill(body.input_value() + "\n\n" + NEW_PARAGRAPH + "\n")
    counter = page.locator("[data-count-for=seo_title]")
    page.get_by_label("SEO title").fill("x" * 70)
    assert "10 too many" in counter.inner_text()  # the live count (editor.js)
    page.get_by_label("SEO title").fill("Amitriptyline for back pain: the evidence")
    page.screenshot(path=screenshot_dir / "article-editor-1280x900.png", full_page=True)

    with context.expect_page() as opened:
        page.get_by_role("button", name=re.compile("^Preview")).click()
    preview = opened.value
    preview.wait_for_load_state()
    assert preview.locator("h1").inner_text() == NEW_TITLE
    assert preview.get_by_text(NEW_PARAGRAPH).is_visible()
    assert preview.locator(".preview-banner").is_visible()
    preview.screenshot(path=screenshot_dir / "article-preview-1280x900.png")
    preview.close()

    public = context.new_page()
    public.goto(f"{live_server}/articles/{ARTICLE}")
    assert public.locator("h1").inner_text() != NEW_TITLE  # nothing published yet

    page.get_by_role("button", name="Publish changes").click()
    warnings = page.locator(".warning-panel")
    assert "headline names amitriptyline" in warnings.inner_text()
    page.screenshot(path=screenshot_dir / "article-warning-1280x900.png", full_page=True)
    page.get_by_label("I have checked the warnings above and want to publish anyway").check()
    page.get_by_role("button", name="Publish changes").click()
    assert "The change is on the public site now" in page.locator("[role=status]").inner_text()

    # A reload revalidates the browser's copy (max-age 60) with the ETag: the server's is new.
    public.reload()
    assert public.locator("h1").inner_text() == NEW_TITLE
    assert public.get_by_text(NEW_PARAGRAPH).is_visible()
    assert not csp_violations(page)


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("content-index", "/admin/content/"),
        ("article-editor", "/admin/content/articles/1"),
        ("new-article", "/admin/content/articles/new"),
        ("clinic-editor", "/admin/content/clinics/1"),
        ("person-editor", "/admin/content/people/1"),
        ("images", "/admin/content/images/"),
        ("redirects", "/admin/content/redirects/"),
        ("review-queue", "/admin/content/review"),
    ],
)
def test_editor_pages_pass_axe_and_the_csp(
    live_server, signed_in, axe_source, screenshot_dir, name, path
):
    _context, page = signed_in()
    page.goto(live_server + path)
    violations = run_axe(page, axe_source)
    assert not violations, describe(violations)
    assert not csp_violations(page)
    if name in ("clinic-editor", "images"):
        page.screenshot(path=screenshot_dir / f"{name}-1280x900.png", full_page=True)


def test_editor_works_on_a_phone_without_javascript(
    live_server, signed_in, axe_source, screenshot_dir
):
    context, page = signed_in(viewport=PHONE, java_script_enabled=False)
    page.goto(live_server + "/admin/content/articles/1")
    rows = page.locator("input[name^=key_points-]")
    before = rows.count()
    page.get_by_role("button", name="Add another key point").click()
    assert rows.count() == before + 1
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the editor scrolls sideways on a phone"
    page.screenshot(path=screenshot_dir / "article-editor-390x844.png", full_page=True)


@pytest.mark.parametrize("javascript", [True, False])
def test_a_colleagues_save_is_never_silently_replaced(
    live_server, signed_in, demo, axe_source, javascript
):
    _context, page = signed_in(java_script_enabled=javascript)
    path = "/admin/content/people/1"
    page.goto(live_server + path)
    colleague = demo.test_client()
    login(colleague, "admin")
    theirs = form_data(colleague.get(path))
    theirs.update(name="Saved by a colleague", action="save")
    assert colleague.post(path, data=theirs).status_code == 303

    name = page.get_by_label("Name", exact=True)
    name.fill("Saved in the browser")
    page.get_by_role("button", name="Save", exact=True).click()
    notice = page.locator("#conflict")
    assert "admin@example.test saved it" in notice.inner_text()
    assert name.input_value() == "Saved in the browser"  # nothing typed is lost
    compared = page.locator("#conflict-compare table.compare tr.changed")
    assert compared.first.locator("td").all_inner_texts() == [
        "Saved by a colleague",
        "Saved in the browser",
    ]
    assert "Also opened by admin@example.test" in page.locator("#presence").inner_text()
    if javascript:  # axe runs in the page
        violations = run_axe(page, axe_source)
        assert not violations, describe(violations)

    page.get_by_label("Save my version anyway, replacing theirs").check()
    page.get_by_role("button", name="Save my version").click()
    assert "Saved." in page.locator("[role=status]").inner_text()
    assert name.input_value() == "Saved in the browser"
    assert not javascript or not csp_violations(page)


def test_changes_saved_as_a_draft_stay_off_the_live_page(live_server, signed_in, axe_source):
    context, page = signed_in()
    page.goto(live_server + "/admin/content/articles/1")
    title = page.get_by_label("Title (the page's main heading)")
    live_title = title.input_value()
    title.fill("A draft title, not live yet")
    page.get_by_role("button", name="Save changes as draft").click()
    assert "saved as a draft" in page.locator("[role=status]").inner_text()
    notice = page.locator("#pending")
    assert "marketer@example.test saved changes as a draft" in notice.inner_text()
    assert title.input_value() == "A draft title, not live yet"
    violations = run_axe(page, axe_source)
    assert not violations, describe(violations)

    public = context.new_page()
    live_link = page.get_by_role("link", name="View the live page")
    public.goto(live_server + live_link.get_attribute("href"))
    assert public.locator("h1").inner_text() == live_title
    public.goto(live_server + "/admin/content/")
    assert public.locator(".badge-pending").inner_text() == "Unpublished changes"
    violations = run_axe(public, axe_source)
    assert not violations, describe(violations)

    page.get_by_role("button", name="Discard these changes").click()
    assert "discarded" in page.locator("[role=status]").inner_text()
    assert notice.count() == 0
    assert title.input_value() == live_title
    assert not csp_violations(page)
