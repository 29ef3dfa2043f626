"""Reads of public content: only what the public may see, with what each page shows."""

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import selectinload

from clinic.content.models import Article, Clinic, Page, Person
from clinic.extensions import db


def published_articles(limit: int | None = None) -> list[Article]:
    query = (
        sa.select(Article)
        .where(Article.visible())
        .order_by(Article.published_on.desc(), Article.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def article_or_404(slug: str) -> Article:
    query = (
        sa.select(Article)
        .where(Article.slug == slug, Article.visible())
        .options(selectinload(Article.author), selectinload(Article.reviewer))
    )
    return db.session.scalar(query) or abort(404)


def related_articles(article: Article, limit: int = 3) -> list[Article]:
    """Return other published articles, newest first (the library is small)."""
    return [a for a in published_articles() if a.id != article.id][:limit]


def visible_page(slug: str, kind: str | None = None) -> Page | None:
    query = sa.select(Page).where(Page.slug == slug, Page.visible())
    if kind:
        query = query.where(Page.kind == kind)
    return db.session.scalar(query)


def page_or_404(slug: str, kind: str | None = None) -> Page:
    return visible_page(slug, kind) or abort(404)


def treatments() -> list[Page]:
    query = sa.select(Page).where(Page.kind == "treatment", Page.visible()).order_by(Page.title)
    return list(db.session.scalars(query))


_CLINIC_PARTS = (
    selectinload(Clinic.hours),
    selectinload(Clinic.closures),
    selectinload(Clinic.holiday_openings),
)


def clinics() -> list[Clinic]:
    """Return every clinic with its hours and closures (their JSON-LD lists both)."""
    query = sa.select(Clinic).options(*_CLINIC_PARTS).order_by(Clinic.id)
    return list(db.session.scalars(query))


def clinic_or_404(slug: str) -> Clinic:
    query = sa.select(Clinic).where(Clinic.slug == slug).options(*_CLINIC_PARTS)
    return db.session.scalar(query) or abort(404)


def person_or_404(slug: str) -> Person:
    return db.session.scalar(sa.select(Person).where(Person.slug == slug)) or abort(404)


def articles_by(person: Person) -> list[Article]:
    query = (
        sa.select(Article)
        .where(Article.visible())
        .where(sa.or_(Article.author_id == person.id, Article.reviewer_id == person.id))
        .order_by(Article.published_on.desc())
    )
    return list(db.session.scalars(query))
