"""Demo content for a first start: created when missing, never overwriting edits."""

import tomllib
from datetime import date, time
from pathlib import Path

import sqlalchemy as sa

from clinic.content.models import Article, Clinic, OpeningHours, Page, Person
from clinic.extensions import db

DEMO = Path(__file__).parent / "demo"


def read_document(path: Path) -> tuple[dict, str]:
    """Split a demo file into its TOML front matter and Markdown body."""
    _, front, body = path.read_text(encoding="utf-8").split("+++\n", 2)
    return tomllib.loads(front), body.strip() + "\n"


def one_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _missing(model, slug: str) -> bool:
    return db.session.scalar(sa.select(model.id).where(model.slug == slug)) is None


def _person(slug: str) -> Person | None:
    return db.session.scalar(sa.select(Person).where(Person.slug == slug))


def seed_people() -> int:
    people = tomllib.loads((DEMO / "people.toml").read_text(encoding="utf-8"))["people"]
    new = [Person(**{**p, "bio": p["bio"].strip()}) for p in people if _missing(Person, p["slug"])]
    db.session.add_all(new)
    db.session.flush()
    return len(new)


def seed_clinics() -> int:
    data = tomllib.loads((DEMO / "clinics.toml").read_text(encoding="utf-8"))
    hours = data["hours"]
    opens, closes = time.fromisoformat(hours["opens"]), time.fromisoformat(hours["closes"])
    created = 0
    for fields in data["clinics"]:
        if not _missing(Clinic, fields["slug"]):
            continue
        clinic = Clinic(**fields)
        clinic.hours = [OpeningHours(weekday=d, opens=opens, closes=closes) for d in hours["days"]]
        db.session.add(clinic)
        created += 1
    db.session.flush()
    return created


def seed_articles() -> int:
    created = 0
    for path in sorted((DEMO / "articles").glob("*.md")):
        front, body = read_document(path)
        if not _missing(Article, path.stem):
            continue
        db.session.add(
            Article(
                slug=path.stem,
                title=front["title"],
                summary=front["summary"],
                body=body,
                seo_title=front["seo_title"],
                seo_description=front["seo_description"],
                key_points=front["key_points"],
                faqs=front["faqs"],
                references=front["references"],
                author=_person(front["author"]),
                reviewer=_person(front["reviewer"]),
                status="published",
                published_on=front["published"],
                last_reviewed=front["last_reviewed"],
                next_review_due=one_year_after(front["last_reviewed"]),
            )
        )
        created += 1
    db.session.flush()
    return created


def seed_pages() -> int:
    created = 0
    for path in sorted((DEMO / "pages").glob("*.md")):
        front, body = read_document(path)
        if not _missing(Page, path.stem):
            continue
        db.session.add(
            Page(
                slug=path.stem,
                kind=front["kind"],
                title=front["title"],
                summary=front["summary"],
                body=body,
                seo_title=front["seo_title"],
                seo_description=front["seo_description"],
                status="published",
                author=_person(front.get("author", "")),
                reviewer=_person(front.get("reviewer", "")),
                last_reviewed=front.get("last_reviewed"),
            )
        )
        created += 1
    db.session.flush()
    return created


def seed_demo() -> dict[str, int]:
    """Create the demo people, clinics, articles and pages that are not there yet."""
    return {
        "people": seed_people(),
        "clinics": seed_clinics(),
        "articles": seed_articles(),
        "pages": seed_pages(),
    }


def database_is_empty() -> bool:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Clinic)) == 0
