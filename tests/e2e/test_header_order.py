"""The public header: focus order follows the visual order at every width (WCAG 2.4.3, 1.3.2).

Tabbing from the skip link through the header must move top to bottom and, within a row,
left to right; a layout that shows an element earlier than its place in the source (flex
`order`, grid areas, floats) fails here. The header uses no script, so it is checked with
JavaScript off as well.
"""

import pytest

from tests.e2e.test_public_pages import describe, run_axe, visit

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
# The two widths of the brief, the WCAG reflow width (320) and one either side of the header's
# 52rem breakpoint (832px), where the layout switches.
VIEWPORTS = {
    "phone-390": PHONE,
    "desktop-1280": DESKTOP,
    "reflow-320": {"width": 320, "height": 640},
    "tablet-768": {"width": 768, "height": 1024},
    "narrow-desktop-860": {"width": 860, "height": 800},
}
HEADER_LINKS = 6  # the brand, four menu links and the booking button
HEADER_STOPS = HEADER_LINKS + 2  # and the search box with its button

FOCUS_BOX = """() => {
  const el = document.activeElement;
  const box = el.getBoundingClientRect();
  return {text: el.textContent.trim().replace(/\\s+/g, ' ').slice(0, 40),
          cls: el.className, href: el.getAttribute('href'),
          inHeader: !!el.closest('header.site-header'),
          top: box.top + window.scrollY, bottom: box.bottom + window.scrollY,
          left: box.left, right: box.right, width: box.width, height: box.height};
}"""


def header_stops(page) -> list[dict]:
    """Tab to the skip link, then on through the header; return the skip link and every stop."""
    page.keyboard.press("Tab")
    skip = page.evaluate(FOCUS_BOX)
    assert skip["cls"] == "skip-link", f"the first Tab should reach the skip link, got {skip}"
    stops = [skip]
    for _ in range(20):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUS_BOX)
        if not stop["inHeader"]:
            break
        stops.append(stop)
    return stops


def same_row(a: dict, b: dict) -> bool:
    """Two boxes share a row when they overlap vertically by half the shorter one's height."""
    overlap = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
    return overlap >= 0.5 * min(a["height"], b["height"])


def out_of_order(stops: list[dict]) -> list[str]:
    """Each pair of neighbouring stops where the later one is drawn before the earlier one."""
    problems = []
    for before, after in zip(stops, stops[1:], strict=False):
        if same_row(before, after):
            backwards = after["left"] < before["left"] - 1
            how = "left of"
        else:
            backwards = after["top"] < before["top"]
            how = "above"
        if backwards:
            problems.append(
                f"{after['text']!r} (top {after['top']:.0f}, left {after['left']:.0f}) comes after "
                f"{before['text']!r} (top {before['top']:.0f}, left {before['left']:.0f}) "
                f"in tab order but is drawn {how} it"
            )
    return problems


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_header_focus_order_follows_the_visual_order(
    live_server, new_context, viewport, javascript
):
    page = visit(new_context, live_server + "/", viewport, java_script_enabled=javascript).page
    stops = header_stops(page)
    size = f"{viewport['width']}x{viewport['height']}"
    order = [s["text"] for s in stops]
    assert len(stops) == 1 + HEADER_STOPS, f"at {size} Tab went through {order}"
    assert all(s["width"] > 0 and s["height"] > 0 for s in stops), f"hidden stop at {size}"
    problems = out_of_order(stops)
    assert not problems, f"at {size} the focus order {order} jumps about:\n" + "\n".join(problems)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the home page scrolls sideways at {size}: {widths}"


def test_header_links_stay_in_view_and_large_enough(live_server, new_context):
    """At 320px every header link fits inside the viewport with a target of 24px (WCAG 2.5.8)."""
    page = visit(new_context, live_server + "/", VIEWPORTS["reflow-320"]).page
    boxes = page.locator("header.site-header a").evaluate_all(
        "els => els.map(el => { const b = el.getBoundingClientRect();"
        " return {text: el.textContent.trim(), left: b.left, right: b.right, height: b.height}; })"
    )
    assert len(boxes) == HEADER_LINKS, boxes
    cramped = [b for b in boxes if b["left"] < 0 or b["right"] > 320 or b["height"] < 24]
    assert not cramped, cramped


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_home_page_passes_axe(live_server, new_context, axe_source, viewport):
    page = visit(new_context, live_server + "/", viewport).page
    violations = run_axe(page, axe_source)
    size = f"{viewport['width']}x{viewport['height']}"
    assert not violations, f"axe on / at {size}:\n{describe(violations)}"
