"""Site search: what it finds and in what order, what it never shows, how it stays in step
with publishing, how it survives hostile queries, and how searches are counted."""

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic import create_app
from clinic.content import editing, scheduler
from clinic.content.models import Article, Page
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.search import index, text
from clinic.search.models import SearchDocument, SearchTermDay
from tests import factories
from tests.auth_helpers import login, make_users
from tests.conftest import app_config
from tests.helpers import soup

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"


def titles(client, query: str, **args) -> list[str]:
    response = client.get("/search", query_string={"q": query, **args})
    assert response.status_code == 200, response.status_code
    return [h.get_text(" ", strip=True) for h in soup(response).select(".search-result h2")]


def add(app, *makers):
    with app.app_context():
        for make in makers:
            make()
        db.session.commit()


def counts(app) -> dict[str, tuple[int, int]]:
    with app.app_context():
        rows = db.session.scalars(sa.select(SearchTermDay)).all()
        return {r.term: (r.searches, r.results) for r in rows}


# What it finds, and in what order


def test_finds_articles_by_words_in_the_body_with_a_marked_snippet(app, client):
    body = "## Part\n\nA **quadratus** lumborum strain often follows lifting."
    add(app, lambda: factories.article("strain", title="Lifting injuries", body=body))
    response = client.get("/search?q=Quadratus")
    page = soup(response)
    assert [h.get_text(strip=True) for h in page.select(".search-result h2")] == [
        "Lifting injuries"
    ]
    assert page.select_one(".search-result a")["href"] == "/articles/strain"
    assert page.select_one(".snippet mark").get_text() == "quadratus"
    assert "**" not in page.select_one(".snippet").get_text()  # Markdown is not shown


def test_finds_stemmed_words_treatments_and_clinics(app, client):
    add(
        app,
        lambda: factories.page("prolotherapy", title="Prolotherapy", body="Injections heal."),
        lambda: factories.clinic("testtown", name="Testtown clinic", city="Testtown"),
    )
    assert titles(client, "injection") == ["Prolotherapy"]  # stemmed: injections
    assert titles(client, "testtown") == ["Testtown clinic"]
    labels = [
        p.get_text() for p in soup(client.get("/search?q=heal")).select(".search-result .meta")
    ]
    assert labels == ["Treatment"]


def test_title_matches_come_first(app, client):
    body_only = "## Knee\n\n" + "Meniscus meniscus meniscus tears and the meniscus. " * 20
    add(
        app,
        lambda: factories.article("body-heavy", title="Knee pain after running", body=body_only),
        lambda: factories.article("titled", title="The meniscus", body="## Part\n\nShort."),
    )
    assert titles(client, "meniscus") == ["The meniscus", "Knee pain after running"]


def test_every_word_must_match(app, client):
    add(
        app,
        lambda: factories.article("a", title="Hip", body="## P\n\nbursitis of the hip"),
        lambda: factories.article("b", title="Shoulder", body="## P\n\nbursitis of the shoulder"),
    )
    assert titles(client, "bursitis hip") == ["Hip"]
    assert len(titles(client, "bursitis")) == 2


def test_results_are_paginated(app, client):
    add(app, *[lambda n=n: factories.article(f"a{n}", title=f"Sciatica {n}") for n in range(13)])
    first, second = titles(client, "sciatica"), titles(client, "sciatica", page=2)
    assert len(first) == 10 and len(second) == 3 and not set(first) & set(second)
    nav = soup(client.get("/search?q=sciatica")).select_one("nav.pagination a[rel=next]")
    assert nav["href"] == "/search?q=sciatica&page=2"
    assert "no more results" in client.get("/search?q=sciatica&page=5").get_data(as_text=True)


# What it never shows


@pytest.mark.parametrize("status", ["draft", "unpublished"])
def test_drafts_and_unpublished_items_are_never_found(app, client, status):
    add(
        app,
        lambda: factories.article("hidden", status=status, title="Secret tendinopathy"),
        lambda: factories.page("hidden-page", status=status, title="Secret tendinopathy page"),
    )
    assert titles(client, "tendinopathy") == []


