"""The insights page and its CSV: counts and rates per article, source or campaign."""

from datetime import date

from flask import Response, current_app, render_template, request

from clinic.audit.services import record
from clinic.extensions import db
from clinic.insights import bp, services, store


def _report():
    """Read the period, the grouping and the sort from the query string; fold the day's
    counts in first, so the page shows today so far."""
    period, errors = services.parse_period(request.args)
    dimension = request.args.get("by", "article")
    if dimension not in services.DIMENSIONS:
        errors["by"] = "Choose article, source or campaign."
        dimension = "article"
    sort = request.args.get("sort", "visitors")
    sort = sort if sort in services.SORTS else "visitors"
    descending = request.args.get("order", "desc") != "asc"
    store.roll_over()
    db.session.commit()
    host = services.own_host(current_app.config["CLINIC_BASE_URL"])
    rows = services.sort_rows(services.rows_for(dimension, period, host), sort, descending)
    return period, errors, dimension, sort, descending, rows


def _date_or_empty(value: str) -> str:
    """A date input may only hold a real date: give back what was typed when it is one."""
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        return ""


@bp.get("/")
def index():
    """Show the funnel table, what to look at, and daily charts for the chosen period."""
    period, errors, dimension, sort, descending, rows = _report()
    page = render_template(
        "insights/index.html",
        period=period,
        errors=errors,
        dimension=dimension,
        sort=sort,
        descending=descending,
        rows=rows,
        total=services.totals(rows),
        look_at=services.look_at(rows),
        charts=services.charts_for(period),
        columns=services.COLUMNS,
        min_visitors=services.MIN_VISITORS,
        dimensions=services.DIMENSIONS,
        presets=services.PRESETS,
        args=request.args,
        typed={name: _date_or_empty(request.args.get(name, "")) for name in ("from", "to")},
    )
    return page, 400 if errors else 200


@bp.get("/insights.csv")
def table_csv():
    """Download the table as shown (same period, grouping and order)."""
    period, errors, dimension, _sort, _descending, rows = _report()
    if errors:
        return Response("\n".join(errors.values()) + "\n", 400, mimetype="text/plain")
    record("insights_exported", "insights", None, f"{dimension} {period.start}..{period.end}")
    db.session.commit()
    name = f"insights-{dimension}-{period.start}-{period.end}.csv"
    return Response(
        services.rows_csv(dimension, rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
