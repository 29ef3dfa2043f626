"""/metrics for Prometheus (allowed addresses only) and /readyz for operators' checks."""

import redis
import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from clinic.extensions import db
from clinic.monitoring import incidents, metrics

bp = Blueprint("monitoring", __name__)
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def _addresses() -> list[str | None]:
    """The socket's peer and, behind a trusted proxy, the client that proxy names: both must
    be allowed, so neither a spoofed X-Forwarded-For nor the proxy's own address opens it."""
    original = request.environ.get("werkzeug.proxy_fix.orig", {})
    peer = original.get("REMOTE_ADDR", request.environ.get("REMOTE_ADDR"))
    return [peer, request.remote_addr]


@bp.get("/metrics")
def metrics_page():
    """Serve the Prometheus text to allowed addresses; 404 to everyone else."""
    if not metrics.allowed(_addresses(), current_app.extensions["metrics_allow"]):
        abort(404)
    try:
        health = incidents.measure()
        incident_open = incidents.open_incident() is not None
    except SQLAlchemyError:  # the database is down: still report what the workers counted
        health, incident_open = None, False
    body = metrics.exposition(health, incident_open)
    db.session.rollback()  # end the read now rather than at teardown
    response = Response(body, mimetype=None, content_type=PROMETHEUS_TEXT)
    response.cache_control.no_store = True
    return response


def _database() -> bool:
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return False
    return True


def _redis() -> str:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return "not configured"
    client = current_app.extensions.get("readyz_redis")
    if client is None:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        current_app.extensions["readyz_redis"] = client
    try:
        client.ping()
    except (redis.RedisError, OSError):
        return "down"
    return "ok"


def _outbox() -> tuple[str, dict]:
    try:
        health = incidents.measure()
    except SQLAlchemyError:
        db.session.rollback()
        return "unknown", {}
    detail = {"due": health.due, "oldest_seconds": round(health.oldest_age_seconds)}
    detail["failed_recently"] = health.failed_recently
    return ("stalled" if health.late else "ok"), detail


@bp.get("/readyz")
def readyz():
    """Answer 200 when the database and Redis answer and e-mail is not stuck, else 503."""
    database = "ok" if _database() else "down"
    outbox, detail = _outbox() if database == "ok" else ("unknown", {})
    checks = {"database": database, "redis": _redis(), "outbox": outbox}
    ready = database == "ok" and checks["redis"] != "down" and outbox == "ok"
    response = jsonify(status="ok" if ready else "unavailable", **checks, outbox_detail=detail)
    response.status_code = 200 if ready else 503
    response.cache_control.no_store = True
    return response
