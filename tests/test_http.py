"""HTTP behaviour: caching, validators, static files, security headers, health, errors."""

import re

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from clinic import create_app
from clinic.content.models import Article
from clinic.extensions import db
from tests.conftest import app_config
from tests.test_content import PUBLIC_PATHS

ARTICLE = "/articles/does-amitriptyline-relax-muscles"


@pytest.mark.parametrize("path", [*PUBLIC_PATHS, "/sitemap.xml", "/robots.txt"])
def test_public_pages_are_shared_cacheable_without_cookies(demo, client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")
    assert response.cache_control.public
    assert response.cache_control.s_maxage > 0
    assert response.headers["ETag"]


def test_etag_answers_304(demo, client):
    first = client.get(ARTICLE)
    again = client.get(ARTICLE, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""


def test_rendered_page_is_cached_and_refreshed_on_publish(demo, client):
    first = client.get(ARTICLE).get_data(as_text=True)
    with demo.app_context():
        queries_before = _count_selects(lambda: client.get(ARTICLE))
        article = db.session.scalar(
            sa.select(Article).where(Article.slug == ARTICLE.split("/")[-1])
        )
        article.title = "A brand new headline"
        db.session.commit()
    assert queries_before <= 1, "a cached page should cost at most the generation check"
    assert "A brand new headline" not in first
    assert "A brand new headline" in client.get(ARTICLE).get_data(as_text=True)


def test_other_workers_see_the_change_through_the_generation_row(demo):
    worker_a, worker_b = demo, create_app(app_config(demo.config["SQLALCHEMY_DATABASE_URI"]))
    before = worker_b.test_client().get(ARTICLE).get_data(as_text=True)
    with worker_a.app_context():
        article = db.session.scalar(
            sa.select(Article).where(Article.slug == ARTICLE.split("/")[-1])
        )
        article.summary = "Changed by another worker."
        db.session.commit()
    after = worker_b.test_client().get(ARTICLE).get_data(as_text=True)
    assert "Changed by another worker." not in before
    assert "Changed by another worker." in after
    with worker_b.app_context():
        db.engine.dispose()


def _count_selects(action) -> int:
    count = 0

    def before(*_args):
        nonlocal count
        count += 1

    sa.event.listen(db.engine, "before_cursor_execute", before)
    try:
        action()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)
    return count


def test_static_files_are_fingerprinted_and_cached_for_a_year(demo, client):
    html = client.get("/").get_data(as_text=True)
    css = re.search(r'href="(/static/css/site\.css\?v=[0-9a-f]{12})"', html)
    assert css
    response = client.get(css.group(1))
    assert response.status_code == 200
    assert response.cache_control.max_age == 365 * 24 * 3600
    response.close()
    plain = client.get("/static/css/site.css")
    assert plain.cache_control.max_age == 300
    plain.close()


def test_article_page_weight_budget(demo, client):
    """HTML + CSS + JS of an article stay under 60 KB, and no script blocks rendering."""
    html = client.get(ARTICLE).get_data(as_text=True)
    total = len(html.encode())
    for asset in re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js)\?v=\w+)"', html):
        response = client.get(asset)
        total += len(response.data)
        response.close()
    assert total < 60 * 1024
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "application/ld+json" in tag or "defer" in tag or "async" in tag


@pytest.mark.parametrize("path", ["/", ARTICLE, "/nowhere", "/healthz"])
def test_security_headers(demo, client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in headers


def test_hsts_over_https(demo, client):
    response = client.get("/", base_url="https://www.example.test")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_no_third_party_assets(demo, client):
    for path in PUBLIC_PATHS:
        html = client.get(path).get_data(as_text=True)
        for url in re.findall(r'<(?:script|link|img)\b[^>]*(?:src|href)="([^"]+)"', html):
            assert url.startswith("/") or url.startswith("https://www.example.test/"), (path, url)


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_503_when_database_is_down(tmp_path):
    url = f"sqlite:///{tmp_path}/missing/dir/db.sqlite"
    app = create_app(app_config(url))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "down"


def test_500_page_is_helpful(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "something went wrong" in response.get_data(as_text=True).lower()


def test_cached_pages_are_served_without_running_flask(demo, client):
    calls = []
    demo.before_request_funcs.setdefault(None, []).append(lambda: calls.append(1))
    first = client.get(ARTICLE)
    second = client.get(ARTICLE)
    head = client.head(ARTICLE)
    assert len(calls) == 1, "the second GET and the HEAD come from the cache"
    assert second.data == first.data
    assert head.data == b"" and head.headers["ETag"] == first.headers["ETag"]
    for name in ("Content-Security-Policy", "Cache-Control", "ETag", "X-Content-Type-Options"):
        assert second.headers[name] == first.headers[name]
    assert "X-Clinic-Page-Cache" not in first.headers
    assert "X-Clinic-Page-Cache" not in second.headers
    cached_304 = client.get(ARTICLE, headers={"If-None-Match": first.headers["ETag"]})
    assert cached_304.status_code == 304 and cached_304.data == b""


def test_pages_with_cookies_errors_or_posts_are_not_cached(demo, client):
    assert "Set-Cookie" in demo.test_client().get("/book").headers
    calls = []
    demo.after_request_funcs.setdefault(None, []).append(lambda r: calls.append(1) or r)
    for _ in range(2):
        assert client.get("/articles/missing").status_code == 404
        assert client.get("/book").status_code == 200
        assert client.post("/book", data={}).status_code == 400
    assert len(calls) == 6


def test_cached_page_survives_a_database_outage(demo, client, monkeypatch):
    """If the generation cannot be read, cached pages are still served; nothing is a 500."""
    first = client.get(ARTICLE)

    class DatabaseDown:
        def scalar(self, *_args):
            raise OperationalError("SELECT", {}, Exception("database is down"))

    monkeypatch.setattr("clinic.pagecache.db", type("DB", (), {"session": DatabaseDown()}))
    demo.extensions["page_cache"].forget_generation()
    again = client.get(ARTICLE)
    assert again.status_code == 200
    assert again.data == first.data


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/book?clinic=lon%00don", None),
        ("get", "/articles/a%00b", None),
        ("post", "/book", {"name": "Ada\x00"}),
    ],
)
def test_nul_bytes_are_refused_with_400(demo, client, method, path, data):
    response = getattr(client, method)(path, data=data)
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/", "/book?clinic=london", "/articles/any"])
def test_database_down_gives_a_503_that_says_what_to_do(path, tmp_path):
    app = create_app(app_config(f"sqlite:///{tmp_path}/missing/dir/clinic.db"))
    response = app.test_client().get(path)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    text = response.get_data(as_text=True)
    assert "phone us" in text and app.config["CLINIC_PHONE"] in text
    assert "OperationalError" not in text and "sqlite" not in text.lower()
