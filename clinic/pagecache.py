"""Rendered public pages kept in memory, in step across workers through one counter row.

Any flush that touches content bumps `cache_generation` in the same transaction. Each
worker reads that counter at most once per CLINIC_CACHE_CHECK_SECONDS, so a publish is
seen by every worker within that interval, and by the publishing worker at once.

A view marks its response cacheable with `cached_page`; the WSGI middleware keeps the
finished response (after every after_request hook, so with all its headers) and serves
it again without running Flask at all until the page expires or content changes.
"""

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import wraps

import sqlalchemy as sa
from flask import Flask, current_app, g, make_response, request
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from clinic.extensions import db
from clinic.monitoring import metrics
from clinic.monitoring.logs import CACHE, ENDPOINT

MARKER = "X-Clinic-Page-Cache"


class CacheGeneration(db.Model):
    """A single row whose value changes whenever published content may have changed."""

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, default=0)

    def __repr__(self) -> str:
        return f"<CacheGeneration {self.value}>"


@dataclass(frozen=True)
class CachedPage:
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    etag: str
    stored: float
    endpoint: str = ""


class PageCache:
    """A bounded LRU of finished responses, emptied when the generation moves on."""

    def __init__(self, app: Flask, max_entries: int = 500) -> None:
        self.app = app
        self.max_entries = max_entries
        self._pages: OrderedDict[str, CachedPage] = OrderedDict()
        self._generation: int | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def forget_generation(self) -> None:
        """Make the next lookup re-read the counter (called after a local commit)."""
        self._checked_at = 0.0

    def _sync_generation(self) -> None:
        interval = self.app.config["CLINIC_CACHE_CHECK_SECONDS"]
        now = time.monotonic()
        if self._checked_at and now - self._checked_at < interval:
            return
        try:
            with self.app.app_context():
                generation = db.session.scalar(sa.select(CacheGeneration.value))
        except SQLAlchemyError:
            # Database away: keep serving what we have; Flask reports the rest.
            self.app.logger.warning("page cache: could not read the content generation")
            self._checked_at = now
            return
        with self._lock:
            if generation != self._generation:
                self._pages.clear()
                self._generation = generation
            self._checked_at = now

    def get(self, key: str) -> CachedPage | None:
        self._sync_generation()
        ttl = self.app.config["CLINIC_PAGE_CACHE_SECONDS"]
        with self._lock:
            page = self._pages.get(key)
            if page is None or time.monotonic() - page.stored > ttl:
                return None
            self._pages.move_to_end(key)
            return page

    def put(self, key: str, page: CachedPage) -> None:
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_entries:
                self._pages.popitem(last=False)


class PageCacheMiddleware:
    """Serve cached public pages before Flask runs; learn them from responses Flask marks."""

    def __init__(self, app: Flask) -> None:
        self.wsgi_app = app.wsgi_app
        self.cache: PageCache = app.extensions["page_cache"]

    def __call__(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        if method not in ("GET", "HEAD"):
            return self.wsgi_app(environ, start_response)
        key = environ["wsgi.url_scheme"] + ":" + (environ.get("PATH_INFO") or "/")
        page = self.cache.get(key)
        if page is not None:
            metrics.PAGE_CACHE_HITS.inc()
            environ.update({ENDPOINT: page.endpoint, CACHE: "hit"})
            return _serve(page, environ, start_response, method)
        captured: dict = {}

        def capture(status, headers, exc_info=None):
            captured.update(status=status, headers=headers)
            kept = [(k, v) for k, v in headers if k != MARKER]
            return start_response(status, kept, exc_info)

        body = self.wsgi_app(environ, capture)
        headers = captured.get("headers", [])
        if method != "GET" or not captured.get("status", "").startswith("200"):
            return body
        if (MARKER, "store") not in headers or any(k == "Set-Cookie" for k, _ in headers):
            return body
        try:
            data = b"".join(body)
        finally:
            if hasattr(body, "close"):
                body.close()
        kept = [(k, v) for k, v in headers if k != MARKER]
        etag = next((v for k, v in kept if k == "ETag"), "")
        endpoint = environ.get(ENDPOINT) or ""
        page = CachedPage(captured["status"], kept, data, etag, time.monotonic(), endpoint)
        self.cache.put(key, page)
        metrics.PAGE_CACHE_MISSES.inc()
        environ[CACHE] = "miss"
        return [data]


def _serve(page: CachedPage, environ, start_response, method: str):
    if page.etag and page.etag in environ.get("HTTP_IF_NONE_MATCH", ""):
        headers = [(k, v) for k, v in page.headers if k not in ("Content-Length", "Content-Type")]
        start_response("304 NOT MODIFIED", headers)
        return [b""]
    start_response(page.status, page.headers)
    return [b""] if method == "HEAD" else [page.body]


def page_cache() -> PageCache:
    """Return this app's cache (one per app, so tests never share pages)."""
    return current_app.extensions["page_cache"]


def init_app(app: Flask, *models: type) -> None:
    app.extensions["page_cache"] = PageCache(app)
    app.session_interface = PublicPageSessionInterface()
    app.wsgi_app = PageCacheMiddleware(app)
    watch(*models)


_watched: tuple[type, ...] = ()


def watch(*models: type) -> None:
    """Bump the generation whenever a flush writes one of these models."""
    global _watched
    _watched = tuple({*_watched, *models})


@event.listens_for(Session, "after_flush")
def _bump_on_content_change(session, _flush_context) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(obj, _watched) for obj in changed):
        session.info["pages_changed"] = True
        table = CacheGeneration.__table__
        session.connection().execute(sa.update(table).values(value=table.c.value + 1))


@event.listens_for(Session, "after_commit")
def _refresh_after_commit(session) -> None:
    if session.info.pop("pages_changed", False) and current_app:
        page_cache().forget_generation()


class PublicPageSessionInterface(SecureCookieSessionInterface):
    """Never write a cookie (nor `Vary: Cookie`) on a public page, whoever peeked at the session."""

    def save_session(self, app, session, response):
        if g.get("public_page"):
            return
        super().save_session(app, session, response)


def public_cache_headers(response, seconds: int) -> None:
    """Let browsers and shared caches (CDN, nginx) keep a public response."""
    response.headers["Cache-Control"] = f"public, max-age={seconds}, s-maxage={seconds}"
    response.headers["Vary"] = "Accept-Encoding"


def cached_page(view):
    """Mark a public GET page cacheable: an ETag, shared-cache headers, kept by the middleware."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.public_page = True
        response = make_response(view(*args, **kwargs))
        if response.status_code != 200:
            return response
        response.set_etag(hashlib.sha1(response.get_data()).hexdigest())
        public_cache_headers(response, current_app.config["CLINIC_PAGE_CACHE_SECONDS"])
        response.headers[MARKER] = "store"
        return response.make_conditional(request)

    return wrapper
