"""Role checks for admin blueprints: every route behind sign-in and the right role, and
exports behind an admin's grant."""

from functools import wraps

from flask import abort, redirect, request, url_for
from flask_login import current_user

from clinic.accounts import twofactor
from clinic.untrusted_urls import local_path


def require_roles(*roles: str):
    """Return a before_request hook: sign-in first, then one of `roles` (admin may do all)."""

    def check():
        if not current_user.is_authenticated:
            return redirect(url_for("accounts.login", next=local_path(request.full_path)))
        if twofactor.needs_enrolment(current_user):  # nothing else before enrolling
            return redirect(url_for("accounts.two_factor"))
        if current_user.role != "admin" and current_user.role not in roles:
            abort(403)
        return None

    return check


def roles_required(*roles: str):
    """Decorate one view with the same check as `require_roles`."""
    check = require_roles(*roles)

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            return check() or view(*args, **kwargs)

        return wrapped

    return decorator


def can_export(user) -> bool:
    """Tell whether `user` may download leads as CSV or a person's subject-access export."""
    if not user.is_authenticated:
        return False
    return user.role == "admin" or (user.role == "staff" and user.may_export)


def export_required(view):
    """Decorate an export view: sign-in and the staff role first, then `can_export`."""
    check = require_roles("staff")

    @wraps(view)
    def wrapped(*args, **kwargs):
        if refusal := check():
            return refusal
        if not can_export(current_user):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def no_store(response):
    """Admin pages hold personal data: never cache them, never index them."""
    response.cache_control.no_store = True
    response.cache_control.private = True
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
