"""schema.org structured data, built from the same records the pages show."""

from flask import current_app, url_for

from clinic import uktime
from clinic.absolute_urls import absolute_url
from clinic.content import bank_holidays
from clinic.content.hours import schema_closures, schema_hours


def _org_id() -> str:
    return current_app.config["CLINIC_BASE_URL"] + "/#organization"


def _clinic_id(clinic) -> str:
    return absolute_url("content.clinic", slug=clinic.slug) + "#clinic"


def _address(clinic) -> dict:
    street = ", ".join(p for p in (clinic.building, clinic.street) if p)
    return {
        "@type": "PostalAddress",
        "streetAddress": street,
        "addressLocality": clinic.city,
        "postalCode": clinic.postcode,
        "addressCountry": "GB",
    }


def opening_hours(clinic) -> list[dict]:
    """Return the weekly hours, then each day of the coming year the clinic is closed (its own
    closures and the bank holidays it keeps), as booking and the page have them."""
    closed = bank_holidays.upcoming(clinic, uktime.today())
    return schema_hours(clinic.hours) + schema_closures(closed)


def clinic_entity(clinic) -> dict:
    entity = {
        "@type": "MedicalClinic",
        "@id": _clinic_id(clinic),
        "name": clinic.name,
        "url": absolute_url("content.clinic", slug=clinic.slug),
        "telephone": clinic.phone,
        "email": clinic.email,
        "address": _address(clinic),
        "geo": {
            "@type": "GeoCoordinates",
            "latitude": clinic.latitude,
            "longitude": clinic.longitude,
        },
        "openingHoursSpecification": opening_hours(clinic),
        "parentOrganization": {"@id": _org_id()},
        "isAcceptingNewPatients": True,
    }
    return entity


def organization(clinics) -> dict:
    """Return the MedicalOrganization with its sites."""
    config = current_app.config
    return {
        "@context": "https://schema.org",
        "@type": "MedicalOrganization",
        "@id": _org_id(),
        "name": config["CLINIC_NAME"],
        "url": config["CLINIC_BASE_URL"] + "/",
        "telephone": config["CLINIC_PHONE"],
        "email": config["CLINIC_EMAIL"],
        "logo": config["CLINIC_BASE_URL"] + url_for("static", filename="img/logo.svg", v=None),
        "medicalSpecialty": "Musculoskeletal",
        "subOrganization": [clinic_entity(c) for c in clinics],
    }


def breadcrumbs(trail: list[tuple[str, str, dict]]) -> dict:
    """Return a BreadcrumbList from (name, endpoint, values), Home first."""
    items = [("Home", "content.home", {}), *trail]
    return {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {
                "@type": "ListItem",
                "position": i,
                "name": name,
                "item": absolute_url(endpoint, **values),
            }
            for i, (name, endpoint, values) in enumerate(items, start=1)
        ],
    }


def person(p) -> dict:
    return {
        "@type": "Person",
        "name": p.name,
        "url": absolute_url("content.author", slug=p.slug),
        "jobTitle": p.job_title,
        "honorificSuffix": p.credentials,
    }


def article_page(article) -> list[dict]:
    """Return MedicalWebPage (with Article data, author, reviewer) and its breadcrumbs."""
    url = absolute_url("content.article", slug=article.slug)
    page = {
        "@context": "https://schema.org",
        "@type": "MedicalWebPage",
        "@id": url + "#webpage",
        "url": url,
        "name": article.seo_title or article.title,
        "description": article.seo_description or article.summary,
        "inLanguage": "en-GB",
        "publisher": {"@id": _org_id()},
        "mainEntity": {
            "@type": "Article",
            "headline": article.title,
            "description": article.summary,
            "datePublished": _iso(article.published_on),
            "dateModified": article.updated_at.isoformat(),
            "publisher": {"@id": _org_id()},
        },
    }
    if article.author:
        page["author"] = person(article.author)
        page["mainEntity"]["author"] = person(article.author)
    if article.reviewer:
        page["reviewedBy"] = person(article.reviewer)
    if article.last_reviewed:
        page["lastReviewed"] = _iso(article.last_reviewed)
    trail = [
        ("Articles", "content.articles", {}),
        (article.title, "content.article", {"slug": article.slug}),
    ]
    return [page, breadcrumbs(trail)]


def clinic_page(clinic) -> list[dict]:
    entity = {"@context": "https://schema.org", **clinic_entity(clinic)}
    trail = [
        ("Clinics", "content.clinics", {}),
        (clinic.name, "content.clinic", {"slug": clinic.slug}),
    ]
    return [entity, breadcrumbs(trail)]


def treatment_page(page) -> list[dict]:
    url = absolute_url("content.treatment", slug=page.slug)
    data = {
        "@context": "https://schema.org",
        "@type": "MedicalWebPage",
        "url": url,
        "name": page.title,
        "description": page.seo_description or page.summary,
        "about": {"@type": "MedicalTherapy", "name": page.title},
        "publisher": {"@id": _org_id()},
    }
    if page.reviewer:
        data["reviewedBy"] = person(page.reviewer)
    if page.last_reviewed:
        data["lastReviewed"] = _iso(page.last_reviewed)
    trail = [(page.title, "content.treatment", {"slug": page.slug})]
    return [data, breadcrumbs(trail)]


def person_page(p) -> list[dict]:
    data = {"@context": "https://schema.org", **person(p), "worksFor": {"@id": _org_id()}}
    return [data, breadcrumbs([(p.name, "content.author", {"slug": p.slug})])]


def webpage(page, endpoint: str, values: dict) -> dict:
    return {
        "@context": "https://schema.org",
        "@type": "WebPage",
        "url": absolute_url(endpoint, **values),
        "name": page.title,
        "description": page.seo_description or page.summary,
        "publisher": {"@id": _org_id()},
    }


def _iso(value) -> str | None:
    return value.isoformat() if value else None
