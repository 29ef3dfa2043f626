"""Sign in, sign out and change password for the admin."""

import time
from datetime import timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from clinic.accounts import links, services, sessions, twofactor
from clinic.accounts.forms import (
    CodeForm,
    EnrolForm,
    ForgotForm,
    LoginForm,
    NewPasswordForm,
    PasswordForm,
)
from clinic.accounts.models import User, UserSession
from clinic.accounts.roles import no_store
from clinic.extensions import db, limiter
from clinic.untrusted_urls import local_path

bp = Blueprint("accounts", __name__, url_prefix="/admin")
bp.after_request(no_store)
# Pages an account that must enrol in two-factor may still open.
BEFORE_ENROLMENT = {
    "accounts.login",
    "accounts.login_code",
    "accounts.logout",
    "accounts.two_factor",
    "accounts.invitation",
    "accounts.forgot",
    "accounts.reset",
}


@bp.before_request
def enrol_first():
    """Send an account that must enrol in two-factor to enrolment, from any page here."""
    if request.endpoint in BEFORE_ENROLMENT or not current_user.is_authenticated:
        return None
    if twofactor.needs_enrolment(current_user):
        return redirect(url_for("accounts.two_factor"))
    return None


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
        status = 422 if form.is_submitted() else 200
        return render_template("accounts/login.html", form=form), status
    device = request.cookies.get(services.DEVICE_COOKIE)
    user = services.authenticate(form.email.data, form.password.data, device, _ip())
    if user is None:
        db.session.commit()  # the failure count and its audit entry
        return render_template("accounts/login.html", form=form, failed=True), 401
    session.clear()  # a new session at each sign-in: none fixed beforehand
    if user.totp_secret is None:
        return _sign_in(user, form.next.data, "password; no two-factor yet")
    services.start_pending(user, local_path(form.next.data))
    db.session.commit()  # the right password clears its failure count (never the codes')
    return redirect(url_for(".login_code"), 303)


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(
    services.DEVICE_FAILURE_LIMIT,
    methods=["POST"],
    key_func=lambda: f"device:{_device_nonce()}",
    exempt_when=lambda: not _device_nonce(),
    deduct_when=lambda response: response.status_code == 401,
)
def login_code():
    """Second step of signing in: a code from the authenticator app, or a recovery code."""
    user, next_path = services.pending_sign_in()
    if user is None:
        flash("Your sign-in has expired. Please enter your e-mail address and password again.")
        return redirect(url_for(".login"), 303)
    form = CodeForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("accounts/code.html", form=form), status
    device = request.cookies.get(services.DEVICE_COOKIE)
    how = services.second_factor(user, form.code.data, device, _ip())
    if how is None:
        return _wrong_code(user, form)
    response = _sign_in(user, next_path, how)
    if how.startswith("recovery"):  # after _sign_in, which starts a new session
        flash(f"You signed in with a {how}. Make a new set on your two-factor page.")
    return response


def _wrong_code(user: User, form: CodeForm):
    locked = services.is_locked(user, _ip())
    if locked:
        session.pop(services.PENDING_KEY, None)
    db.session.commit()
    return render_template("accounts/code.html", form=form, failed=True, locked=locked), 401


def _sign_in(user: User, next_path: str | None, how: str) -> Response:
    """Start a signed-in session (after the second step, or the password alone for an
    account without two-factor); one that must enrol is sent to enrolment first."""
    session.clear()
    session.permanent = True
    session["signed_in_at"] = int(time.time())
    session[sessions.SESSION_KEY] = sessions.start(user, request.user_agent.string, _ip())
    login_user(user)
    services.signed_in(user, how)
    db.session.commit()
    if twofactor.needs_enrolment(user):
        return redirect(url_for(".two_factor"), 303)
    return _trust_this_browser(redirect(local_path(next_path), 303), user)


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


@bp.post("/logout")
@login_required
def logout():
    """Sign out and forget the session."""
    services.sign_out(current_user)
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
            keep = session.get(sessions.SESSION_KEY)
            services.change_own_password(current_user, form.new.data, keep)
            db.session.commit()
            user = current_user._get_current_object()  # the proxy itself would point to itself
            login_user(user)
            flash("Your password has changed.")
            # The change made every device cookie of this account worthless, except this one.
            return _trust_this_browser(redirect(url_for("admin.dashboard"), 303), user)
    status = 422 if form.errors else 200
    return render_template("accounts/password.html", form=form), status


