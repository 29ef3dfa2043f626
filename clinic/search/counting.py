"""Whether a search is counted: never for robots, prefetches, people who asked not to be
tracked (Sec-GPC, DNT) or staff signed in to the admin. Nothing about the visitor is kept
either way; this only decides whether the day's count for the query goes up."""

import re

from flask import Request, current_app
from flask_login import current_user

BOT = re.compile(
    r"bot|crawl|spider|slurp|mediapartners|facebookexternalhit|embedly|preview|headless|"
    r"lighthouse|pingdom|uptime|monitor|python-requests|python-urllib|aiohttp|httpx|curl/|"
    r"wget|go-http-client|java/|okhttp|libwww|scrapy|phantomjs|ahrefs|semrush|petalsearch",
    re.IGNORECASE,
)


def is_bot(user_agent: str) -> bool:
    """Tell a robot by its user agent (or by its having none)."""
    return not user_agent.strip() or bool(BOT.search(user_agent))


def is_prefetch(headers) -> bool:
    """Tell a browser's speculative fetch (prefetch, prerender, link preview) from a visit."""
    purpose = " ".join(
        headers.get(name, "") for name in ("Sec-Purpose", "Purpose", "X-Purpose", "X-Moz")
    ).lower()
    return any(word in purpose for word in ("prefetch", "prerender", "preview"))


def asked_not_to_be_tracked(headers) -> bool:
    return headers.get("Sec-GPC", "").strip() == "1" or headers.get("DNT", "").strip() == "1"


def is_staff(request: Request) -> bool:
    """Tell whether a member of staff is signed in (the session is read only if one exists)."""
    if current_app.config["SESSION_COOKIE_NAME"] not in request.cookies:
        return False
    return bool(current_user.is_authenticated)


def should_count(request: Request) -> bool:
    """Tell whether this search adds to the day's count."""
    headers = request.headers
    return not (
        is_bot(headers.get("User-Agent", ""))
        or is_prefetch(headers)
        or asked_not_to_be_tracked(headers)
        or is_staff(request)
    )
