"""Log records as one JSON object a line, each tagged with the id of its request.

Lines name the endpoint, never the path or the query string: a path can hold a booking's
manage link, and a query string a patient's e-mail typed into the leads search. Form bodies are
never logged at all.
"""

import json
import logging
import re
import sys
import uuid
from datetime import UTC, datetime

from flask import has_request_context, request

# WSGI environ keys: this request's id, and what Flask and the page cache tell the observer.
REQUEST_ID, ENDPOINT, USER_ID, CACHE = (
    "clinic.request_id",
    "clinic.endpoint",
    "clinic.user_id",
    "clinic.cache",
)
# What a trusted proxy may send as X-Request-ID (nginx's $request_id is 32 hex digits).
ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")
_encoder = json.JSONEncoder(ensure_ascii=False, default=str)  # one, not one per line
FIELDS = ("request_id", "endpoint", "method", "status", "duration_ms", "user_id", "cache")


def new_request_id(header: str | None, trusted: bool) -> str:
    """Keep the proxy's id when it is trusted and well formed, else make a new one."""
    if trusted and header and ACCEPTED_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def current_request_id() -> str:
    """The id of the request being handled ("" outside a request), for pages and logs."""
    if not has_request_context():
        return ""
    return request.environ.get(REQUEST_ID, "")


class JSONFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message and the request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                line[field] = value
        if "request_id" not in line and (request_id := current_request_id()):
            line["request_id"] = request_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encoder.encode(line)


class _StderrHandler(logging.StreamHandler):
    """Write to whatever sys.stderr is now (a test's capture, gunicorn's redirected stream)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JSONFormatter())

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure(logger_name: str = "clinic") -> None:
    """Send the app's logs (and its features') to stderr as JSON, once per process."""
    from flask.logging import default_handler

    logger = logging.getLogger(logger_name)
    logger.removeHandler(default_handler)
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        logger.addHandler(_StderrHandler())
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)


requests_log = logging.getLogger("clinic.requests")
