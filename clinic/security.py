"""Security headers on every response: a strict CSP and the usual hardening headers."""

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
