"""Pure text rules of site search: Markdown to plain text, a query to safe terms, the term
that is counted, and highlight markers to safe HTML. No Flask, no database."""

import re
import unicodedata

from markdown_it import MarkdownIt
from markupsafe import Markup, escape

MAX_QUERY_CHARS = 200  # longer is refused (400): no one types more into a site search
MAX_TERMS = 12  # words beyond these are ignored, so a pasted paragraph stays a cheap query
MAX_TERM_CHARS = 100  # the length of a counted query
# Private-use characters: never typed, stripped from indexed text, so any found in a
# snippet came from the database's highlighter.
OPEN, CLOSE = "\ue000", "\ue001"

_md = MarkdownIt("commonmark", {"html": False}).enable("table")
_WORD_TOKENS = ("text", "code_inline", "softbreak", "hardbreak")
_WORD = re.compile(r"\w+", re.UNICODE)
_EMAIL = re.compile(r"\S+@\S+")
_LONG_NUMBER = re.compile(r"\d[\d\s().+-]{5,}\d")
_SPACES = re.compile(r"\s+")


def plain_text(markdown: str) -> str:
    """Return the words of a Markdown text without its markup (links keep their words;
    soft line breaks become spaces)."""
    parts: list[str] = []
    for token in _md.parse(markdown or ""):
        if token.type == "inline":
            words = [c.content or " " for c in token.children or [] if c.type in _WORD_TOKENS]
            parts.append("".join(words))
        elif token.type in ("code_block", "fence"):
            parts.append(token.content)
    return clean(" ".join(parts))


def clean(text: str) -> str:
    """Collapse whitespace and drop the highlight markers and NUL from text to be indexed."""
    text = (text or "").replace(OPEN, "").replace(CLOSE, "").replace("\x00", "")
    return _SPACES.sub(" ", text).strip()


def terms(query: str) -> list[str]:
    """Return the query's words, at most MAX_TERMS: letters and digits only, so no search
    operator of either database (quotes, NEAR, *, -, OR, column filters) survives."""
    words = _WORD.findall(unicodedata.normalize("NFKC", query or "").casefold())
    return [w for w in words if w.strip("_")][:MAX_TERMS]


def counted_term(query: str) -> str:
    """Return the query as it is counted: lower case, spaces collapsed, e-mail addresses and
    phone-like numbers masked (people do type their own), at most MAX_TERM_CHARS."""
    text = unicodedata.normalize("NFKC", query or "").casefold()
    text = _EMAIL.sub("[email]", text)
    text = _LONG_NUMBER.sub("[number]", text)
    return clean(text)[:MAX_TERM_CHARS].strip()


def highlighted(text: str) -> Markup:
    """Escape a database snippet, then turn its markers into <mark>: the text itself is never
    trusted as HTML."""
    escaped = str(escape(text or ""))
    marked = re.sub(
        re.escape(OPEN) + "(.*?)" + re.escape(CLOSE), r"<mark>\1</mark>", escaped, flags=re.S
    )
    return Markup(marked.replace(OPEN, "").replace(CLOSE, ""))
