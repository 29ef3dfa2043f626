"""`/admin/insights/searches`: what patients search for, and what they searched for in vain."""

from flask import Blueprint, render_template, request

from clinic.accounts.roles import no_store, require_roles
from clinic.search import services

bp = Blueprint("search_admin", __name__, url_prefix="/admin/insights/searches")
bp.before_request(require_roles("marketer"))  # and admins
bp.after_request(no_store)

PERIODS = (7, 30, 90)


@bp.get("")
def index():
    """List the top searches and the searches that found nothing, over 7, 30 or 90 days."""
    chosen = request.args.get("days", "30")
    if chosen not in {str(p) for p in PERIODS}:
        problem = "Choose a period of 7, 30 or 90 days."
        page = render_template("search_admin/index.html", problem=problem, periods=PERIODS)
        return page, 400
    days = int(chosen)
    return render_template(
        "search_admin/index.html",
        days=days,
        periods=PERIODS,
        top=services.top_searches(days),
        gaps=services.searches_without_results(days),
    )
