"""The WSGI layer that gives each request its id, times it, counts it and logs one line.

It sits outside the page cache, so a page served from memory is counted, logged and tagged
too, and inside ProxyFix, so it sees the addresses the trusted proxy reported.
"""

import logging
import time

from flask import Flask, g, request

from clinic.monitoring import logs, metrics
from clinic.monitoring.logs import CACHE, ENDPOINT, USER_ID


class RequestObserver:
    """Request id in and out, then one metric sample and one JSON log line per request."""

    def __init__(self, app: Flask) -> None:
        self.wsgi_app = app.wsgi_app
        self.trust_header = app.config["CLINIC_TRUSTED_PROXIES"] > 0

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        request_id = logs.new_request_id(environ.get("HTTP_X_REQUEST_ID"), self.trust_header)
        environ[logs.REQUEST_ID] = request_id
        seen: dict = {}

        def tagged(status, headers, exc_info=None):
            seen["status"] = int(status.split(" ", 1)[0])
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            headers.append(("X-Request-ID", request_id))
            return start_response(status, headers, exc_info)

        try:
            # Flask has called start_response and built the body by the time it returns (a
            # streamed file is the exception: its sending time is not included).
            return self.wsgi_app(environ, tagged)
        finally:
            _record(environ, seen.get("status", 500), time.perf_counter() - started)


def _record(environ, status: int, seconds: float) -> None:
    endpoint = environ.get(ENDPOINT) or metrics.NO_ENDPOINT
    method = metrics.method_label(environ.get("REQUEST_METHOD", ""))
    metrics.observe_request(endpoint, method, status, seconds)
    log = logs.requests_log
    if not log.isEnabledFor(logging.INFO):
        return
    # A record made directly: logging's search of the stack for the caller costs more than
    # the rest of the line, and would only ever name this function.
    record = log.makeRecord(
        log.name,
        logging.INFO,
        __file__,
        0,
        "request",
        (),
        None,
        extra={
            "request_id": environ.get(logs.REQUEST_ID),
            "endpoint": endpoint,
            "method": method,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "user_id": environ.get(USER_ID),
            "cache": environ.get(CACHE),
        },
    )
    log.handle(record)


def init_app(app: Flask) -> None:
    """Wrap the app, and let Flask tell the wrapper the endpoint and the signed-in user."""

    @app.after_request
    def tell_observer(response):
        environ = request.environ
        environ[ENDPOINT] = request.endpoint
        # Only an account that this request already loaded (every admin page loads it): a
        # public page must never open the session just to be logged.
        user = g.get("_login_user")
        if user is not None and getattr(user, "is_authenticated", False):
            environ[USER_ID] = user.id
        return response

    app.wsgi_app = RequestObserver(app)
