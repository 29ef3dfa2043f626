"""Absolute URLs for canonical links, Open Graph, JSON-LD and the sitemap."""

from flask import current_app, url_for


def absolute_url(endpoint: str, **values) -> str:
    """Build a URL on CLINIC_BASE_URL, whatever host the request came in on."""
    return current_app.config["CLINIC_BASE_URL"] + url_for(endpoint, **values)
