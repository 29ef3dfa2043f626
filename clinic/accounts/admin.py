"""User management for admins: list, invite, change role, deactivate and reactivate, and
grant or withdraw a staff account's exports."""

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from clinic.accounts import links, services, twofactor
from clinic.accounts.forms import ROLE_LABELS, InviteForm, RoleForm, SettingsForm
from clinic.accounts.models import Invitation, User
from clinic.accounts.roles import no_store, require_roles
from clinic.dbtypes import utcnow
from clinic.extensions import db

bp = Blueprint("accounts_admin", __name__, url_prefix="/admin/users")
bp.before_request(require_roles())  # admins only
bp.after_request(no_store)


@bp.get("")
def users():
    """List every account with its role, state and last sign-in."""
    accounts = db.session.scalars(sa.select(User).order_by(User.email))
    return render_template(
        "accounts_admin/users.html",
        users=list(accounts),
        role_labels=ROLE_LABELS,
        settings=twofactor.settings(),
        invitations=links.pending_invitations(),
        now=utcnow(),
    )


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Invite a colleague by e-mail: they choose their own password and enrol two-factor."""
    form = InviteForm()
    if form.validate_on_submit():
        try:
            links.invite(form.email.data, form.role.data, current_user)  # audited
        except services.Refused as refusal:
            form.email.errors = [str(refusal)]
        else:
            db.session.commit()
            flash(f"Invitation sent to {form.email.data.strip().lower()}; the link works 72 hours.")
            return redirect(url_for(".users"), 303)
    return render_template("accounts_admin/new.html", form=form), 422 if form.errors else 200


@bp.post("/invitations/<int:invitation_id>/resend")
def resend_invitation(invitation_id: int):
    """E-mail a new link for 72 more hours; the old link stops working."""
    invitation = db.get_or_404(Invitation, invitation_id)
    return _change_invitation(
        lambda: links.resend(invitation), f"New link sent to {invitation.email}."
    )


@bp.post("/invitations/<int:invitation_id>/withdraw")
def withdraw_invitation(invitation_id: int):
    """Stop an invitation's link working."""
    invitation = db.get_or_404(Invitation, invitation_id)
    return _change_invitation(
        lambda: links.withdraw(invitation), f"Invitation to {invitation.email} withdrawn."
    )


def _change_invitation(change, message: str):
    try:
        change()  # audits the change
    except services.Refused as refusal:
        return _refused(str(refusal), 409)
    db.session.commit()
    flash(message)
    return redirect(url_for(".users"), 303)


@bp.post("/<int:user_id>/role")
def role(user_id: int):
    """Change another user's role."""
    user = db.get_or_404(User, user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        return _refused("Choose one of the roles.", 422)
    return _apply(user, lambda: services.change_role(user, form.role.data, current_user))


@bp.post("/<int:user_id>/deactivate")
def deactivate(user_id: int):
    """Stop a user from signing in; their history stays."""
    user = db.get_or_404(User, user_id)
    return _apply(user, lambda: services.set_active(user, False, current_user))


@bp.post("/<int:user_id>/reactivate")
def reactivate(user_id: int):
    """Let a deactivated user sign in again."""
    user = db.get_or_404(User, user_id)
    return _apply(user, lambda: services.set_active(user, True, current_user))


@bp.post("/<int:user_id>/grant-export")
def grant_export(user_id: int):
    """Let a staff account download leads as CSV and subject-access exports (audited)."""
    return _set_export(db.get_or_404(User, user_id), True)


@bp.post("/<int:user_id>/withdraw-export")
def withdraw_export(user_id: int):
    """Stop a staff account downloading exports (audited)."""
    return _set_export(db.get_or_404(User, user_id), False)


@bp.post("/<int:user_id>/reset-two-factor")
def reset_two_factor(user_id: int):
    """Turn off a colleague's two-factor (lost phone): signed out, they enrol again."""
    user = db.get_or_404(User, user_id)
    try:
        services.reset_two_factor(user, current_user)  # audits the change
    except services.Refused as refusal:
        return _refused(str(refusal), 409)
    db.session.commit()
    flash(f"{user.email}: two-factor reset. They set it up again when they next sign in.")
    return redirect(url_for(".users"), 303)


@bp.post("/settings")
def settings():
    """Require two-factor of every account, or only of admin and staff (audited)."""
    form = SettingsForm()
    if not form.validate_on_submit():
        return _refused("The settings could not be read. Please try again.", 422)
    twofactor.set_for_everyone(form.two_factor_for_everyone.data)
    db.session.commit()
    flash("Sign-in settings saved.")
    return redirect(url_for(".users"), 303)


def _set_export(user: User, allowed: bool):
    try:
        detail = services.set_may_export(user, allowed)  # audits the change
    except services.Refused as refusal:
        return _refused(str(refusal), 409)
    db.session.commit()
    flash(f"{detail[:1].upper()}{detail[1:]}.")
    return redirect(url_for(".users"), 303)


def _apply(user: User, change):
    try:
        detail = change()
    except services.Refused as refusal:
        return _refused(str(refusal), 409)
    db.session.commit()
    flash(f"{user.email}: {detail}.")
    return redirect(url_for(".users"), 303)


def _refused(message: str, status: int):
    return render_template(
        "admin/problem.html",
        heading="We could not change that account",
        message=message,
        back_url=url_for(".users"),
        back_label="Back to the users",
    ), status