def test_scheduled_items_are_found_only_once_due(app, client):
    soon, past = utcnow() + timedelta(days=1), utcnow() - timedelta(minutes=1)
    add(
        app,
        lambda: factories.article("later", status="scheduled", publish_at=soon, title="Gout later"),
        lambda: factories.article("due", status="scheduled", publish_at=past, title="Gout due"),
    )
    assert titles(client, "gout") == ["Gout due"]  # due, before the scheduler has run


def test_pages_without_a_public_address_are_not_indexed(app, client):
    add(app, lambda: factories.page("terms", kind="legal", title="Terms of whiplash"))
    assert titles(client, "whiplash") == []


def test_the_snippet_and_title_are_escaped_then_marked(app, client):
    hostile = '<script>alert("x")</script> <mark>fake</mark> \ue000spinal\ue001'
    add(app, lambda: factories.article("x", title="<b>Spinal</b> care", body=f"## P\n\n{hostile}"))
    html = client.get("/search?q=spinal").get_data(as_text=True)
    assert "<script>alert" not in html and "<b>Spinal" not in html and "<mark>fake" not in html
    assert "&lt;b&gt;<mark>Spinal</mark>&lt;/b&gt; care" in html
    page = soup(client.get("/search?q=spinal"))
    assert not page.select("main script, main b, .snippet mark:-soup-contains('fake')")
    assert "alert(" in page.select_one(".snippet").get_text()  # shown as text (PG drops tags)


# In step with the editor, the scheduler, seeding and rebuilding


def edit(app, slug: str, values: dict, action: str) -> None:
    with app.test_request_context():
        item = db.session.scalar(sa.select(Article).where(Article.slug == slug))
        editing.save("article", item, values, action)
        db.session.commit()


def test_publish_edit_rename_and_unpublish_show_at_once(app, client):
    add(app, lambda: factories.article("draft-one", status="draft", title="Frozen shoulder"))
    assert titles(client, "frozen") == []
    edit(app, "draft-one", {}, "publish")
    assert titles(client, "frozen") == ["Frozen shoulder"]
    edit(app, "draft-one", {"title": "Adhesive capsulitis", "slug": "capsulitis"}, "save")
    assert titles(client, "frozen") == []
    assert titles(client, "capsulitis") == ["Adhesive capsulitis"]
    hit = soup(client.get("/search?q=capsulitis")).select_one(".search-result a")
    assert hit["href"] == "/articles/capsulitis"
    edit(app, "capsulitis", {}, "unpublish")
    assert titles(client, "capsulitis") == []


def test_pending_changes_are_not_searchable_until_published(app, client):
    add(app, lambda: factories.article("live", title="Tennis elbow"))
    with app.test_request_context():
        item = db.session.scalar(sa.select(Article).where(Article.slug == "live"))
        editing.save_pending(
            "article",
            item,
            {**editing.current_snapshot("article", item), "title": "Golfer's elbow"},
        )
        db.session.commit()
    assert titles(client, "golfer") == []
    assert titles(client, "tennis") == ["Tennis elbow"]


def test_the_scheduler_and_deleting_keep_the_index_in_step(app, client):
    past = utcnow() - timedelta(minutes=1)
    add(
        app, lambda: factories.article("sched", status="scheduled", publish_at=past, title="Bunion")
    )
    with app.app_context():
        scheduler.publish_due()
        db.session.commit()
        row = db.session.scalar(sa.select(SearchDocument).where(SearchDocument.slug == "sched"))
        assert row.live_from is None
        db.session.delete(db.session.scalar(sa.select(Article).where(Article.slug == "sched")))
        db.session.commit()
    assert titles(client, "bunion") == []


def test_demo_content_is_found_and_reindex_rebuilds_the_same(demo, client, runner):
    assert "Prolotherapy" in " ".join(titles(client, "prolotherapy"))
    assert titles(client, "london")
    with demo.app_context():
        before = db.session.execute(
            sa.select(SearchDocument.kind, SearchDocument.item_id, SearchDocument.body)
        ).all()
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0 and "Search index: 9 items." in result.output
    with demo.app_context():
        after = db.session.execute(
            sa.select(SearchDocument.kind, SearchDocument.item_id, SearchDocument.body)
        ).all()
    assert sorted(before) == sorted(after)


