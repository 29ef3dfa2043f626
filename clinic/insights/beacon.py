"""The public end of visit counting: `static/js/visits.js` posts one small form here after
each page has loaded, and gets 204 No Content straight back.

Public pages are cached (by each worker and by nginx), so the page views themselves never
reach Flask: the beacon is the only place a visit can be counted.
"""

import logging

from flask import Blueprint, current_app, request
from flask_login import current_user
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from clinic import uktime
from clinic.extensions import csrf, db, limiter
from clinic.insights import store
from clinic.insights.visitors import (
    NO_CAMPAIGN,
    counted_path,
    is_bot,
    keys_for,
    not_counted,
    source_of,
    tag,
)

bp = Blueprint("insights_beacon", __name__)
log = logging.getLogger(__name__)
MAX_BODY = 2048  # a path, a domain, a slug and two tags; anything longer is not a beacon


def _beacon_limit() -> str:
    return current_app.config.get("INSIGHTS_BEACON_RATE_LIMIT", "120 per minute")


def _same_origin() -> bool:
    """Accept only this site's own pages: Sec-Fetch-Site when the browser sends it, else an
    Origin equal to ours."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("Origin")
    return origin is not None and origin == request.host_url.rstrip("/")


def _signed_in() -> bool:
    """Staff signed in to the admin are not counted; a visitor without a cookie costs nothing."""
    if not request.cookies.get(current_app.config["SESSION_COOKIE_NAME"]):
        return False
    return current_user.is_authenticated


def _empty(status: int = 204):
    response = current_app.response_class(status=status)
    response.cache_control.no_store = True
    return response


@bp.errorhandler(429)
def too_many(_error):
    return _empty(429)


@bp.post("/visits")
@csrf.exempt
@limiter.limit(_beacon_limit)
def visit():
    """Count one page load: 204 at once, whatever is (or is not) counted."""
    if not _same_origin():
        return _empty(403)
    if (request.content_length or 0) > MAX_BODY:
        return _empty(413)
    request.max_content_length = MAX_BODY
    user_agent = request.headers.get("User-Agent", "")
    if is_bot(user_agent) or not_counted(request.headers) or _signed_in():
        return _empty()
    path = counted_path(request.form.get("p", ""))
    if path is None:
        return _empty()
    source = source_of(request.form.get("s"), request.form.get("r"), request.host)
    keys = keys_for(path, source, tag(request.form.get("c")) or NO_CAMPAIGN, request.form.get("a"))
    try:
        store.current().record(uktime.today(), keys, request.remote_addr or "", user_agent)
        db.session.commit()
    except (RedisError, SQLAlchemyError):
        db.session.rollback()
        log.warning("a visit could not be counted", exc_info=True)
    return _empty()
