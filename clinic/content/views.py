"""Public pages: home, articles, clinics, treatments, people and standing pages."""

from flask import Blueprint, render_template

from clinic.content import hours, markdown, queries
from clinic.dbtypes import utcnow
from clinic.pagecache import cached_page
from clinic.seo import jsonld

bp = Blueprint("content", __name__)


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
        body=markdown.render(item.body),
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
    return render_template(
        "content/clinic.html",
        clinic=item,
        table=hours.weekly_table(item.hours),
        today=hours.status_at(item.hours, item.closures, now),
        today_weekday=now.astimezone(hours.UK).weekday(),
        today_date=now.astimezone(hours.UK).date(),
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
        bio=markdown.render(person.bio),
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
        body=markdown.render(page.body),
        toc=markdown.headings(page.body),
        structured_data=structured_data,
    )
