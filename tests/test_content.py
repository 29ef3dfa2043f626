"""Public pages: every route, drafts hidden, unknown slugs, what each page must show."""

from datetime import UTC, datetime, timedelta

import pytest

from clinic.extensions import db
from tests import factories
from tests.helpers import soup

DEMO_ARTICLES = [
    "does-amitriptyline-relax-muscles",
    "amitriptyline-and-muscle-cramps",
    "amitriptyline-for-back-pain",
]
PUBLIC_PATHS = [
    "/",
    "/articles/",
    *[f"/articles/{slug}" for slug in DEMO_ARTICLES],
    "/clinics/",
    "/clinics/london",
    "/clinics/manchester",
    "/clinics/bedford",
    "/treatments/prolotherapy",
    "/authors/oliver-eaton",
    "/authors/william-sharples",
    "/privacy",
    "/about",
]


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_public_page_renders_with_one_h1(demo, client, path):
    response = client.get(path)
    assert response.status_code == 200
    page = soup(response)
    assert len(page.find_all("h1")) == 1
    assert page.find("main", id="main")
    assert page.find("a", class_="skip-link")["href"] == "#main"


@pytest.mark.parametrize(
    "path",
    ["/articles/nope", "/clinics/paris", "/treatments/nope", "/authors/nobody", "/nowhere"],
)
def test_unknown_slugs_are_404_with_help(demo, client, path):
    response = client.get(path)
    assert response.status_code == 404
    text = response.get_data(as_text=True)
    assert "We could not find that page" in text
    assert 'href="/book"' in text


def test_articles_list_shows_every_published_article(demo, client):
    text = client.get("/articles/").get_data(as_text=True)
    for slug in DEMO_ARTICLES:
        assert f'href="/articles/{slug}"' in text


@pytest.mark.parametrize("status", ["draft", "unpublished"])
def test_unpublished_articles_are_hidden(app, client, status):
    with app.app_context():
        factories.article("secret-draft", status=status, title="Secret draft")
        db.session.commit()
    assert client.get("/articles/secret-draft").status_code == 404
    assert "Secret draft" not in client.get("/articles/").get_data(as_text=True)
    assert "secret-draft" not in client.get("/sitemap.xml").get_data(as_text=True)


def test_scheduled_article_is_live_only_when_due(app, client):
    now = datetime.now(UTC)
    with app.app_context():
        factories.article("past", status="scheduled", publish_at=now - timedelta(minutes=1))
        factories.article("future", status="scheduled", publish_at=now + timedelta(days=1))
        db.session.commit()
    assert client.get("/articles/past").status_code == 200
    assert client.get("/articles/future").status_code == 404


def test_draft_page_and_treatment_are_hidden(app, client):
    with app.app_context():
        factories.page("privacy", kind="legal", status="draft")
        factories.page("hidden-treatment", status="draft")
        db.session.commit()
    assert client.get("/privacy").status_code == 404
    assert client.get("/treatments/hidden-treatment").status_code == 404


def test_article_page_has_everything_a_reader_needs(demo, client):
    slug = "does-amitriptyline-relax-muscles"
    page = soup(client.get(f"/articles/{slug}"))
    text = page.get_text(" ")
    toc_links = [a["href"] for a in page.select("nav.toc a")]
    assert len(toc_links) >= 5
    for href in toc_links:
        assert page.find(id=href[1:]), f"table of contents points at a missing heading {href}"
    assert page.select(".key-points li")
    assert page.select(".faqs details summary")
    assert page.select(".references li")
    assert "Written by" in text and "Oliver Eaton" in text
    assert "Medically reviewed by" in text and "William Sharples" in text
    assert "BSc (Hons)" in text
    assert "Last reviewed" in text and "Next review due" in text
    assert "min" in page.select_one(".byline").get_text()
    assert "not a substitute" in page.select_one(".disclaimer").get_text()
    assert page.select_one(".cta a")["href"] == f"/book?from={slug}"
    assert page.select("table")
    related = [a["href"] for a in page.select("section[aria-labelledby=related-title] a")]
    assert related and f"/articles/{slug}" not in related


def test_article_markdown_is_sanitised(app, client):
    body = (
        "## Hi\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))"
        "\n\n<img src=x onerror=alert(1)>"
    )
    with app.app_context():
        factories.article("xss", body=body)
        db.session.commit()
    prose = soup(client.get("/articles/xss")).select_one(".prose")
    assert prose.find("script") is None
    assert prose.find("img") is None
    assert not [a for a in prose.find_all("a") if "javascript" in a.get("href", "")]
    assert not [tag for tag in prose.find_all(True) if any(k.startswith("on") for k in tag.attrs)]
    assert "&lt;script&gt;" in str(prose)


def test_clinic_page_shows_contact_hours_and_booking(demo, client):
    page = soup(client.get("/clinics/london"))
    assert "104 Harley Street" in page.find("address").get_text()
    assert page.select_one('a[href="tel:+441234380345"]')
    assert page.select_one('a[href^="mailto:"]')
    assert page.select_one('a[href*="destination=51.5216,-0.1481"]')
    rows = page.select("table.hours tbody tr")
    assert len(rows) == 7
    assert "09:00 to 18:00" in rows[0].get_text()
    assert "Closed" in rows[6].get_text()
    assert page.select_one(".status").get_text().strip()
    assert page.select_one(".cta a")["href"] == "/book?clinic=london"
    assert "Care Quality Commission" not in page.get_text()


def test_clinic_page_shows_cqc_rating_when_set(app, client):
    with app.app_context():
        factories.clinic("rated", cqc_rating="Good", cqc_url="https://www.cqc.org.uk/location/x")
        db.session.commit()
    page = soup(client.get("/clinics/rated"))
    assert "Care Quality Commission rating: Good" in " ".join(page.get_text().split())


def test_author_page_lists_their_articles(demo, client):
    text = client.get("/authors/william-sharples").get_data(as_text=True)
    for slug in DEMO_ARTICLES:
        assert f"/articles/{slug}" in text


def test_home_links_articles_clinics_and_booking(demo, client):
    page = soup(client.get("/"))
    hrefs = {a["href"] for a in page.find_all("a")}
    assert {"/clinics/london", "/clinics/manchester", "/clinics/bedford"} <= hrefs
    assert "/book" in hrefs
    assert "/treatments/prolotherapy" in hrefs
