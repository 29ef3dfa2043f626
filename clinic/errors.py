"""Helpful error pages that keep the site's navigation and never leak details."""

from flask import Flask, Response, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from clinic.extensions import db
from clinic.monitoring.logs import current_request_id

MESSAGES = {
    400: (
        "We could not accept that request",
        "The form may have been open for a long time or sent twice. Please go back, reload "
        "the page and try again.",
    ),
    403: (
        "Your account cannot open this page",
        "This page belongs to another role (staff see patients, marketers edit content). If "
        "you need it for your work, ask an admin to change your role.",
    ),
    413: (
        "That was too large to send",
        "What you sent was larger than we accept, so nothing was saved. Please shorten it "
        "(an image may be up to 5 MB) and try again.",
    ),
    410: (
        "This link has expired",
        "Links to change a call stop working once the call has taken place.",
    ),
    429: (
        "Too many attempts",
        "You have sent this form many times in a short while. Please wait a minute and try "
        "again, or phone us and we will book the call for you.",
    ),
    503: (
        "We are very busy right now",
        "Please try again in a minute, or phone us and we will book the call for you.",
    ),
}
ADMIN_FORM_EXPIRED = (
    "Nothing was saved",
    "You were signed out (after hours without use, or from another tab), or the page was open "
    "for a very long time. Copy anything you typed, sign in again, then open the page afresh "
    "and make the change.",
)


def typed_text() -> list[tuple[str, str]]:
    """The text a refused admin form carried, shown so that a long note is not lost.

    Tokens, passwords and short choices (ids, buttons, radio values) are left out: only what
    reads like something a person wrote.
    """
    return [
        (name.replace("-", " ").replace("_", " "), value.strip())
        for name, value in request.form.items(multi=True)
        if name != "csrf_token"
        and "password" not in name.lower()
        and (len(value.strip()) > 20 or any(char.isspace() for char in value.strip()))
    ]


def message_page(code: int, message: tuple[str, str] | None = None, typed=()):
    """The short page for an error code: what happened and how else to reach us."""
    heading, text = message or MESSAGES[code]
    admin = request.path.startswith("/admin")
    page = render_template(
        "errors/message.html", heading=heading, text=text, admin=admin, typed=typed
    )
    return page, code


def database_unavailable(error):
    """The database is down or locked for too long: say so, and how else to reach us."""
    current_app.logger.error("database unavailable: %s", error)
    db.session.rollback()
    response = current_app.make_response(message_page(503))
    response.headers["Retry-After"] = "60"
    return response


def page_that_failed(error: Exception, failure: Exception):
    """Answer when the error page for `error` raised `failure` (a form page that reads the
    clinics while the database is down): the 503 page if the database failed, else the plain
    page for the code; either renders without the database."""
    current_app.logger.error("error page for %r failed: %r", error, failure)
    try:
        if isinstance(failure, SQLAlchemyError):
            return database_unavailable(failure)
        if isinstance(error, HTTPException) and error.code in MESSAGES:
            return message_page(error.code)
    except Exception as again:  # the last resort must not raise
        return static_500(again)
    return static_500(failure)


def static_500(failure: Exception) -> Response:
    """The last resort, when even the 500 page failed: plain HTML from settings alone."""
    current_app.logger.error("500 page failed: %r", failure)
    phone = escape(current_app.config.get("CLINIC_PHONE", ""))
    dial = escape(phone.replace(" ", ""))
    body = (
        '<!doctype html><html lang="en-GB"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex"><title>Something went wrong</title></head>'
        "<body><main><h1>Sorry, something went wrong on our side</h1>"
        "<p>Please try again in a minute. If you were booking a call, phone us on "
        f'<a href="tel:{dial}">{phone}</a> and we will book it for you.</p>'
        f"{_reference()}"
        '<p><a href="/">Go to the home page</a></p></main></body></html>'
    )
    return Response(body, 500, mimetype="text/html")


def _reference() -> str:
    """The request id as the error pages show it, so a report can be matched to the logs."""
    request_id = escape(current_request_id())
    if not request_id:
        return ""
    return (
        "<p>If you contact us about this, quote this reference so we can find what happened: "
        f"<code>{request_id}</code></p>"
    )


def init_app(app: Flask) -> None:
    @app.errorhandler(404)
    def not_found(_error):
        return render_template("errors/404.html"), 404

    @app.errorhandler(405)
    def not_allowed(_error):
        return render_template("errors/404.html"), 405

    @app.errorhandler(CSRFError)
    def csrf_failed(_error):
        if request.path.startswith("/admin/") and request.endpoint != "accounts.login":
            return message_page(400, ADMIN_FORM_EXPIRED, typed_text())
        return message_page(400)

    for code in (400, 403, 410, 413, 429, 503):
        app.register_error_handler(code, lambda _error, code=code: message_page(code))

    app.register_error_handler(OperationalError, database_unavailable)

    @app.errorhandler(500)
    def server_error(_error):
        db.session.rollback()
        return render_template("errors/500.html"), 500
