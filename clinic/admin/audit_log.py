"""The audit log for admins: read-only, newest first, filtered by action, user and target."""

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_wtf import FlaskForm
from wtforms import IntegerField, SearchField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional

from clinic.accounts.roles import no_store, require_roles
from clinic.admin import keyset
from clinic.audit.models import AuditEntry
from clinic.database import distinct_values
from clinic.dbtypes import MAX_ID

bp = Blueprint("audit_admin", __name__, url_prefix="/admin/audit")
bp.before_request(require_roles())  # admins only
bp.after_request(no_store)

PER_PAGE = 50


class AuditFilter(FlaskForm):
    """Which entries to list: read from the query string, so no CSRF token."""

    class Meta:
        csrf = False

    action = SelectField("Action", choices=[SelectChoice("", "Any action")], default="")
    user = SearchField("User e-mail contains", validators=[Optional(), Length(max=254)])
    target = IntegerField(
        "Target id",
        validators=[
            Optional(),
            NumberRange(min=1, max=MAX_ID, message=f"Enter a whole number from 1 to {MAX_ID}."),
        ],
    )


def actions() -> list[str]:
    return distinct_values(AuditEntry.action, limit=1000)


def entries(action: str = "", user: str = "", target: int | None = None) -> sa.Select:
    """Return the query for matching entries (paginate orders them, newest first)."""
    query = sa.select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    if user:
        query = query.where(
            sa.func.lower(AuditEntry.user_email).contains(user.strip().lower(), autoescape=True)
        )
    if target is not None:
        query = query.where(AuditEntry.target_id == target)
    return query


@bp.get("")
def index():
    """List audit entries newest first; nothing here can be changed or deleted."""
    form = AuditFilter(request.args)
    form.action.choices = [SelectChoice("", "Any action"), *map(SelectChoice, actions())]
    if not form.validate():
        return render_template("audit_admin/index.html", form=form, page=None), 422
    query = entries(form.action.data, form.user.data or "", form.target.data)
    return render_template(
        "audit_admin/index.html",
        form=form,
        page=keyset.paginate(query, (AuditEntry.id,), request.args, PER_PAGE),
    )
