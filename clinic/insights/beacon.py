"""The public end of visit counting: `static/js/visits.js` posts one small form to /visits
after each page has loaded, and gets 204 No Content straight back.

Public pages are cached (by each worker and by nginx), so the page views themselves never
reach Flask: the beacon is the only place a visit can be counted. With Redis, a beacon from
a browser with no cookie (nearly all of them) is answered by a small WSGI middleware before
Flask runs at all: one Redis round trip, no routing, no session, no database.
"""

import logging
import threading
import time
from urllib.parse import parse_qs

from flask import Blueprint, Flask, current_app, request
from flask_login import current_user
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import EnvironHeaders

from clinic import uktime
from clinic.extensions import csrf, db
from clinic.insights import store
from clinic.insights.visitors import (
    NO_CAMPAIGN,
    Key,
    counted_path,
    is_bot,
    keys_for,
    not_counted,
    source_of,
    tag,
)
from clinic.security import HEADERS

bp = Blueprint("insights_beacon", __name__)
log = logging.getLogger(__name__)
PATH = "/visits"
MAX_BODY = 2048  # a path, a domain, a slug and two tags; anything longer is not a beacon


class PerMinute:
    """Beacons per client address and minute, counted in this worker's memory: a shared
    counter would cost the beacon a second round trip to Redis, and a flood from one address
    is held off well enough per worker."""

    def __init__(self) -> None:
        self._minute = 0
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def allows(self, address: str, limit: int) -> bool:
        minute = int(time.time() // 60)
        with self._lock:
            if minute != self._minute or len(self._counts) > 100_000:
                self._minute, self._counts = minute, {}
            count = self._counts.get(address, 0) + 1
            self._counts[address] = count
        return count <= limit


per_minute = PerMinute()


def same_origin(headers, host_url: str) -> bool:
    """Accept only this site's own pages: Sec-Fetch-Site when the browser sends it, else an
    Origin equal to ours."""
    site = headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    return headers.get("Origin") == host_url


def refusal(headers, host_url: str, length: int, address: str, limit: int) -> int | None:
    """Return the status for a beacon that is not taken at all (403, 413, 429), else None."""
    if not same_origin(headers, host_url):
        return 403
    if length > MAX_BODY:
        return 413
    if not per_minute.allows(address, limit):
        return 429
    return None


def keys_to_count(headers, form: dict, host: str) -> list[Key]:
    """Return the counts this beacon adds to: none for robots, prefetches, do-not-track and
    pages not worth counting."""
    if is_bot(headers.get("User-Agent", "")) or not_counted(headers):
        return []
    path = counted_path(form.get("p", ""))
    if path is None:
        return []
    source = source_of(form.get("s"), form.get("r"), host)
    return keys_for(path, source, tag(form.get("c")) or NO_CAMPAIGN, form.get("a"))


def _count(keys: list[Key], address: str, user_agent: str) -> None:
    try:
        store.current().record(uktime.today(), keys, address, user_agent)
        db.session.commit()
    except (RedisError, SQLAlchemyError):
        db.session.rollback()
        log.warning("a visit could not be counted", exc_info=True)


def _empty(status: int = 204):
    response = current_app.response_class(status=status)
    response.cache_control.no_store = True
    return response


@bp.post(PATH)
@csrf.exempt
def visit():
    """Count one page load: 204 at once, whatever is (or is not) counted."""
    limit = current_app.config.get("INSIGHTS_BEACONS_PER_MINUTE", 120)
    address = request.remote_addr or ""
    host_url = request.host_url.rstrip("/")
    status = refusal(request.headers, host_url, request.content_length or 0, address, limit)
    if status:
        return _empty(status)
    request.max_content_length = MAX_BODY
    keys = keys_to_count(request.headers, request.form, request.host)
    # Staff signed in to the admin are not counted (only a request with a cookie can be).
    if keys and not (request.cookies and current_user.is_authenticated):
        _count(keys, address, request.headers.get("User-Agent", ""))
    return _empty()


STATUS_LINES = {
    204: "204 No Content",
    403: "403 Forbidden",
    413: "413 Payload Too Large",
    429: "429 Too Many Requests",
}


class FastBeacons:
    """WSGI middleware: answer cookie-less beacons with the Redis store before Flask runs;
    everything else (a cookie to check, the database store) goes on to the app."""

    def __init__(self, app: Flask, wsgi_app) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.headers = [*HEADERS.items(), ("Cache-Control", "no-store")]

    def __call__(self, environ, start_response):
        chosen = self.app.extensions["insights_store"]
        if (
            environ.get("PATH_INFO") != PATH
            or environ.get("REQUEST_METHOD") != "POST"
            or environ.get("HTTP_COOKIE")
            or not isinstance(chosen, store.RedisStore)
        ):
            return self.wsgi_app(environ, start_response)
        start_response(STATUS_LINES[self.answer(environ, chosen)], self.headers)
        return [b""]

    def answer(self, environ, chosen: store.RedisStore) -> int:
        headers = EnvironHeaders(environ)
        host = environ.get("HTTP_HOST", "")
        host_url = f"{environ.get('wsgi.url_scheme', 'http')}://{host}"
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return 413
        address = environ.get("REMOTE_ADDR", "")
        limit = self.app.config.get("INSIGHTS_BEACONS_PER_MINUTE", 120)
        status = refusal(headers, host_url, length, address, limit)
        if status:
            return status
        body = environ["wsgi.input"].read(length).decode("utf-8", "replace")
        form = {name: values[0] for name, values in parse_qs(body).items()}
        keys = keys_to_count(headers, form, host)
        if keys:
            try:
                chosen.record(uktime.today(), keys, address, headers.get("User-Agent", ""))
            except RedisError:
                log.warning("a visit could not be counted", exc_info=True)
        return 204


def init_app(app: Flask) -> None:
    """Put the fast path in front of the app (it steps aside unless the store is Redis)."""
    app.wsgi_app = FastBeacons(app, app.wsgi_app)
