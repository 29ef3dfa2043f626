"""The admin home: what needs attention today, for each role."""

from flask import Blueprint, render_template
from flask_login import current_user

from clinic.accounts.roles import no_store, require_roles
from clinic.admin import dashboard as figures
from clinic.audit.services import record
from clinic.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(require_roles("staff", "marketer"))
bp.after_request(no_store)


@bp.get("/")
def dashboard():
    """Show staff new leads, upcoming calls and weekly charts; marketers aggregates only."""
    shown = figures.for_role(current_user.role)
    upcoming = shown.get("upcoming")  # only staff and admins see calls, with patients' names
    if upcoming:
        # Who saw whom: the ids of the leads whose calls are listed, never their details.
        leads = ",".join(map(str, dict.fromkeys(call.lead_id for call in upcoming)))
        record("dashboard_viewed", "lead", None, f"upcoming calls: leads={leads}")
    page = render_template("admin/dashboard.html", **shown)
    if upcoming:
        # Render first: committing expires the loaded calls, and reloading them costs queries.
        db.session.commit()
    return page
