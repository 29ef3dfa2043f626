"""Public pages: home, articles, clinics, treatments, people and standing pages."""

from flask import Blueprint, abort, g, render_template, request, send_from_directory

from clinic.content import bank_holidays, hours, images, jsonld, markdown, queries, redirects
from clinic.dbtypes import utcnow
from clinic.pagecache import cached_page, public_cache_headers

bp = Blueprint("content", __name__)
ONE_YEAR = 365 * 24 * 3600


@bp.get("/")
@cached_page
def home():
    """Show the offer, the latest articles and the clinics."""
    return render_template(
        "content/home.html",
        articles=queries.published_articles(limit=3),
        clinics=queries.clinics(),
        treatments=queries.treatments(),
        structured_data=[jsonld.organization(queries.clinics())],
    )


@bp.get("/articles/")
@cached_page
def articles():
    """List every published article."""
    items = queries.published_articles()
    return render_template(
        "content/articles.html",
        articles=items,
        structured_data=[jsonld.breadcrumbs([("Articles", "content.articles", {})])],
    )


@bp.get("/articles/<slug>")
@cached_page
def article(slug: str):
    """Show one article with its review details and a booking call to action."""
    item = queries.article_or_404(slug)
    return render_template(
        "content/article.html",
        article=item,
        body=images.render(item.body),
        toc=markdown.headings(item.body),
        reading_minutes=markdown.reading_minutes(item.body),
        related=queries.related_articles(item),
        structured_data=jsonld.article_page(item),
    )


@bp.get("/clinics/")
@cached_page
def clinics():
    """List the clinics with addresses and hours."""
    items = queries.clinics()
    return render_template(
        "content/clinics.html",
        clinics=items,
        tables={c.slug: hours.weekly_table(c.hours) for c in items},
        structured_data=[
            jsonld.breadcrumbs([("Clinics", "content.clinics", {})]),
            jsonld.organization(items),
        ],
    )


@bp.get("/clinics/<slug>")
@cached_page
def clinic(slug: str):
    """Show one clinic: address, hours, today's status, directions and booking."""
    item = queries.clinic_or_404(slug)
    now = utcnow()
    closures = bank_holidays.upcoming(item, now.astimezone(hours.UK).date())
    return render_template(
        "content/clinic.html",
        clinic=item,
        table=hours.weekly_table(item.hours),
        today=hours.status_at(item.hours, closures, now),
        today_weekday=now.astimezone(hours.UK).weekday(),
        closures=closures,
        structured_data=jsonld.clinic_page(item),
    )


@bp.get("/treatments/<slug>")
@cached_page
def treatment(slug: str):
    """Show a treatment page."""
    page = queries.page_or_404(slug, kind="treatment")
    return _standing_page(page, jsonld.treatment_page(page))


@bp.get("/authors/<slug>")
@cached_page
def author(slug: str):
    """Show a person's credentials, biography and articles."""
    person = queries.person_or_404(slug)
    return render_template(
        "content/author.html",
        person=person,
        bio=images.render(person.bio),
        articles=queries.articles_by(person),
        structured_data=jsonld.person_page(person),
    )


@bp.get("/privacy")
@cached_page
def privacy():
    """Show the privacy notice."""
    page = queries.page_or_404("privacy")
    return _standing_page(page, [jsonld.webpage(page, "content.privacy", {})])


@bp.get("/about")
@cached_page
def about():
    """Show the page about the clinic."""
    page = queries.page_or_404("about")
    return _standing_page(page, [jsonld.webpage(page, "content.about", {})])


def _standing_page(page, structured_data):
    return render_template(
        "content/page.html",
        page=page,
        body=images.render(page.body),
        toc=markdown.headings(page.body),
        structured_data=structured_data,
    )


@bp.get("/media/<filename>")
def media(filename: str):
    """Serve an uploaded image; its name never changes, so browsers may keep it for a year."""
    if not images.FILE_NAME.match(filename):
        abort(404)
    g.public_page = True
    response = send_from_directory(images.upload_dir(), filename, max_age=ONE_YEAR)
    public_cache_headers(response, ONE_YEAR)
    response.cache_control.immutable = True
    return response


@bp.after_app_request
def follow_moved_pages(response):
    """Answer 301 for a path that moved (a changed slug): looked up only instead of a 404."""
    if response.status_code != 404 or request.method not in ("GET", "HEAD"):
        return response
    target = redirects.target_for(request.path)
    if target is None:
        return response
    if request.query_string:
        target += "?" + request.query_string.decode("latin-1")
    # Changed in place: later hooks' headers (CSP and the rest) stay on the response.
    response.status_code = 301
    response.headers["Location"] = target
    response.set_data(b"")
    public_cache_headers(response, 3600)
    return response
