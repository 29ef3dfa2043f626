"""Helpful error pages that keep the site's navigation and never leak details."""

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError

from clinic.extensions import db

MESSAGES = {
    400: ("We could not accept that request",
          "The form may have been open for a long time or sent twice. Please go back, reload "
          "the page and try again."),
    410: ("This link has expired",
          "Links to change a call stop working once the call has taken place."),
    429: ("Too many attempts",
          "You have sent this form many times in a short while. Please wait a minute and try "
          "again, or phone us and we will book the call for you."),
    503: ("We are very busy right now",
          "Please try again in a minute, or phone us and we will book the call for you."),
}  # fmt: skip


def _message(code: int):
    heading, text = MESSAGES[code]
    return render_template("errors/message.html", heading=heading, text=text), code


def init_app(app: Flask) -> None:
    @app.errorhandler(404)
    def not_found(_error):
        return render_template("errors/404.html"), 404

    @app.errorhandler(405)
    def not_allowed(_error):
        return render_template("errors/404.html"), 405

    @app.errorhandler(CSRFError)
    def csrf_failed(_error):
        return _message(400)

    for code in (400, 410, 429, 503):
        app.register_error_handler(code, lambda _error, code=code: _message(code))

    @app.errorhandler(OperationalError)
    def database_unavailable(error):
        # The database is down or locked for too long: say so, and how else to reach us.
        app.logger.error("database unavailable: %s", error)
        db.session.rollback()
        response = app.make_response(_message(503))
        response.headers["Retry-After"] = "60"
        return response

    @app.errorhandler(500)
    def server_error(_error):
        db.session.rollback()
        return render_template("errors/500.html"), 500
