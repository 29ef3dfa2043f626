"""Insights for marketers: cookie-free visit counts and the funnel from article to treatment.

`bp` holds the admin pages under /admin/insights (marketers and admins); other modules may
add their pages to it (the lead wires them at merge). The public beacon lives in `beacon`.
"""

from flask import Blueprint

from clinic.accounts.roles import no_store, require_roles

bp = Blueprint("insights", __name__, url_prefix="/admin/insights")
bp.before_request(require_roles("marketer"))
bp.after_request(no_store)
