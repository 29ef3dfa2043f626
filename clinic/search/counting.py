"""Whether a search is counted: by the visit counter's rules (never robots, prefetches,
people who asked not to be tracked with Sec-GPC or DNT), and never for staff signed in to the
admin. Nothing about the visitor is kept either way; this only decides whether the day's
count for the query goes up."""

from flask import Request, current_app
from flask_login import current_user

from clinic.insights.visitors import is_bot, not_counted


def is_staff(request: Request) -> bool:
    """Tell whether a member of staff is signed in (the session is read only if one exists)."""
    if current_app.config["SESSION_COOKIE_NAME"] not in request.cookies:
        return False
    return bool(current_user.is_authenticated)


def should_count(request: Request) -> bool:
    """Tell whether this search adds to the day's count."""
    headers = request.headers
    return not (is_bot(headers.get("User-Agent", "")) or not_counted(headers) or is_staff(request))
