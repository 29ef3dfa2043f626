"""sitemap.xml and robots.txt, so search engines find every published page and no admin."""

from flask import Blueprint, current_app, render_template

from clinic.content import queries
from clinic.pagecache import cached_page
from clinic.seo.sitemap import sitemap_entries

bp = Blueprint("seo", __name__)


@bp.get("/sitemap.xml")
@cached_page
def sitemap():
    """List every published page with its last modification."""
    xml = render_template("seo/sitemap.xml", entries=sitemap_entries(queries))
    return current_app.response_class(xml, mimetype="application/xml")


@bp.get("/robots.txt")
@cached_page
def robots():
    """Keep crawlers out of the admin and point them at the sitemap."""
    base = current_app.config["CLINIC_BASE_URL"]
    lines = [
        "User-agent: *",
        "Disallow: /admin",
        "Disallow: /book/manage/",
        "Disallow: /book/confirmed/",
        f"Sitemap: {base}/sitemap.xml",
        "",
    ]
    return current_app.response_class("\n".join(lines), mimetype="text/plain")
