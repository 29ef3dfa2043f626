"""What search engines read: titles, canonical links, Open Graph, JSON-LD, sitemap, robots."""

import xml.etree.ElementTree as ET

import pytest

from clinic.extensions import db
from tests import factories
from tests.helpers import json_ld, of_type, soup
from tests.test_content import DEMO_ARTICLES, PUBLIC_PATHS

BASE = "https://www.example.test"
SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def test_titles_and_descriptions_are_unique(demo, client):
    titles, descriptions = {}, {}
    for path in PUBLIC_PATHS:
        head = soup(client.get(path)).head
        title = head.title.string.strip()
        description = head.find("meta", attrs={"name": "description"})["content"].strip()
        assert title and description, path
        assert len(description) >= 50, path
        titles.setdefault(title, []).append(path)
        descriptions.setdefault(description, []).append(path)
    assert all(len(paths) == 1 for paths in titles.values()), titles
    assert all(len(paths) == 1 for paths in descriptions.values()), descriptions


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_canonical_and_open_graph(demo, client, path):
    head = soup(client.get(path + "?utm_source=x")).head
    assert head.find("link", rel="canonical")["href"] == BASE + path
    assert head.find("meta", property="og:url")["content"] == BASE + path
    assert head.find("meta", property="og:title")["content"] == head.title.string
    assert head.find("meta", property="og:description")["content"]


def test_home_declares_the_organization_with_its_sites(demo, client):
    org = of_type(json_ld(client.get("/")), "MedicalOrganization")
    assert org["@context"] == "https://schema.org"
    assert org["name"] == "ProHealth Clinic"
    assert org["telephone"] == "+44 1234 380345"
    assert org["url"] == BASE + "/"
    sites = {site["url"]: site for site in org["subOrganization"]}
    assert set(sites) == {f"{BASE}/clinics/{s}" for s in ("london", "manchester", "bedford")}
    assert all(site["@type"] == "MedicalClinic" for site in sites.values())


def test_article_json_ld_field_by_field(demo, client):
    slug = DEMO_ARTICLES[0]
    blocks = json_ld(client.get(f"/articles/{slug}"))
    page = of_type(blocks, "MedicalWebPage")
    url = f"{BASE}/articles/{slug}"
    assert page["url"] == url
    assert page["inLanguage"] == "en-GB"
    assert page["mainEntity"]["@type"] == "Article"
    assert page["mainEntity"]["headline"] == "Does Amitriptyline Relax Muscles?"
    assert page["mainEntity"]["datePublished"] == "2026-08-24"
    assert page["mainEntity"]["dateModified"]
    assert page["author"] == page["mainEntity"]["author"]
    assert page["author"]["@type"] == "Person"
    assert page["author"]["name"] == "Oliver Eaton"
    assert page["author"]["url"] == f"{BASE}/authors/oliver-eaton"
    assert page["reviewedBy"]["name"] == "William Sharples"
    assert page["reviewedBy"]["honorificSuffix"] == "BSc (Hons)"
    assert page["lastReviewed"] == "2026-10-20"
    assert page["publisher"]["@id"] == f"{BASE}/#organization"
    crumbs = of_type(blocks, "BreadcrumbList")["itemListElement"]
    assert [c["position"] for c in crumbs] == [1, 2, 3]
    assert [c["item"] for c in crumbs] == [f"{BASE}/", f"{BASE}/articles/", url]
    assert crumbs[-1]["name"] == page["mainEntity"]["headline"]


def test_clinic_json_ld_matches_the_clinic_record(demo, client):
    blocks = json_ld(client.get("/clinics/manchester"))
    clinic = of_type(blocks, "MedicalClinic")
    assert clinic["name"] == "ProHealth Clinic Manchester"
    assert clinic["telephone"] == "+44 1234 380345"
    assert clinic["address"] == {
        "@type": "PostalAddress",
        "streetAddress": "The Hadley Clinic, 64 Bridge Street",
        "addressLocality": "Manchester",
        "postalCode": "M3 3BN",
        "addressCountry": "GB",
    }
    assert clinic["geo"] == {"@type": "GeoCoordinates", "latitude": 53.4813, "longitude": -2.2505}
    weekly, *closed_days = clinic["openingHoursSpecification"]
    assert weekly == {
        "@type": "OpeningHoursSpecification",
        "dayOfWeek": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
        "opens": "09:00",
        "closes": "18:00",
    }
    # Then the bank holidays of the coming year, each closed all day (tests/test_bank_holidays.py).
    assert closed_days and all(day["opens"] == day["closes"] == "00:00" for day in closed_days)
    assert clinic["parentOrganization"] == {"@id": f"{BASE}/#organization"}
    assert of_type(blocks, "BreadcrumbList")["itemListElement"][1]["item"] == f"{BASE}/clinics/"


def test_hours_shown_and_in_json_ld_come_from_one_record(app, client):
    with app.app_context():
        factories.clinic("split", hours=((0, 0, "08:00", "12:00"), (0, 0, "13:00", "17:30")))
        db.session.commit()
    response = client.get("/clinics/split")
    specs = of_type(json_ld(response), "MedicalClinic")["openingHoursSpecification"]
    weekly = [s for s in specs if "dayOfWeek" in s]  # the others: closed days (bank holidays)
    assert {(s["opens"], s["closes"]) for s in weekly} == {("08:00", "12:00"), ("13:00", "17:30")}
    monday = soup(response).select("table.hours tbody tr")[0].get_text()
    assert "08:00 to 12:00" in monday and "13:00 to 17:30" in monday


def test_sitemap_lists_every_published_page_with_lastmod(demo, client):
    with demo.app_context():
        factories.article("a-draft", status="draft")
        db.session.commit()
    response = client.get("/sitemap.xml")
    assert response.mimetype == "application/xml"
    root = ET.fromstring(response.data)
    urls = {u.find("s:loc", SITEMAP_NS).text: u for u in root.findall("s:url", SITEMAP_NS)}
    expected = {BASE + path for path in PUBLIC_PATHS}
    assert set(urls) == expected
    for url in urls.values():
        lastmod = url.find("s:lastmod", SITEMAP_NS).text
        assert len(lastmod) == 10 and lastmod[4] == "-"


def test_robots_points_to_sitemap_and_keeps_admin_out(client):
    text = client.get("/robots.txt").get_data(as_text=True)
    assert "Disallow: /admin" in text.splitlines()
    assert f"Sitemap: {BASE}/sitemap.xml" in text.splitlines()
