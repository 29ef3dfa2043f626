"""The public site in a real browser: accessibility, keyboard use, no JavaScript, clean loads."""

from dataclasses import dataclass, field

import pytest

from tests.test_content import DEMO_ARTICLES, PUBLIC_PATHS

pytestmark = pytest.mark.browser

NOT_FOUND_PATH = "/nowhere-to-be-found"
ALL_PAGES = [*PUBLIC_PATHS, NOT_FOUND_PATH]
ARTICLE = f"/articles/{DEMO_ARTICLES[-1]}"
CLINIC = "/clinics/london"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PHONE_AXE_PAGES = ["/", "/articles/", ARTICLE, "/clinics/", CLINIC, "/about", NOT_FOUND_PATH]
SCREENSHOT_PAGES = {"home": "/", "article": ARTICLE, "clinic": CLINIC}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

# Collects Content-Security-Policy violations; init scripts are not subject to the CSP.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
});
"""


@dataclass
class Visit:
    """A page opened in a fresh context, with every error the browser reported on the way."""

    page: object
    status: int
    errors: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        return self.page.evaluate("() => window.__cspViolations || []")


def _failure(request) -> list[str]:
    """A failed request as an error, except the favicon the browser itself cancels on navigating.

    Chromium asks for the favicon on its own after load; a test that clicks on at once aborts
    that request (net::ERR_ABORTED), which says nothing about the site.
    """
    if request.failure == "net::ERR_ABORTED" and "/favicon" in request.url:
        return []
    return [f"request failed: {request.url} {request.failure}"]


def visit(new_context, url: str, viewport: dict = DESKTOP, **context_args) -> Visit:
    """Open url in a new browser context and wait until the page and its files are loaded."""
    context = new_context(viewport=viewport, **context_args)
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda m: m.type == "error" and errors.append(f"console: {m.text} at {m.location['url']}"),
    )
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    page.on("requestfailed", lambda r: errors.extend(_failure(r)))
    response = page.goto(url, wait_until="load")
    return Visit(page=page, status=response.status, errors=errors)


def expected_status(path: str) -> int:
    return 404 if path == NOT_FOUND_PATH else 200


def run_axe(page, axe_source: str) -> list[dict]:
    page.evaluate(axe_source)
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return result["violations"]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"][:5]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {node['target']}: {summary}")
    return "\n".join(lines)


@pytest.mark.parametrize("path", ALL_PAGES)
def test_axe_finds_no_violations_on_desktop(live_server, new_context, axe_source, path):
    opened = visit(new_context, live_server + path, DESKTOP)
    assert opened.status == expected_status(path)
    violations = run_axe(opened.page, axe_source)
    assert not violations, f"axe on {path} at 1280x900:\n{describe(violations)}"


@pytest.mark.parametrize("path", PHONE_AXE_PAGES)
def test_axe_finds_no_violations_on_a_phone(live_server, new_context, axe_source, path):
    opened = visit(new_context, live_server + path, PHONE)
    violations = run_axe(opened.page, axe_source)
    assert not violations, f"axe on {path} at 390x844:\n{describe(violations)}"


@pytest.mark.parametrize("path", ALL_PAGES)
def test_page_loads_cleanly_on_a_phone(live_server, new_context, path):
    """No console error, no CSP violation, no failed request, no sideways scrolling."""
    url = live_server + path
    opened = visit(new_context, url, PHONE)
    assert opened.status == expected_status(path)
    errors = opened.errors
    if path == NOT_FOUND_PATH:  # Chromium logs the 404 of the document itself
        errors = [e for e in errors if not e.endswith(f"status of 404 (NOT FOUND) at {url}")]
    assert not errors, f"{path}:\n" + "\n".join(errors)
    assert not opened.csp_violations(), f"{path}: {opened.csp_violations()}"
    widths = opened.page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{path} scrolls sideways at 390px: {widths}"


FOCUSED = """() => {
  const el = document.activeElement;
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const lin = (v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  let under = el.parentElement;  // the outline is drawn outside the element, over its parent
  while (under && (rgb(getComputedStyle(under).backgroundColor)[3] ?? 1) === 0) {
    under = under.parentElement;
  }
  const background = under ? getComputedStyle(under).backgroundColor : 'rgb(255, 255, 255)';
  const style = getComputedStyle(el);
  const [a, b] = [lum(rgb(style.outlineColor)), lum(rgb(background))];
  const box = el.getBoundingClientRect();
  return {tag: el.tagName.toLowerCase(), id: el.id, cls: el.className,
          href: el.getAttribute('href'), text: el.textContent.trim().slice(0, 60),
          outline: style.outlineStyle === 'none' ? 0 : parseFloat(style.outlineWidth),
          contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
          visible: box.width > 0 && box.height > 0 && box.bottom > 0
                   && box.top < window.innerHeight};
}"""


def focused(page) -> dict:
    """Describe the focused element and how well its focus ring stands out from behind it."""
    return page.evaluate(FOCUSED)


def tab_through(page, limit: int = 200) -> list[dict]:
    """Press Tab until focus leaves the page's last link; return each element focused."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        current = focused(page)
        if current["tag"] == "body" or (stops and current == stops[0]):
            break
        stops.append(current)
    return stops


def test_first_tab_reaches_the_skip_link_which_moves_focus_to_main(live_server, new_context):
    page = visit(new_context, live_server + "/").page
    page.keyboard.press("Tab")
    link = focused(page)
    assert link["cls"] == "skip-link" and link["href"] == "#main", link
    assert link["visible"], "the skip link must be visible once focused"
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "main"
    assert page.url.endswith("#main")


def test_article_booking_link_is_reachable_by_keyboard(live_server, new_context):
    page = visit(new_context, live_server + ARTICLE).page
    target = f"/book?from={DEMO_ARTICLES[-1]}"
    stops = tab_through(page)
    cta = [s for s in stops if s["href"] == target]
    assert cta, f"Tab never reached {target}; it went through {[s['href'] for s in stops]}"
    assert cta[0]["text"] == "Book your free discovery call"
    assert cta[0]["visible"]


@pytest.mark.parametrize("path", ["/", ARTICLE, CLINIC])
def test_every_focus_stop_has_a_visible_focus_ring(live_server, new_context, path):
    """WCAG 2.4.7 and 1.4.11: a focus ring at least 2px wide with 3:1 contrast behind it."""
    stops = tab_through(visit(new_context, live_server + path).page)
    assert len(stops) > 10
    weak = [s for s in stops if s["outline"] < 2 or s["contrast"] < 3 or not s["visible"]]
    assert not weak, f"{path}: weak focus indicators:\n" + "\n".join(map(str, weak))


@pytest.mark.parametrize("path", [ARTICLE, CLINIC])
def test_page_works_without_javascript(live_server, new_context, path):
    opened = visit(new_context, live_server + path, PHONE, java_script_enabled=False)
    page = opened.page
    assert opened.status == 200
    assert page.locator("h1").count() == 1 and page.locator("h1").inner_text().strip()
    assert page.locator("main p").count() >= 3
    assert page.locator("main a[href]").count() >= 3
    assert page.locator("a.skip-link").get_attribute("href") == "#main"
    assert page.locator("main a[href^='/book']").first.is_visible()
    if path == CLINIC:
        assert page.locator("table.hours tbody tr").count() == 7
        assert page.locator("main address").is_visible()
    else:
        faq = page.locator("details").first
        faq.locator("summary").click()  # native disclosure: no script involved
        assert faq.get_attribute("open") is not None


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_screenshots(live_server, new_context, screenshot_dir, viewport):
    size = f"{viewport['width']}x{viewport['height']}"
    for name, path in SCREENSHOT_PAGES.items():
        page = visit(new_context, live_server + path, viewport).page
        target = screenshot_dir / f"{name}-{size}.png"
        page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 10_000, f"{target} looks empty"
