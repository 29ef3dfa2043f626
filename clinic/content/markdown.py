"""Markdown to safe HTML: CommonMark with tables, heading anchors, sanitised by nh3."""

import re

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup
from mdit_py_plugins.anchors import anchors_plugin

_md = (
    MarkdownIt("commonmark", {"html": False})
    .enable("table")
    .use(anchors_plugin, min_level=2, max_level=3)
)

_TAGS = {
    "a", "p", "br", "hr", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "code", "pre",
    "blockquote", "table", "thead", "tbody", "tr", "th", "td", "img",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
    "th": {"align", "scope"},
    "td": {"align"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
}
_URL_SCHEMES = {"http", "https", "mailto", "tel"}


def sanitise(html: str) -> str:
    """Strip everything but plain document markup: no scripts, handlers or odd URL schemes."""
    return nh3.clean(html, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes=_URL_SCHEMES)


def render(text: str) -> Markup:
    """Render an editor's Markdown as safe HTML with scrollable, labelled tables."""
    html = sanitise(_md.render(text or ""))
    html = html.replace("<th>", '<th scope="col">')
    html = html.replace(
        "<table>", '<div class="table-scroll" role="region" aria-label="Table" tabindex="0"><table>'
    ).replace("</table>", "</table></div>")
    return Markup(html)


def headings(text: str) -> list[dict]:
    """Return the h2/h3 headings with their anchors, for a table of contents."""
    tokens = _md.parse(text or "")
    found = []
    for opening, inline in zip(tokens, tokens[1:], strict=False):
        if opening.type == "heading_open" and opening.tag in {"h2", "h3"}:
            found.append(
                {
                    "level": int(opening.tag[1]),
                    "id": opening.attrs.get("id"),
                    "text": inline.content,
                }
            )
    return found


def word_count(text: str) -> int:
    return len(re.findall(r"\w+", text or ""))


def reading_minutes(text: str, words_per_minute: int = 200) -> int:
    """Estimate reading time, rounded up, at least one minute."""
    return max(1, -(-word_count(text) // words_per_minute))
