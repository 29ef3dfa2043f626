"""URLs that come from outside (Referer, `next`, `from`, landing pages, redirect paths): read
them here and only here. Every function answers for any text and never raises, because
`urlsplit` itself raises ValueError on such input as "http://[::1" (an unclosed IPv6 bracket).
"""

import re
from urllib.parse import SplitResult, urlsplit

# A path on this site: one leading slash (never "//", another site), no backslash (browsers
# read it as a slash), no space or control character.
_LOCAL_PATH = re.compile(r"/(?![/\\])[^\s\\\x00-\x1f\x7f]*")


def split(value: str | None) -> SplitResult | None:
    """Return the parts of `value`, or None when it cannot be read as a URL."""
    try:
        parts = urlsplit(value or "")
        parts.port  # noqa: B018 - reading the port raises on "http://x:99999" or "http://x:a"
    except ValueError:
        return None
    return parts


def is_local_path(value: str | None) -> bool:
    """Tell whether `value` is a path on this site ("/articles/x?y"), never another site."""
    parts = split(value)
    return (
        parts is not None
        and not parts.scheme
        and not parts.netloc
        and _LOCAL_PATH.fullmatch(value or "") is not None
    )


def local_path(target: str | None, default: str = "/admin/") -> str:
    """Return `target` if it is a local path, else `default` (no open redirects)."""
    if not is_local_path(target):
        return default
    return target.rstrip("?") or default


def path_on(url: str | None, host: str) -> str | None:
    """Return the path of `url` when it points at `host` (this site), else None."""
    parts = split(url)
    if parts is None or parts.scheme not in ("http", "https") or parts.netloc != host:
        return None
    return parts.path


def path_only(value: str | None) -> str:
    """Return the path part of `value` ("" when it cannot be read)."""
    parts = split(value)
    return parts.path if parts is not None else ""
