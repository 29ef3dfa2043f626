"""Redirect targets we accept: only paths on this site."""

from urllib.parse import urlsplit


def safe_next(target: str | None, default: str = "/admin/") -> str:
    """Return `target` if it is a local path, else `default` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target.rstrip("?") or default
