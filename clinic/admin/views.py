"""The admin home: what needs attention today, for each role."""

from flask import Blueprint, render_template
from flask_login import current_user

from clinic.accounts.roles import no_store, require_roles
from clinic.admin import dashboard as figures

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(require_roles("staff", "marketer"))
bp.after_request(no_store)


@bp.get("/")
def dashboard():
    """Show staff new leads, upcoming calls and weekly charts; marketers aggregates only."""
    return render_template("admin/dashboard.html", **figures.for_role(current_user.role))
