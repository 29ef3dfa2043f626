"""`/search?q=`: full-text search of the public articles, treatments and clinic pages."""

from flask import Blueprint, g, render_template, request, url_for

from clinic.content import queries
from clinic.extensions import db
from clinic.search import counting, services, text

bp = Blueprint("search", __name__)
MAX_PAGE = 100  # ten results a page: far past any real result list
LABELS = {"article": "Article", "content.treatment": "Treatment", "clinic": "Clinic"}


@bp.get("/search")
def search():
    """Show the live items matching the query, best first, with the matches marked."""
    g.public_page = True  # never a cookie, whoever is signed in
    query = request.args.get("q", "")
    page = request.args.get("page", "1")
    problem, status = _problem(query, page)
    results = None
    if problem is None:
        results = services.search(text.terms(query), int(page))
        if results.page == 1 and counting.should_count(request):
            services.count_search(text.counted_term(query), results.total)
            db.session.commit()
    body = render_template(
        "search/results.html",
        query=query[: text.MAX_QUERY_CHARS],
        problem=problem,
        invalid=status != 200,
        results=results,
        hits=[_shown(hit) for hit in results.hits] if results else [],
        treatments=[] if results and results.total else queries.treatments(),
        per_page=services.PER_PAGE,
        max_query=text.MAX_QUERY_CHARS,
    )
    return body, status, _headers()


def _problem(query: str, page: str) -> tuple[str | None, int]:
    """Return what is wrong with the request (shown beside the box) and the status to answer."""
    if len(query) > text.MAX_QUERY_CHARS:
        return f"Your search is too long: use up to {text.MAX_QUERY_CHARS} characters.", 400
    if not page.isdigit() or not 1 <= int(page) <= MAX_PAGE:
        return f"The page number should be a whole number from 1 to {MAX_PAGE}.", 400
    if not query.strip():
        return "Type a word or two to search for, such as a condition or a treatment.", 200
    if not text.terms(query):
        return "Use letters or numbers to search, such as a condition or a treatment.", 200
    return None, 200


def _shown(hit: services.Hit) -> dict:
    """Add the hit's address and what kind of page it is, for the template."""
    slug = {} if hit.endpoint in ("content.privacy", "content.about") else {"slug": hit.slug}
    label = LABELS.get(hit.kind) or LABELS.get(hit.endpoint, "Page")
    return {
        "url": url_for(hit.endpoint, **slug),
        "label": label,
        "title": hit.title,
        "snippet": hit.snippet,
    }


def _headers() -> dict:
    # One person's query: no shared cache may keep it (and so every search reaches the count);
    # the browser may, for its back button. Result pages are not for search engines.
    return {"Cache-Control": "private, max-age=60", "X-Robots-Tag": "noindex"}