ENROL_SECRET = "enrol_secret"


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def two_factor():
    """Enrol an authenticator app (QR code and the secret as text), or see that it is on."""
    if current_user.totp_secret:
        left = len(twofactor.unused_recovery_codes(current_user))
        return render_template("accounts/two_factor.html", left=left)
    secret = session.get(ENROL_SECRET) or twofactor.new_secret()
    session[ENROL_SECRET] = secret
    form = EnrolForm()
    if form.validate_on_submit():
        codes = twofactor.enrol(current_user, secret, form.code.data)
        if codes is not None:
            session.pop(ENROL_SECRET)
            db.session.commit()
            user = current_user._get_current_object()
            page = render_template("accounts/recovery_codes.html", codes=codes, first=True)
            return _trust_this_browser(Response(page), user)
        form.code.errors = ["That code is not right. Enter the newest code the app shows."]
    return _enrol_page(form, secret), 422 if form.errors else 200


def _enrol_page(form: EnrolForm, secret: str) -> str:
    return render_template(
        "accounts/enrol.html",
        form=form,
        secret=twofactor.grouped(secret),
        qr=twofactor.qr_data_uri(secret, current_user.email),
        required=twofactor.required_for(current_user),
    )


@bp.post("/account/two-factor/recovery-codes")
@login_required
def new_recovery_codes():
    """Replace one's recovery codes with a new set, shown once."""
    if not current_user.totp_secret:
        return redirect(url_for(".two_factor"), 303)
    codes = twofactor.renew_recovery_codes(current_user)
    db.session.commit()
    return render_template("accounts/recovery_codes.html", codes=codes, first=False)


def _link_refused(refusal: links.LinkRefused):
    """A clear page for a link that is damaged (400), unknown (404) or gone (410)."""
    page = render_template(
        "accounts/link_problem.html", heading=refusal.heading, message=refusal.message
    )
    return page, refusal.status


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def invitation(token: str):
    """Accept an invitation: choose a password, then enrol two-factor."""
    try:
        invited = links.read_invitation(token)
    except links.LinkRefused as refusal:
        return _link_refused(refusal)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            user = links.accept(token, form.new.data)
        except services.WeakPassword as problem:
            form.new.errors = [str(problem)]
        else:
            return _sign_in(user, None, "invitation accepted")
    page = render_template("accounts/invitation.html", form=form, invitation=invited)
    return page, 422 if form.errors else 200


def _reset_address_key() -> str:
    return "reset:" + services.typed_address(request.form.get("email", ""))


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_RATE_LIMIT_IP"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["RESET_RATE_LIMIT_ADDRESS"],
    methods=["POST"],
    key_func=_reset_address_key,
)
def forgot():
    """Ask for a password reset link: the same answer whether the address is known or not."""
    form = ForgotForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("accounts/forgot.html", form=form), status
    links.request_reset(form.email.data)
    db.session.commit()
    return render_template("accounts/forgot_sent.html", email=form.email.data.strip())


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    """Choose a new password from an e-mailed link; every session ends."""
    try:
        links.read_reset(token)
    except links.LinkRefused as refusal:
        return _link_refused(refusal)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            links.complete_reset(token, form.new.data)
        except services.WeakPassword as problem:
            form.new.errors = [str(problem)]
        else:
            db.session.commit()
            session.clear()
            flash("Your password has changed. Sign in with it (and your code).")
            return redirect(url_for(".login"), 303)
    return render_template("accounts/reset.html", form=form), 422 if form.errors else 200


@bp.get("/account")
@login_required
def account():
    """Show one's account: two-factor, password, and the browsers signed in to it."""
    config = current_app.config
    live = sessions.live(
        current_user,
        idle=config["PERMANENT_SESSION_LIFETIME"],
        longest=timedelta(hours=config["SESSION_MAX_HOURS"]),
    )
    this = sessions.find_live(session.get(sessions.SESSION_KEY), current_user.id)
    return render_template("accounts/account.html", sessions=live, this_id=this and this.id)


@bp.post("/account/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int):
    """Sign out one of one's other browsers."""
    other = db.session.get(UserSession, session_id)
    if other is None or other.user_id != current_user.id or other.ended_at:
        abort(404)
    this = sessions.find_live(session.get(sessions.SESSION_KEY), current_user.id)
    if this and this.id == other.id:
        return _this_browser_problem(), 409
    sessions.end_other(current_user, other)
    db.session.commit()
    flash(f"Signed out {other.user_agent} ({other.ip_address}).")
    return redirect(url_for(".account"), 303)


def _this_browser_problem() -> str:
    return render_template(
        "admin/problem.html",
        heading="We could not end that session",
        message="This is the browser you are using: use “Sign out” instead.",
        back_url=url_for(".account"),
        back_label="Back to your account",
    )