def test_plain_text_keeps_words_and_drops_markup():
    markdown = "## Hi\n\nline one\nline **two** [a link](https://x.test) ![alt](/media/a-1.webp)"
    assert text.plain_text(markdown) == "Hi line one line two a link"


# The page itself


def test_the_page_is_not_indexed_not_shared_and_sets_no_cookie(demo, client):
    response = client.get("/search?q=back+pain")
    assert response.headers["X-Robots-Tag"] == "noindex"
    assert response.headers["Cache-Control"] == "private, max-age=60"
    assert "Set-Cookie" not in response.headers
    assert soup(response).select_one("meta[name=robots]")["content"] == "noindex"
    assert "X-Clinic-Page-Cache" not in response.headers


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("", 200, "Type a word or two"),
        ("   ", 200, "Type a word or two"),
        ("*** --", 200, "Use letters or numbers"),
        ("x" * 201, 400, "Your search is too long"),
    ],
)
def test_empty_odd_and_long_queries_get_a_message(demo, client, query, status, message):
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == status
    error = soup(response).select_one("#search-q-error")
    assert message in error.get_text()
    field = soup(response).select_one("#search-q")
    assert field["aria-describedby"] == "search-q-error"
    assert (field.get("aria-invalid") == "true") == (status == 400)


@pytest.mark.parametrize("page", ["0", "-1", "abc", "101", "9" * 30])
def test_a_bad_page_number_is_refused(demo, client, page):
    response = client.get("/search", query_string={"q": "pain", "page": page})
    assert response.status_code == 400
    assert "page number" in soup(response).select_one("#search-q-error").get_text()


def test_no_results_says_so_and_suggests_where_to_go(demo, client):
    response = client.get("/search", query_string={"q": "<i>xylophone</i>"})
    page = soup(response)
    assert "No results for “<i>xylophone</i>”" in page.select_one(".no-results h2").get_text()
    assert "&lt;i&gt;xylophone" in response.get_data(as_text=True)
    links = [a["href"] for a in page.select("#search-suggestions + ul a")]
    assert "/treatments/prolotherapy" in links and "/articles/" in links
    assert any(href.startswith("/book") for href in links)


def test_every_public_page_has_the_header_search_form(demo, client):
    page = soup(client.get("/"))
    form = page.select_one("header search form")
    assert form["action"] == "/search" and form["method"] == "get"
    field = form.select_one("input[name=q]")
    assert page.select_one(f"label[for={field['id']}]").get_text(strip=True)


# Hostile queries never give a 500, on either database

FTS_SYNTAX = [
    '"',
    '""',
    "'",
    "*",
    "-",
    "+",
    "^",
    ":",
    "(",
    ")",
    "{",
    "}",
    "NEAR",
    "NEAR(a b, 2)",
    "AND",
    "OR",
    "NOT",
    "a OR",
    "OR OR",
    "title:x",
    "{title}: x",
    "body : a*",
    "a -b",
    '"unclosed',
    "!a & b | c <-> d",
    "a:*",
    "\\",
    "%",
    "_",
    "\u202e",
    "\ue000",
    "\ue001",
    "ß",
    "İ",
    "🦴",
    "DROP TABLE search_document;--",
    "' OR 1=1 --",
    "\ufeff",
    "x" * 200,
    "word " * 40,
]
hostile = st.one_of(
    st.sampled_from(FTS_SYNTAX),
    st.lists(st.sampled_from(FTS_SYNTAX), min_size=1, max_size=8).map(" ".join),
    st.text(max_size=300),
    st.text(min_size=1500, max_size=2000),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=hostile)
def test_hostile_queries_never_fail(demo, client, query):
    response = client.get("/search", query_string={"q": query, "page": "1"})
    assert response.status_code in (200, 400), (query, response.status_code)
    html = response.get_data(as_text=True)
    assert "<script>alert" not in html
    if response.status_code == 200 and query.strip():
        assert soup(response).select_one("#search-q")["value"] == query


# Counting what people search for


