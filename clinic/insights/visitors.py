"""What a beacon may tell us, reduced to what we keep: no Flask, no storage.

A visitor is a keyed hash of the day's random salt, the network the request came from (an
IPv4 /24 or an IPv6 /48, never the address) and the browser family: enough to count one
day's distinct visitors, useless for following anybody once the salt is deleted.
"""

import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass

MAX_PATH = 200
MAX_TAG = 100
NO_SOURCE = "(direct)"
NO_CAMPAIGN = "(none)"
BOOKING_PATH = "/book"

# Pages worth counting, by shape: a manage or confirmation link (which carries a secret
# token), an admin page or a made-up address never becomes a row.
COUNTED_PATH = re.compile(
    r"^/(?:|articles/|articles/[a-z0-9-]{1,120}|clinics/|clinics/[a-z0-9-]{1,120}"
    r"|treatments/[a-z0-9-]{1,120}|authors/[a-z0-9-]{1,120}|about|privacy|book|search)$"
)
BOTS = re.compile(
    r"bot|crawl|spider|slurp|scrape|headless|lighthouse|pagespeed|preview|monitor|pingdom"
    r"|uptime|curl|wget|python|httpx|aiohttp|go-http|java/|okhttp|libwww|node-fetch|axios"
    r"|phantomjs|selenium|playwright|puppeteer|facebookexternalhit|embedly|whatsapp"
    r"|mediapartners|scrapy|ahrefs|semrush|petalsearch",
    re.IGNORECASE,
)
# Most specific first: Edge and Opera say "Chrome" too, and Chrome says "Safari".
FAMILIES = (
    ("edge", re.compile(r"Edg(?:e|A|iOS)?/")),
    ("opera", re.compile(r"OPR/|Opera")),
    ("samsung", re.compile(r"SamsungBrowser/")),
    ("firefox", re.compile(r"Firefox/|FxiOS/")),
    ("chrome", re.compile(r"Chrome/|CriOS/|Chromium/")),
    ("safari", re.compile(r"Safari/")),
)
TAG = re.compile(r"[^\w .:/+-]", re.UNICODE)


@dataclass(frozen=True)
class Key:
    """One count: what was seen, on which page, from which source and campaign."""

    kind: str  # "view" of a page, "site" (any page), "form" (the booking form opened)
    path: str
    source: str
    campaign: str

    def text(self) -> str:
        return "\x1f".join((self.kind, self.path, self.source, self.campaign))

    @classmethod
    def from_text(cls, text: str) -> "Key":
        return cls(*text.split("\x1f"))


def is_bot(user_agent: str) -> bool:
    """Tell whether a user agent names a crawler, a preview fetcher or a script (or nothing)."""
    return not user_agent or bool(BOTS.search(user_agent))


def browser_family(user_agent: str) -> str:
    """Return the browser's family name only ("firefox"): never its version or system."""
    for name, pattern in FAMILIES:
        if pattern.search(user_agent):
            return name
    return "other"


def network(address: str) -> str:
    """Return the /24 (IPv4) or /48 (IPv6) network an address belongs to, as text."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def visitor_hash(salt: bytes, address: str, user_agent: str, key: Key) -> str:
    """Hash the day's salt, the network, the browser family and the count's key together:
    the same person gets a different value on each page and on each day."""
    message = "\x1f".join((network(address), browser_family(user_agent), key.text()))
    return hmac.new(salt, message.encode(), hashlib.sha256).hexdigest()[:32]


def counted_path(path: str) -> str | None:
    """Return the page's path when it is one worth counting, else None."""
    path = (path or "").split("?", 1)[0].split("#", 1)[0]
    if len(path) > MAX_PATH:
        return None
    return path if COUNTED_PATH.match(path) else None


def domain(value: str | None) -> str:
    """Return the host name of a referrer ("www.google.com" -> "google.com"), or ""."""
    value = (value or "").strip().lower()
    if "//" in value:
        value = value.split("//", 1)[1]
    host = value.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
    host = host.removeprefix("www.")
    return host[:MAX_TAG] if re.fullmatch(r"[a-z0-9.-]+", host) and "." in host else ""


def tag(value: str | None) -> str:
    """Return a campaign tag as kept: trimmed, lower case, short, no odd characters."""
    return TAG.sub("", (value or "").strip().lower())[:MAX_TAG]


def source_of(utm_source: str | None, referrer: str | None, own_host: str) -> str:
    """Name where a visit came from: its utm_source, else the referring site, else direct."""
    named = tag(utm_source)
    if named:
        return named
    site = domain(referrer)
    own = domain(own_host)
    return site if site and site != own else NO_SOURCE


def article_path(slug: str | None) -> str:
    """Return the path of the article a booking form was opened from, or "" for none."""
    slug = (slug or "").strip().lower()
    return f"/articles/{slug}" if re.fullmatch(r"[a-z0-9-]{1,120}", slug) else ""


def keys_for(path: str, source: str, campaign: str, article: str | None) -> list[Key]:
    """Return the counts one page load adds to: the page, the whole site, and on the booking
    form, the form opened from its article."""
    keys = [Key("view", path, source, campaign), Key("site", "", source, campaign)]
    if path == BOOKING_PATH:
        keys.append(Key("form", article_path(article), source, campaign))
    return keys


def not_counted(headers) -> bool:
    """Tell whether a request asks not to be tracked or is a prefetch, prerender or link
    preview (a Werkzeug Headers). Visits and site searches follow the same rules."""
    if headers.get("Sec-GPC", "").strip() == "1" or headers.get("DNT", "").strip() == "1":
        return True
    purpose = " ".join(
        headers.get(name, "") for name in ("Sec-Purpose", "Purpose", "X-Purpose", "X-Moz")
    ).lower()
    return any(word in purpose for word in ("prefetch", "prerender", "preview"))
