"""Rendered public pages kept in memory, in step across workers through one counter row.

Any flush that touches content bumps `cache_generation` in the same transaction. Each
worker reads that counter at most once per CLINIC_CACHE_CHECK_SECONDS, so a publish is
seen by every worker within that interval, and by the publishing worker at once.
"""

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import wraps

import sqlalchemy as sa
from flask import current_app, g, make_response, request
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from clinic.extensions import db


class CacheGeneration(db.Model):
    """A single row whose value changes whenever published content may have changed."""

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, default=0)

    def __repr__(self) -> str:
        return f"<CacheGeneration {self.value}>"


@dataclass(frozen=True)
class CachedPage:
    body: bytes
    mimetype: str
    etag: str
    stored: float


class PageCache:
    """A bounded LRU of rendered pages, emptied when the generation moves on."""

    def __init__(self, max_entries: int = 500) -> None:
        self.max_entries = max_entries
        self._pages: OrderedDict[str, CachedPage] = OrderedDict()
        self._generation: int | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def forget_generation(self) -> None:
        """Make the next lookup re-read the counter (called after a local commit)."""
        self._checked_at = 0.0

    def _sync_generation(self) -> None:
        interval = current_app.config["CLINIC_CACHE_CHECK_SECONDS"]
        now = time.monotonic()
        if self._checked_at and now - self._checked_at < interval:
            return
        generation = db.session.scalar(sa.select(CacheGeneration.value))
        with self._lock:
            if generation != self._generation:
                self._pages.clear()
                self._generation = generation
            self._checked_at = now

    def get(self, key: str) -> CachedPage | None:
        self._sync_generation()
        ttl = current_app.config["CLINIC_PAGE_CACHE_SECONDS"]
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


def page_cache() -> PageCache:
    """Return this app's cache (one per app, so tests never share pages)."""
    return current_app.extensions["page_cache"]


def init_app(app, *models: type) -> None:
    app.extensions["page_cache"] = PageCache()
    app.session_interface = PublicPageSessionInterface()
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
    response.cache_control.public = True
    response.cache_control.max_age = seconds
    response.cache_control.s_maxage = seconds
    response.vary.add("Accept-Encoding")


def cached_page(view):
    """Serve a public GET page from memory, with an ETag and shared-cache headers."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.public_page = True
        key = request.path
        cache = page_cache()
        page = cache.get(key)
        if page is None:
            response = make_response(view(*args, **kwargs))
            if response.status_code != 200 or response.headers.get("Set-Cookie"):
                return response
            body = response.get_data()
            page = CachedPage(
                body, response.mimetype, hashlib.sha1(body).hexdigest(), time.monotonic()
            )
            cache.put(key, page)
        response = current_app.response_class(page.body, mimetype=page.mimetype)
        response.set_etag(page.etag)
        public_cache_headers(response, current_app.config["CLINIC_PAGE_CACHE_SECONDS"])
        return response.make_conditional(request)

    return wrapper
