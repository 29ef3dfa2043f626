"""Factory functions for test data, each flushing so ids exist."""

from datetime import date, time

from clinic.content.models import Article, Clinic, OpeningHours, Page, Person
from clinic.extensions import db


def person(slug="jane-doe", **fields) -> Person:
    obj = Person(slug=slug, name=fields.pop("name", "Jane Doe"), credentials="MSc", **fields)
    db.session.add(obj)
    db.session.flush()
    return obj


def clinic(slug="testtown", hours=((0, 5, "09:00", "18:00"),), **fields) -> Clinic:
    values = dict(
        name="Test Clinic",
        street="1 High Street",
        city="Testtown",
        postcode="TT1 1TT",
        latitude=51.5,
        longitude=-0.1,
        phone="+44 1234 380345",
        email="clinic@example.test",
    )
    obj = Clinic(slug=slug, **{**values, **fields})
    for first, last, opens, closes in hours:
        for weekday in range(first, last + 1):
            obj.hours.append(
                OpeningHours(
                    weekday=weekday,
                    opens=time.fromisoformat(opens),
                    closes=time.fromisoformat(closes),
                )
            )
    db.session.add(obj)
    db.session.flush()
    return obj


def article(slug="test-article", status="published", **fields) -> Article:
    values = dict(
        title=f"Title of {slug}",
        summary="A summary.",
        body="## First\n\nText.\n\n## Second\n\nMore.",
        seo_title=f"SEO {slug}",
        seo_description=f"Description of {slug}.",
        published_on=date(2026, 1, 5),
        last_reviewed=date(2026, 1, 5),
    )
    obj = Article(slug=slug, status=status, **{**values, **fields})
    db.session.add(obj)
    db.session.flush()
    return obj


def page(slug="test-page", kind="treatment", status="published", **fields) -> Page:
    values = dict(title=f"Page {slug}", summary="Summary.", body="## Part\n\nBody.")
    obj = Page(slug=slug, kind=kind, status=status, **{**values, **fields})
    db.session.add(obj)
    db.session.flush()
    return obj