def test_a_search_is_counted_per_normalised_query_with_its_results(demo, client):
    for query in ["Prolotherapy", "  prolotherapy ", "PROLOTHERAPY", "xylophone"]:
        client.get("/search", query_string={"q": query}, headers={"User-Agent": BROWSER_UA})
    client.get("/search?q=prolotherapy&page=2", headers={"User-Agent": BROWSER_UA})
    found = counts(demo)
    assert found["prolotherapy"][0] == 3 and found["prolotherapy"][1] > 0
    assert found["xylophone"] == (1, 0)
    assert len(found) == 2  # a second page is the same search


def test_what_is_counted_holds_no_identifier(demo, client):
    client.get(
        "/search?q=email+me+at+jo@example.com+or+07700+900123",
        headers={"User-Agent": BROWSER_UA},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert list(counts(demo)) == ["email me at [email] or [number]"]
    columns = {c.name for c in SearchTermDay.__table__.columns}
    assert columns == {"day", "term", "searches", "results"}
    with demo.app_context():
        dumped = " ".join(map(str, db.session.execute(sa.select(SearchTermDay)).all()))
    assert "203.0.113" not in dumped and "Mozilla" not in dumped


def test_a_long_query_is_counted_capped(demo, client):
    client.get("/search", query_string={"q": "word " * 39}, headers={"User-Agent": BROWSER_UA})
    (term,) = counts(demo)
    assert len(term) <= text.MAX_TERM_CHARS


@pytest.mark.parametrize(
    "headers",
    [
        {"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"},
        {"User-Agent": "Mozilla/5.0 (compatible; bingbot/2.0)"},
        {"User-Agent": "curl/8.5.0"},
        {"User-Agent": ""},
        {"User-Agent": BROWSER_UA, "Sec-GPC": "1"},
        {"User-Agent": BROWSER_UA, "DNT": "1"},
        {"User-Agent": BROWSER_UA, "Sec-Purpose": "prefetch;prerender"},
        {"User-Agent": BROWSER_UA, "Purpose": "prefetch"},
        {"User-Agent": BROWSER_UA, "X-Moz": "prefetch"},
    ],
    ids=[
        "googlebot",
        "bingbot",
        "curl",
        "no-agent",
        "gpc",
        "dnt",
        "sec-purpose",
        "purpose",
        "x-moz",
    ],
)
def test_robots_prefetches_and_do_not_track_are_not_counted(demo, client, headers):
    response = client.get("/search?q=prolotherapy", headers=headers)
    assert response.status_code == 200 and titles(client, "prolotherapy", page=2) == []
    assert counts(demo) == {}


@pytest.mark.parametrize("role", ["marketer", "staff", "admin"])
def test_signed_in_staff_are_not_counted(demo, client, role):
    make_users(demo)
    assert login(client, role).status_code == 303
    response = client.get("/search?q=prolotherapy", headers={"User-Agent": BROWSER_UA})
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert counts(demo) == {}


# The admin page


def seed_counts(app) -> None:
    from clinic.search.services import count_search
    from clinic.uktime import today

    with app.app_context():
        for days_ago, term, n, results in [
            (0, "back pain", 5, 3),
            (3, "back pain", 2, 3),
            (20, "prolotherapy", 9, 1),
            (0, "knee brace", 2, 0),
            (60, "old gap", 4, 0),
            (100, "ancient", 50, 2),
        ]:
            for _ in range(n):
                count_search(term, results, today() - timedelta(days=days_ago))
        db.session.commit()


def table_rows(response, caption_id: str) -> list[list[str]]:
    table = soup(response).find(id=caption_id).find_parent("table")
    return [[td.get_text(strip=True) for td in tr.select("td")] for tr in table.select("tbody tr")]


@pytest.mark.parametrize("role", ["marketer", "admin"])
def test_marketers_and_admins_see_top_searches_and_gaps(app, client, role):
    make_users(app)
    seed_counts(app)
    assert login(client, role).status_code == 303
    week = client.get("/admin/insights/searches?days=7")
    assert week.status_code == 200 and "no-store" in week.headers["Cache-Control"]
    assert table_rows(week, "top-caption") == [["back pain", "7", "3"], ["knee brace", "2", "0"]]
    assert table_rows(week, "gaps-caption") == [["knee brace", "2", "0"]]
    quarter = client.get("/admin/insights/searches?days=90")
    assert [r[0] for r in table_rows(quarter, "top-caption")] == [
        "prolotherapy",
        "back pain",
        "old gap",
        "knee brace",
    ]
    assert [r[0] for r in table_rows(quarter, "gaps-caption")] == ["old gap", "knee brace"]
    assert client.get("/admin/insights/searches").status_code == 200  # 30 days
    refused = client.get("/admin/insights/searches?days=365")
    assert refused.status_code == 400 and "7, 30 or 90" in refused.get_data(as_text=True)


def test_staff_may_not_see_searches_and_the_signed_out_are_sent_to_sign_in(app, client):
    make_users(app)
    response = client.get("/admin/insights/searches")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    assert login(client, "staff").status_code == 303
    assert client.get("/admin/insights/searches").status_code == 403


# The migration, both ways, on a database of its own


@pytest.fixture
def scratch_url(database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    from tests.pgdb import main

    name = f"search_mig_{uuid.uuid4().hex[:10]}"
    admin = sa.make_url(database_url).set(database="postgres").render_as_string(False)
    main("create", admin, name)
    try:
        yield sa.make_url(database_url).set(database=name).render_as_string(False)
    finally:
        main("drop", admin, name)


def test_the_migration_upgrades_indexes_existing_content_and_downgrades(scratch_url):
    app = create_app(app_config(scratch_url))
    with app.app_context():
        upgrade(revision="c4e8f2a6b1d9")
        db.session.execute(
            sa.insert(Article.__table__).values(
                slug="old",
                title="Old **sciatica** guide",
                summary="",
                status="published",
                body="## P\n\nSee [the nerve](https://x.test) piriformis.",
                key_points=[],
                faqs=[{"question": "Is it tibial?", "answer": "No."}],
                references=[],
                seo_title="",
                seo_description="",
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        db.session.execute(
            sa.insert(Page.__table__).values(
                slug="draft",
                kind="treatment",
                title="Draft sciatica",
                summary="",
                body="",
                status="draft",
                seo_title="",
                seo_description="",
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        db.session.commit()
        upgrade()
        client = app.test_client()
        assert titles(client, "piriformis") == ["Old sciatica guide"]
        assert titles(client, "tibial") == ["Old sciatica guide"]
        assert titles(client, "sciatica") == ["Old sciatica guide"]
        db.session.remove()
        downgrade(revision="c4e8f2a6b1d9")
        names = set(sa.inspect(db.engine).get_table_names())
        assert not {n for n in names if n.startswith("search")}
        upgrade()
        assert index.rebuild() == 1
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def test_postgresql_uses_its_gin_index_for_the_match(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            assert "search_fts" in sa.inspect(db.engine).get_table_names()
            return
        db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = db.session.execute(
            sa.text(
                "EXPLAIN SELECT id FROM search_document "
                "WHERE document @@ plainto_tsquery('english', 'pain')"
            )
        ).scalars()
        assert "ix_search_document_document" in " ".join(plan)


def test_count_upsert_is_one_row_per_day_and_term(app):
    from clinic.search.services import count_search

    with app.app_context():
        for results in (4, 5):
            count_search("neck", results)
        db.session.commit()
        (row,) = db.session.scalars(sa.select(SearchTermDay)).all()
        assert (row.searches, row.results) == (2, 5)


# A backup holds the index: a restored database searches as the original did


def test_a_restored_backup_finds_what_the_original_found(demo, runner, scratch_url, tmp_path):
    fresh = create_app(app_config(scratch_url))
    backup = tmp_path / "clinic.backup"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    result = fresh.test_cli_runner().invoke(args=["restore", str(backup)])
    assert result.exit_code == 0, result.output
    original, restored = demo.test_client(), fresh.test_client()
    for query in ("prolotherapy", "muscle cramps", "london"):
        assert titles(restored, query) == titles(original, query) != []
    edit(fresh, "amitriptyline-and-muscle-cramps", {}, "unpublish")  # still kept in step
    assert "cramps" not in " ".join(titles(restored, "cramps")).lower()
    with fresh.app_context():
        db.session.remove()
        db.engine.dispose()
