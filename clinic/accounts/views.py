"""Sign in, sign out and change password for the admin."""

import time

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from clinic.accounts import services
from clinic.accounts.forms import LoginForm, PasswordForm
from clinic.accounts.models import User
from clinic.accounts.roles import no_store
from clinic.audit.services import record
from clinic.dbtypes import utcnow
from clinic.extensions import db, limiter
from clinic.untrusted_urls import local_path

bp = Blueprint("accounts", __name__, url_prefix="/admin")
bp.after_request(no_store)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _device_nonce() -> str:
    """The nonce of this browser's valid device cookie, or "" when it has none."""
    return services.read_device(request.cookies.get(services.DEVICE_COOKIE)).get("nonce", "")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(
    services.DEVICE_FAILURE_LIMIT,
    methods=["POST"],
    key_func=lambda: f"device:{_device_nonce()}",
    exempt_when=lambda: not _device_nonce(),
    deduct_when=lambda response: response.status_code == 401,
)
def login():
    """Sign in with one message for every failure."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = local_path(request.args.get("next"))
    if not form.validate_on_submit():
        return render_template(
            "accounts/login.html", form=form
        ), 422 if form.is_submitted() else 200
    device = request.cookies.get(services.DEVICE_COOKIE)
    user = services.authenticate(form.email.data, form.password.data, device, _ip())
    if user is None:
        record("login_failed", detail=_typed_address(form.email.data))
        db.session.commit()
        return render_template("accounts/login.html", form=form, failed=True), 401
    session.clear()
    session.permanent = True
    session["signed_in_at"] = int(time.time())
    login_user(user)
    user.last_login_at = utcnow()
    record("login", "user", user.id)
    db.session.commit()
    return _trust_this_browser(redirect(local_path(form.next.data), 303), user)


def _ip() -> str:
    return request.remote_addr or ""


def _trust_this_browser(response: Response, user: User) -> Response:
    """Set the device cookie: this browser may sign in as `user` while others' guesses keep
    the account locked. Sent to the admin only (a password change there renews it), never
    readable by scripts."""
    device = services.device_cookie(user, request.cookies.get(services.DEVICE_COOKIE))
    response.set_cookie(
        services.DEVICE_COOKIE,
        device,
        max_age=services.DEVICE_COOKIE_AGE,
        path=bp.url_prefix,
        secure=request.is_secure,
        httponly=True,
        samesite="Lax",
    )
    return response


def _typed_address(typed: str) -> str:
    """What the audit log keeps of a failed sign-in's e-mail box: an address, never a
    password typed into the wrong box."""
    typed = typed.strip().lower()
    return typed[:254] if "@" in typed and " " not in typed else "(not an e-mail address)"


@bp.post("/logout")
@login_required
def logout():
    """Sign out and forget the session."""
    record("logout", "user", current_user.id)
    services.end_sessions(current_user)
    db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("accounts.login"), 303)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    """Change one's own password; other sessions end."""
    form = PasswordForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors = ["That is not your current password."]
        elif problem := services.password_problem(form.new.data, current_user.email):
            form.new.errors = [problem]
        else:
            services.set_new_password(current_user, form.new.data)
            record("password_changed", "user", current_user.id)
            db.session.commit()
            user = current_user._get_current_object()  # the proxy itself would point to itself
            login_user(user)
            flash("Your password has changed.")
            # The change made every device cookie of this account worthless, except this one.
            return _trust_this_browser(redirect(url_for("admin.dashboard"), 303), user)
    status = 422 if form.errors else 200
    return render_template("accounts/password.html", form=form), status
