"""`flask --app clinic users ...`: create, list and deactivate admin accounts; grant or
withdraw a staff account's exports."""

import os

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from clinic.accounts import links, services
from clinic.accounts.models import ROLES, User
from clinic.audit.services import record
from clinic.extensions import db

users = AppGroup("users", help="Manage admin accounts.")


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option(
    "--invite",
    is_flag=True,
    help="Print a one-time link (72 hours) where they choose a password, instead of asking.",
)
def create(email: str, role: str, invite: bool):
    """Create a user; the password comes from CLINIC_PASSWORD or a prompt, or with --invite
    its person chooses it from the printed link."""
    if invite:
        return _print_invitation(email, role)
    password = os.environ.get("CLINIC_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    try:
        user = services.create_user(email, password, role)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    record("user_created", "user", user.id, detail=f"role {user.role} (command line)")
    db.session.commit()
    click.echo(f"Created {user.email} ({user.role}). They set up two-factor at first sign-in.")


def _print_invitation(email: str, role: str) -> None:
    try:
        link = links.invite(email, role, invited_by=None, send=False)
    except (ValueError, services.Refused) as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Invitation for {email.strip().lower()} ({role}), valid 72 hours:\n{link}")


@users.command("list")
def list_users():
    """List every account with its role and state."""
    for user in db.session.scalars(sa.select(User).order_by(User.email)):
        state = "active" if user.active else "deactivated"
        exports = "\tmay export" if user.may_export else ""
        click.echo(f"{user.email}\t{user.role}\t{state}{exports}")


@users.command("deactivate")
@click.argument("email")
def deactivate(email: str):
    """Stop a user from signing in (their history stays)."""
    try:
        user = services.deactivate(email)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    record("user_changed", "user", user.id, detail="deactivated (command line)")
    db.session.commit()
    click.echo(f"Deactivated {user.email}.")


@users.command("grant-export")
@click.argument("email")
def grant_export(email: str):
    """Let a staff account download leads as CSV and subject-access exports."""
    _set_export(email, True)


@users.command("withdraw-export")
@click.argument("email")
def withdraw_export(email: str):
    """Stop a staff account downloading exports."""
    _set_export(email, False)


def _set_export(email: str, allowed: bool) -> None:
    user = services.find_user(email)
    if user is None:
        raise click.ClickException(f"no user with e-mail {email}")
    try:
        detail = services.set_may_export(user, allowed, how=" (command line)")
    except services.Refused as refusal:
        raise click.ClickException(str(refusal)) from refusal
    db.session.commit()
    click.echo(f"{detail[:1].upper()}{detail[1:]}.")
