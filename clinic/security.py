"""Security headers on every response: a strict CSP and the usual hardening headers."""

import flask_wtf
from flask import Flask, abort, request

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class CSRFProtect(flask_wtf.CSRFProtect):
    """Flask-WTF's CSRF check, whose HTTPS Referer comparison raises ValueError on a Referer or
    Host that urllib cannot read ("http://[::1", a port of 99999): refused as a mismatched
    referrer (400, the form's own message), never a 500."""

    def protect(self, *args, **kwargs):
        try:
            return super().protect(*args, **kwargs)
        except ValueError:
            self._error_response("The referrer does not match the host.")


def _has_nul(values) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in values.items(multi=True))


def init_app(app: Flask) -> None:
    @app.before_request
    def refuse_unstorable_input():
        """Answer 400, not 500, for input no database column can hold.

        Werkzeug decodes query strings strictly as UTF-8, and PostgreSQL text refuses NUL.
        """
        query = request.query_string
        try:
            query.decode("utf-8")
        except UnicodeDecodeError:
            abort(400)
        if "\x00" in request.path or (
            (b"%00" in query or b"\x00" in query) and _has_nul(request.args)
        ):
            abort(400)
        if request.method == "POST" and _has_nul(request.form):
            abort(400)

    header_items = list(HEADERS.items())

    @app.after_request
    def add_security_headers(response):
        response.headers.extend(header_items)  # nothing else sets these: no look-ups needed
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        return response
