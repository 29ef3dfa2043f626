"""The content editor: roles, forms, preview, publishing rules, scheduling, revisions, audit."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from clinic.audit.models import AuditEntry
from clinic.content import bank_holidays, review, scheduler
from clinic.content.models import Article, Clinic, Page, Person, ReviewReminder, Revision
from clinic.content.seed import one_year_after
from clinic.extensions import db
from clinic.notifications import outbox
from clinic.notifications.models import OutboxMessage
from clinic.pagecache import CacheGeneration
from tests import factories
from tests.auth_helpers import csrf_token, login, make_users
from tests.helpers import soup

DEMO_SLUG = "amitriptyline-for-back-pain"
XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<iframe src=https://evil.example></iframe>",
    "<svg onload=alert(1)><circle r=1></circle></svg>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="javascript:alert(1)">x</a>',
    '<p style="background:url(javascript:alert(1))">styled</p>',
    '<object data="https://evil.example/x.swf"></object>',
    '<embed src="https://evil.example/x.swf">',
    '<form action="https://evil.example"><input name=x><button>Go</button></form>',
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '[x](https://ok.example "title" onclick=alert(1))',
    "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
    "<details open ontoggle=alert(1)>",
    "<a href='jav&#x09;ascript:alert(1)'>tab</a>",
    "[tab](jav&#x09;ascript:alert(1))",
]
SAFE_SCHEMES = ("", "http", "https", "mailto", "tel")


def _scheme(url: str) -> str:
    """The scheme a browser would see: it drops tabs and newlines and trims control chars."""
    cleaned = re.sub(r"[\t\n\r]", "", url).strip("\x00\x01\x02\x03\x04\x05 ")
    match = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):", cleaned)
    return match.group(1).lower() if match else ""


# -- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def marketer(demo, client):
    make_users(demo)
    login(client, "marketer")
    return client


def form_data(response, selector: str = "form.editor") -> dict:
    """Read a form's fields the way a browser would submit them (no button)."""
    form = soup(response).select_one(selector)
    data = {}
    for element in form.select("input, textarea, select"):
        name = element.get("name")
        kind = element.get("type", "text")
        if not name or kind in ("submit", "file"):
            continue
        if kind in ("checkbox", "radio"):
            if element.has_attr("checked"):
                data[name] = element.get("value", "y")
        elif element.name == "textarea":
            data[name] = element.text.removeprefix("\r\n").removeprefix("\n")
        elif element.name == "select":
            chosen = element.select_one("option[selected]") or element.select_one("option")
            data[name] = chosen.get("value", "") if chosen else ""
        else:
            data[name] = element.get("value", "")
    return data


def editor_post(client, path: str, action: str, **changes):
    """Open an editor page, change some fields, press the button for `action`."""
    data = form_data(client.get(path))
    data.update(changes, action=action)
    return client.post(path, data={k: v for k, v in data.items() if v is not None})


def article_id(app, slug: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Article.id).where(Article.slug == slug))


def person_id(app, slug: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Person.id).where(Person.slug == slug))


def main_html(response) -> str:
    main = soup(response).find("main")
    for banner in main.select(".preview-banner"):
        banner.decompose()
    return str(main)


def new_article_fields(app, **changes) -> dict:
    fields = {
        "title": "Gentle exercises for back pain",
        "slug": "gentle-exercises",
        "summary": "Simple movements to try at home.",
        "body": "## Start slowly\n\nWalk every day.",
        "reviewer_id": str(person_id(app, "william-sharples")),
        "author_id": str(person_id(app, "oliver-eaton")),
        "last_reviewed": "2026-01-10",
    }
    return {**fields, **changes}


def audit_actions(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(AuditEntry.action, AuditEntry.target_type, AuditEntry.user_email).order_by(
                AuditEntry.id
            )
        )
        return [tuple(row) for row in rows]


# -- roles -------------------------------------------------------------------------------------

ADMIN_PATHS = [
    "/admin/content/",
    "/admin/content/articles/new",
    "/admin/content/pages/new",
    "/admin/content/clinics/new",
    "/admin/content/people/new",
    "/admin/content/redirects/",
    "/admin/content/images/",
    "/admin/content/review",
]


@pytest.mark.parametrize("path", ADMIN_PATHS)
def test_anonymous_visitors_are_sent_to_sign_in(demo, client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/admin/login" in response.headers["Location"]


@pytest.mark.parametrize("path", ADMIN_PATHS)
def test_staff_get_403(demo, client, path):
    make_users(demo)
    login(client, "staff")
    assert client.get(path).status_code == 403


def test_staff_cannot_post_an_edit(demo, client):
    make_users(demo)
    login(client, "marketer")
    data = form_data(client.get(f"/admin/content/articles/{article_id(demo, DEMO_SLUG)}"))
    client.post("/admin/logout", data={"csrf_token": data["csrf_token"]})
    login(client, "staff")
    path = f"/admin/content/articles/{article_id(demo, DEMO_SLUG)}"
    data.update(csrf_token=csrf_token(client), title="Hacked", action="publish")
    response = client.post(path, data=data)
    assert response.status_code == 403
    assert "Hacked" not in client.get(f"/articles/{DEMO_SLUG}").get_data(as_text=True)


@pytest.mark.parametrize("role", ["marketer", "admin"])
def test_marketers_and_admins_edit_content(demo, client, role):
    make_users(demo)
    login(client, role)
    response = client.get("/admin/content/")
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    assert "noindex" in response.headers["X-Robots-Tag"]
    assert 'href="/admin/content/"' in client.get("/admin/").get_data(as_text=True)


# -- the list ----------------------------------------------------------------------------------


def test_index_lists_every_kind_with_status_and_review_due(marketer):
    page = soup(marketer.get("/admin/content/"))
    text = " ".join(page.get_text(" ").split())
    headings = [h.get_text(" ", strip=True) for h in page.select("main h2")]
    assert [h.split(" (")[0] for h in headings] == ["Articles", "Pages", "Clinics", "People"]
    assert "Does amitriptyline relax muscles" in text or "amitriptyline" in text.lower()
    assert "Prolotherapy" in text and "London" in text and "William Sharples" in text
    assert "Published" in text
    assert "20 October 2027" in text  # last reviewed 20 October 2026, due a year later


def test_index_search_filters(marketer):
    text = marketer.get("/admin/content/?q=PROLO").get_data(as_text=True)
    assert "Prolotherapy" in text
    assert "Amitriptyline for Back Pain" not in text
    assert "Nothing matches" in text


# -- creating, validating, publishing ----------------------------------------------------------


def test_new_article_is_a_hidden_draft_until_published(marketer, demo):
    response = editor_post(
        marketer, "/admin/content/articles/new", "draft", **new_article_fields(demo)
    )
    assert response.status_code == 303
    assert marketer.get("/articles/gentle-exercises").status_code == 404
    edit_path = response.headers["Location"]
    response = editor_post(marketer, edit_path, "publish")
    assert response.status_code == 303
    page = marketer.get("/articles/gentle-exercises")
    assert page.status_code == 200
    assert "Walk every day." in page.get_data(as_text=True)
    with demo.app_context():
        article = db.session.scalar(sa.select(Article).where(Article.slug == "gentle-exercises"))
        assert article.status == "published"
        assert article.next_review_due == date(2027, 1, 10)
        assert article.published_on is not None


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("reviewer_id", "Choose the medical reviewer"),
        ("last_reviewed", "date of the medical review"),
    ],
)
@pytest.mark.parametrize("action", ["publish", "schedule"])
def test_publishing_needs_a_reviewer_and_a_review_date(marketer, demo, missing, message, action):
    later = datetime.now(UTC) + timedelta(days=3)
    fields = new_article_fields(
        demo, publish_date=later.date().isoformat(), publish_time="10:00", **{missing: ""}
    )
    response = editor_post(marketer, "/admin/content/articles/new", action, **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with demo.app_context():
        assert (
            db.session.scalar(sa.select(Article).where(Article.slug == "gentle-exercises")) is None
        )
    # A draft without them is fine.
    assert (
        editor_post(marketer, "/admin/content/articles/new", "draft", **fields).status_code == 303
    )


@pytest.mark.parametrize(
    ("slug", "ok"),
    [
        ("back-pain-2", True),
        ("Back-Pain", False),
        ("back pain", False),
        ("back_pain", False),
        ("-back", False),
        ("back--pain", False),
        ("", False),
        ("ünïcode", False),
    ],
)
def test_slug_is_validated(marketer, demo, slug, ok):
    fields = new_article_fields(demo, slug=slug)
    response = editor_post(marketer, "/admin/content/articles/new", "draft", **fields)
    assert response.status_code == (303 if ok else 422)


def test_slug_must_be_unique(marketer, demo):
    fields = new_article_fields(demo, slug=DEMO_SLUG)
    response = editor_post(marketer, "/admin/content/articles/new", "draft", **fields)
    assert response.status_code == 422
    assert "already uses this slug" in response.get_data(as_text=True)


def test_editor_shows_seo_length_hints_and_repeatable_rows(marketer, demo):
    page = soup(marketer.get(f"/admin/content/articles/{article_id(demo, DEMO_SLUG)}"))
    assert "of 60 characters" in page.select_one("#seo_title-hint").get_text()
    assert "of 155 characters" in page.select_one("#seo_description-hint").get_text()
    key_points = page.select("input[name^=key_points-]")
    assert len(key_points) == 6  # five saved points and one blank row
    assert page.select_one("input[name=faqs-4-question]")  # four FAQs and a blank row
    assert page.select_one("label[for=faqs-0-question]")
    assert page.select_one("button[value=add-key_points]")


def test_add_another_row_rerenders_with_one_more_and_saves_nothing(marketer, demo):
    path = f"/admin/content/articles/{article_id(demo, DEMO_SLUG)}"
    response = editor_post(marketer, path, "add-key_points", title="Not saved")
    assert response.status_code == 200
    page = soup(response)
    assert len(page.select("input[name^=key_points-]")) == 7
    assert page.select_one("#title")["value"] == "Not saved"
    assert "Not saved" not in marketer.get(f"/articles/{DEMO_SLUG}").get_data(as_text=True)


def test_key_points_faqs_and_references_are_saved(marketer, demo):
    fields = new_article_fields(
        demo,
        **{
            "key_points-0": "First point",
            "key_points-1": "",
            "faqs-0-question": "Does it hurt?",
            "faqs-0-answer": "A little.",
            "references-0-title": "NHS page",
            "references-0-url": "https://www.nhs.uk/",
        },
    )
    response = editor_post(marketer, "/admin/content/articles/new", "publish", **fields)
    assert response.status_code == 303
    page = soup(marketer.get("/articles/gentle-exercises"))
    assert [li.get_text() for li in page.select(".key-points li")] == ["First point"]
    assert page.select_one(".faqs summary").get_text() == "Does it hurt?"
    assert page.select_one(".references a")["href"] == "https://www.nhs.uk/"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "//evil.example"])
def test_reference_links_must_be_web_links(marketer, demo, url):
    fields = new_article_fields(demo, **{"references-0-title": "Ref", "references-0-url": url})
    response = editor_post(marketer, "/admin/content/articles/new", "draft", **fields)
    assert response.status_code == 422
    assert "starting with https://" in response.get_data(as_text=True)


def test_faq_question_needs_an_answer(marketer, demo):
    fields = new_article_fields(demo, **{"faqs-0-question": "Why?", "faqs-0-answer": ""})
    response = editor_post(marketer, "/admin/content/articles/new", "draft", **fields)
    assert response.status_code == 422
    assert "Add the answer" in response.get_data(as_text=True)


def test_publishing_an_edit_shows_on_the_public_page_at_once(marketer, demo):
    before = marketer.get(f"/articles/{DEMO_SLUG}")  # now in the page cache
    assert "Freshly edited" not in before.get_data(as_text=True)
    marketer.get("/articles/")
    path = f"/admin/content/articles/{article_id(demo, DEMO_SLUG)}"
    response = editor_post(
        marketer, path, "publish", title="Freshly edited title", confirm_warnings="y"
    )
    assert response.status_code == 303
    assert "Freshly edited title" in marketer.get(f"/articles/{DEMO_SLUG}").get_data(as_text=True)
    assert "Freshly edited title" in marketer.get("/articles/").get_data(as_text=True)


def test_unpublish_hides_at_once(marketer, demo):
    marketer.get(f"/articles/{DEMO_SLUG}")
    path = f"/admin/content/articles/{article_id(demo, DEMO_SLUG)}"
    assert editor_post(marketer, path, "unpublish").status_code == 303
    assert marketer.get(f"/articles/{DEMO_SLUG}").status_code == 404


def test_legal_pages_keep_their_fixed_slug(marketer, demo):
    with demo.app_context():
        privacy_id = db.session.scalar(sa.select(Page.id).where(Page.slug == "privacy"))
    response = editor_post(
        marketer, f"/admin/content/pages/{privacy_id}", "publish", slug="private", title="Privacy!"
    )
    assert response.status_code == 303
    assert "Privacy!" in marketer.get("/privacy").get_data(as_text=True)


def test_new_page_is_a_treatment_page(marketer, demo):
    fields = {
        "title": "Shockwave therapy",
        "slug": "shockwave",
        "body": "## What\n\nSound waves.",
        "reviewer_id": str(person_id(demo, "william-sharples")),
        "last_reviewed": "2026-02-01",
    }
    response = editor_post(marketer, "/admin/content/pages/new", "publish", **fields)
    assert response.status_code == 303
    assert "Sound waves." in marketer.get("/treatments/shockwave").get_data(as_text=True)


def test_delete_only_drafts(marketer, demo):
    with demo.app_context():
        draft = factories.article("old-draft", status="draft")
        db.session.commit()
        draft_id = draft.id
    live_id = article_id(demo, DEMO_SLUG)
    assert marketer.get(f"/admin/content/articles/{live_id}/delete").status_code == 404
    page = marketer.get(f"/admin/content/articles/{draft_id}/delete")
    sent = form_data(page, "main form")
    token, version = sent["csrf_token"], sent["version"]
    response = marketer.post(
        f"/admin/content/articles/{draft_id}/delete", data={"csrf_token": token, "version": version}
    )
    assert response.status_code == 303
    with demo.app_context():
        assert db.session.get(Article, draft_id) is None
    assert ("content_delete", "article", "marketer@example.test") in audit_actions(demo)


# -- preview -----------------------------------------------------------------------------------


def test_preview_equals_the_published_page(marketer, demo):
    path = f"/admin/content/articles/{article_id(demo, DEMO_SLUG)}"
    changes = {
        "title": "Amitriptyline and back pain: a new look",
        "body": "## Changed\n\nA new paragraph, [a link](/clinics/).\n\n| a |\n|--|\n| 1 |",
        "key_points-0": "A new key point",
        "confirm_warnings": "y",
    }
    preview = editor_post(marketer, path, "preview", **changes)
    assert preview.status_code == 200
    assert editor_post(marketer, path, "publish", **changes).status_code == 303
    public = marketer.get(f"/articles/{DEMO_SLUG}")
    assert "A new paragraph" in public.get_data(as_text=True)
    assert main_html(preview) == main_html(public)


def test_preview_of_a_new_page_equals_its_published_page(marketer, demo):
    fields = {
        "title": "Shockwave therapy",
        "slug": "shockwave",
        "summary": "Sound waves.",
        "body": "## What\n\nSound waves.",
        "last_reviewed": "2026-02-01",
        "reviewer_id": str(person_id(demo, "william-sharples")),
    }
    preview = editor_post(marketer, "/admin/content/pages/new", "preview", **fields)
    assert editor_post(marketer, "/admin/content/pages/new", "publish", **fields).status_code == 303
    assert main_html(preview) == main_html(marketer.get("/treatments/shockwave"))


def test_preview_is_private_and_saves_nothing(marketer, demo):
    path = f"/admin/content/articles/{article_id(demo, DEMO_SLUG)}"
    preview = editor_post(marketer, path, "preview", title="Unsaved preview title")
    assert "Unsaved preview title" in preview.get_data(as_text=True)
    assert "no-store" in preview.headers["Cache-Control"]
    assert "noindex" in preview.headers["X-Robots-Tag"]
    assert soup(preview).find("meta", attrs={"name": "robots"})["content"].startswith("noindex")
    assert soup(preview).select_one(".preview-banner")
    public = marketer.get(f"/articles/{DEMO_SLUG}").get_data(as_text=True)
    assert "Unsaved preview title" not in public
    with demo.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Revision)) == 0


# -- medicines check ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "seo_title", "body", "expected"),
    [
        ("Tramadol for back pain", "", "", ["headline names tramadol"]),
        ("Back pain", "Buy PREGABALIN today", "", ["SEO title names pregabalin"]),
        ("Back pain", "", "Gabapentin can help.\n\n[Book a call](/book)", []),
        ("Back pain", "", "Ask about gabapentin. [Book a call](/book?from=x)", ["gabapentin"]),
        ("Back pain", "", "Codeine? Book at https://www.example.test/book", ["codeine"]),
        ("Back pain", "", "Duloxetine. [See our books](/books)", []),
        ("Back pain relief", "Back pain", "Rest and walk.", []),
    ],
)
def test_medicine_warnings(title, seo_title, body, expected):
    warnings = review.medicine_warnings(title, seo_title, body)
    assert len(warnings) == len(expected)
    for needle, warning in zip(expected, warnings, strict=True):
        assert needle in warning


def test_medicine_in_headline_needs_explicit_confirmation(marketer, demo):
    fields = new_article_fields(demo, title="Cyclobenzaprine explained")
    response = editor_post(marketer, "/admin/content/articles/new", "publish", **fields)
    assert response.status_code == 422
    page = soup(response)
    assert "headline names cyclobenzaprine" in page.select_one(".warning-panel").get_text()
    assert page.select_one("input[name=confirm_warnings][type=checkbox]")
    with demo.app_context():
        assert (
            db.session.scalar(sa.select(Article).where(Article.slug == "gentle-exercises")) is None
        )
    fields["confirm_warnings"] = "y"
    response = editor_post(marketer, "/admin/content/articles/new", "publish", **fields)
    assert response.status_code == 303
    assert marketer.get("/articles/gentle-exercises").status_code == 200


def test_medicine_next_to_a_booking_link_warns_but_a_draft_saves(marketer, demo):
    body = "## Options\n\nNortriptyline may help. [Book a free call](/book)"
    fields = new_article_fields(demo, body=body)
    assert (
        editor_post(marketer, "/admin/content/articles/new", "draft", **fields).status_code == 303
    )
    path = f"/admin/content/articles/{article_id(demo, 'gentle-exercises')}"
    response = editor_post(marketer, path, "publish")
    assert response.status_code == 422
    assert "booking link names nortriptyline" in response.get_data(as_text=True)


# -- scheduling --------------------------------------------------------------------------------


def test_schedule_in_uk_time_then_publish_due_flips_it(marketer, demo, runner):
    day = (datetime.now(UTC) + timedelta(days=10)).date()
    fields = new_article_fields(demo, publish_date=day.isoformat(), publish_time="09:30")
    response = editor_post(marketer, "/admin/content/articles/new", "schedule", **fields)
    assert response.status_code == 303
    assert marketer.get("/articles/gentle-exercises").status_code == 404
    with demo.app_context():
        article = db.session.scalar(sa.select(Article).where(Article.slug == "gentle-exercises"))
        assert article.status == "scheduled"
        local = article.publish_at.astimezone(review.UK)
        assert (local.date(), local.hour, local.minute) == (day, 9, 30)
        assert article.publish_at.tzinfo == UTC
        assert scheduler.publish_due() == []
        due = article.publish_at + timedelta(seconds=1)
        assert scheduler.publish_due(now=due) == [("article", "gentle-exercises")]
        db.session.commit()
        assert article.status == "published"
        assert article.published_on == day
    assert marketer.get("/articles/gentle-exercises").status_code == 200


def test_schedule_in_the_past_is_refused(marketer, demo):
    fields = new_article_fields(demo, publish_date="2020-01-01", publish_time="09:00")
    response = editor_post(marketer, "/admin/content/articles/new", "schedule", **fields)
    assert response.status_code == 422
    assert "in the future" in response.get_data(as_text=True)


def test_due_scheduled_page_is_live_and_future_one_hidden(app, client, runner):
    now = datetime.now(UTC)
    with app.app_context():
        factories.page("due-page", status="scheduled", publish_at=now - timedelta(minutes=1))
        factories.page("later-page", status="scheduled", publish_at=now + timedelta(days=1))
        db.session.commit()
    assert client.get("/treatments/due-page").status_code == 200
    assert client.get("/treatments/later-page").status_code == 404
    result = runner.invoke(args=["content", "publish-due"])
    assert result.exit_code == 0, result.output
    assert "Published 1: page due-page." in result.output
    with app.app_context():
        statuses = dict(db.session.execute(sa.select(Page.slug, Page.status)).all())
    assert statuses == {"due-page": "published", "later-page": "scheduled"}


def test_publish_due_refreshes_cached_lists_at_once(app, client):
    now = datetime.now(UTC)
    with app.app_context():
        factories.article("soon", status="scheduled", publish_at=now + timedelta(hours=1))
        db.session.commit()
    assert "/articles/soon" not in client.get("/articles/").get_data(as_text=True)  # cached
    with app.app_context():
        scheduler.publish_due(now=now + timedelta(hours=2))
        db.session.commit()
    assert "/articles/soon" in client.get("/articles/").get_data(as_text=True)


def test_the_outbox_worker_publishes_due_content(app):
    with app.app_context():
        factories.article("due", status="scheduled", publish_at=datetime.now(UTC))
        db.session.commit()
        assert scheduler.publish_due_and_commit in outbox.periodic_tasks
        outbox.work(once=True)
        db.session.remove()
        status = db.session.scalar(sa.select(Article.status).where(Article.slug == "due"))
    assert status == "published"


# -- revisions ---------------------------------------------------------------------------------


def test_every_save_is_a_revision_compare_and_restore(marketer, demo):
    item_id = article_id(demo, DEMO_SLUG)
    path = f"/admin/content/articles/{item_id}"
    original = form_data(marketer.get(path))["body"]
    editor_post(marketer, path, "publish", body=original + "\n\nFirst edit.", confirm_warnings="y")
    editor_post(
        marketer,
        path,
        "publish",
        body=original + "\n\n<script>x</script> second.",
        title="Second title",
        confirm_warnings="y",
    )
    with demo.app_context():
        baseline, first, second = [
            r.id for r in db.session.scalars(sa.select(Revision).order_by(Revision.id))
        ]
        assert db.session.get(Revision, baseline).note == "Before the first edit"
    listing = marketer.get(f"/admin/content/articles/{item_id}/revisions")
    assert listing.status_code == 200
    assert f"#{first}" in listing.get_data(as_text=True)
    assert "marketer@example.test" in listing.get_data(as_text=True)

    compare = marketer.get(
        f"/admin/content/articles/{item_id}/revisions/compare?a={first}&b={second}"
    )
    assert compare.status_code == 200
    page = soup(compare)
    changed = [row.th.get_text(" ", strip=True) for row in page.select("table.compare tr.changed")]
    assert changed == ["Title changed"]
    assert "First edit." in page.select_one("table.diff .diff-old").get_text()
    assert "&lt;script&gt;x&lt;/script&gt;" in str(page.select_one("table.diff"))
    assert page.select_one("table.diff script") is None

    restore_path = f"/admin/content/articles/{item_id}/revisions/{first}"
    sent = form_data(marketer.get(restore_path), "main form")
    token, version = sent["csrf_token"], sent["version"]
    response = marketer.post(
        restore_path, data={"csrf_token": token, "version": version, "confirm_warnings": "y"}
    )
    assert response.status_code == 303
    public = marketer.get(f"/articles/{DEMO_SLUG}").get_data(as_text=True)
    assert "First edit." in public and "second." not in public
    with demo.app_context():
        notes = list(db.session.scalars(sa.select(Revision.note).order_by(Revision.id)))
        assert notes[-1] == f"Restored revision {first}"
        assert db.session.get(Article, item_id).status == "published"
    assert ("content_restore", "article", "marketer@example.test") in audit_actions(demo)


def test_restoring_onto_live_content_needs_confirmation_for_medicines(marketer, demo):
    item_id = article_id(demo, DEMO_SLUG)
    path = f"/admin/content/articles/{item_id}"
    editor_post(marketer, path, "publish", confirm_warnings="y")
    with demo.app_context():
        revision_id = db.session.scalar(sa.select(Revision.id))
    restore_path = f"/admin/content/articles/{item_id}/revisions/{revision_id}"
    sent = form_data(marketer.get(restore_path), "main form")
    token, version = sent["csrf_token"], sent["version"]
    response = marketer.post(restore_path, data={"csrf_token": token, "version": version})
    assert response.status_code == 422
    assert "prescription-only" in response.get_data(as_text=True)


def test_compare_refuses_revisions_of_another_item(marketer, demo):
    path = f"/admin/content/articles/{article_id(demo, DEMO_SLUG)}"
    editor_post(marketer, path, "publish", confirm_warnings="y")
    with demo.app_context():
        revision_id = db.session.scalar(sa.select(Revision.id))
        other = db.session.scalar(sa.select(Article.id).where(Article.slug != DEMO_SLUG))
    url = f"/admin/content/articles/{other}/revisions/compare?a={revision_id}&b={revision_id}"
    assert marketer.get(url).status_code == 404


# -- clinics and people ------------------------------------------------------------------------


def _next_weekday(weekday: int) -> date:
    """The next such weekday that is no bank holiday (the clinic would be closed then)."""
    today = datetime.now(review.UK).date()
    day = today + timedelta(days=(weekday - today.weekday()) % 7 or 7)
    while bank_holidays.name_of(day):
        day += timedelta(days=7)
    return day


def test_clinic_hours_and_closures_change_booking_slots_at_once(marketer, demo):
    with demo.app_context():
        london = db.session.scalar(sa.select(Clinic).where(Clinic.slug == "london"))
        path = f"/admin/content/clinics/{london.id}"
    monday, tuesday = _next_weekday(0), _next_weekday(1)
    slots = marketer.get(f"/book/slots?clinic=london&date={monday}").json["slots"]
    assert [s["label"] for s in slots][:1] == ["09:00"]

    response = editor_post(
        marketer,
        path,
        "save",
        **{
            "hours-0-opens": "10:00",
            "hours-0-closes": "11:00",
            "hours-0-opens2": "15:00",
            "hours-0-closes2": "16:00",
            "closures-0-starts_on": tuesday.isoformat(),
            "closures-0-ends_on": tuesday.isoformat(),
            "closures-0-reason": "Training day",
        },
    )
    assert response.status_code == 303
    labels = [
        s["label"] for s in marketer.get(f"/book/slots?clinic=london&date={monday}").json["slots"]
    ]
    assert labels and labels[0] == "10:00" and "11:00" not in labels and "15:00" in labels
    assert all("11:00" > label or label >= "15:00" for label in labels)
    assert marketer.get(f"/book/slots?clinic=london&date={tuesday}").json["slots"] == []
    assert "Training day" in marketer.get("/clinics/london").get_data(as_text=True)

    # Remove the closure again.
    response = editor_post(marketer, path, "save", **{"closures-0-remove": "y"})
    assert response.status_code == 303
    assert marketer.get(f"/book/slots?clinic=london&date={tuesday}").json["slots"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"hours-0-opens": "18:00", "hours-0-closes": "09:00"}, "closing time must be after"),
        ({"hours-0-opens": "09:00", "hours-0-closes": ""}, "both the opening and the closing"),
        ({"hours-0-opens2": "12:00", "hours-0-closes2": "19:00"}, "second period must start after"),
        ({"closures-0-starts_on": "2026-12-27", "closures-0-ends_on": "2026-12-25"}, "on or after"),
    ],
)
def test_clinic_hours_are_validated(marketer, demo, changes, message):
    with demo.app_context():
        clinic_id = db.session.scalar(sa.select(Clinic.id).where(Clinic.slug == "london"))
    response = editor_post(marketer, f"/admin/content/clinics/{clinic_id}", "save", **changes)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_add_another_closure_row(marketer, demo):
    with demo.app_context():
        clinic_id = db.session.scalar(sa.select(Clinic.id).where(Clinic.slug == "london"))
    path = f"/admin/content/clinics/{clinic_id}"
    response = editor_post(marketer, path, "add-closures")
    assert response.status_code == 200
    assert len(soup(response).select("input[name$=-starts_on]")) == 2


def test_person_edit_with_reviewer_email(marketer, demo):
    item_id = person_id(demo, "william-sharples")
    response = editor_post(
        marketer,
        f"/admin/content/people/{item_id}",
        "save",
        email="William@Example.com",
        credentials="BSc (Hons), MSc",
    )
    assert response.status_code == 303
    assert "MSc" in marketer.get("/authors/william-sharples").get_data(as_text=True)
    assert "william@example.com" not in marketer.get("/authors/william-sharples").get_data(
        as_text=True
    )
    with demo.app_context():
        assert db.session.get(Person, item_id).email == "william@example.com"


# -- medical review queue and reminders --------------------------------------------------------


def _make_due_items(app):
    today = review.uk_today()
    with app.app_context():
        reviewer = factories.person("rev", name="Dr Rev", email="rev@example.test")
        factories.article("overdue", reviewer_id=reviewer.id, next_review_due=today - timedelta(1))
        factories.article("soon-due", reviewer_id=reviewer.id, next_review_due=today + timedelta(9))
        factories.article("later", reviewer_id=reviewer.id, next_review_due=today + timedelta(90))
        factories.article("draft-due", status="draft", next_review_due=today - timedelta(5))
        factories.article("no-reviewer", next_review_due=today)
        db.session.commit()


def test_review_queue_lists_overdue_and_soon_due(app):
    _make_due_items(app)
    with app.app_context():
        queue = review.review_queue()
        assert [i.title for i in queue] == [
            "Title of overdue",
            "Title of no-reviewer",
            "Title of soon-due",
        ]
        assert [i.overdue for i in queue] == [True, False, False]


def test_dashboard_shows_the_review_queue_to_marketers(app, client):
    _make_due_items(app)
    make_users(app)
    login(client, "marketer")
    page = soup(client.get("/admin/"))
    section = page.select_one("section[aria-labelledby=review-title]")
    assert section is not None
    text = section.get_text(" ")
    assert "Title of overdue" in text and "Overdue" in text and "Title of later" not in text
    assert "Title of overdue" in client.get("/admin/content/review").get_data(as_text=True)


def test_weekly_review_reminder_once_per_iso_week(app, runner):
    _make_due_items(app)
    first = runner.invoke(args=["content", "review-reminders"])
    assert first.exit_code == 0, first.output
    assert "1 queued" in first.output and "1 item(s) without a reviewer e-mail" in first.output
    again = runner.invoke(args=["content", "review-reminders"])
    assert "0 queued, 1 already sent" in again.output
    with app.app_context():
        messages = list(db.session.scalars(sa.select(OutboxMessage)))
        assert len(messages) == 1
        assert messages[0].recipients == ["rev@example.test"]
        assert messages[0].kind == "review_reminder"
        assert "Title of overdue" in messages[0].text_body
        assert "Title of soon-due" in messages[0].html_body
        assert "https://www.example.test/admin/content/articles/" in messages[0].text_body
        assert "Title of later" not in messages[0].text_body
        reminder = db.session.scalar(sa.select(ReviewReminder))
        assert reminder.iso_week == review.iso_week(review.uk_today())
        next_week = review.uk_today() + timedelta(days=7)
        assert review.send_review_reminders(next_week)["sent"] == 1


def test_next_review_follows_a_new_review_date(marketer, demo):
    item_id = article_id(demo, DEMO_SLUG)
    path = f"/admin/content/articles/{item_id}"
    editor_post(marketer, path, "publish", last_reviewed="2026-11-01", confirm_warnings="y")
    with demo.app_context():
        assert db.session.get(Article, item_id).next_review_due == one_year_after(date(2026, 11, 1))
    editor_post(marketer, path, "publish", next_review_due="2027-03-01", confirm_warnings="y")
    with demo.app_context():
        assert db.session.get(Article, item_id).next_review_due == date(2027, 3, 1)


# -- sanitising --------------------------------------------------------------------------------


def _assert_inert(fragment) -> None:
    assert (
        fragment.find(["script", "iframe", "object", "embed", "form", "svg", "math", "style"])
        is None
    )
    for tag in fragment.find_all(True):
        for name, value in tag.attrs.items():
            assert not name.lower().startswith("on"), f"{tag.name} has {name}"
            assert name.lower() != "style", f"{tag.name} has a style attribute"
            if name.lower() in ("href", "src", "xlink:href", "action", "data", "srcset"):
                assert _scheme(str(value)) in SAFE_SCHEMES, f"{tag.name} {name}={value}"


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payloads_render_inert_on_the_public_page(app, client, payload):
    with app.app_context():
        factories.article("xss", body=f"## Hi\n\n{payload}\n\nAfter.", summary=payload)
        factories.page("xss-page", body=payload)
        person = factories.person("xss-person", bio=payload)
        db.session.commit()
        assert person.id
    for path in ("/articles/xss", "/treatments/xss-page", "/authors/xss-person"):
        _assert_inert(soup(client.get(path)).find("main"))


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payloads_render_inert_in_the_preview(marketer, demo, payload):
    path = f"/admin/content/articles/{article_id(demo, DEMO_SLUG)}"
    preview = editor_post(marketer, path, "preview", body=payload, title=payload)
    assert preview.status_code == 200
    _assert_inert(soup(preview).find("main"))


# -- audit -------------------------------------------------------------------------------------


def test_every_change_is_audited_with_the_user(marketer, demo):
    fields = new_article_fields(demo)
    response = editor_post(marketer, "/admin/content/articles/new", "draft", **fields)
    path = response.headers["Location"]
    editor_post(marketer, path, "publish")
    editor_post(marketer, path, "unpublish")
    later = datetime.now(UTC) + timedelta(days=2)
    editor_post(
        marketer, path, "schedule", publish_date=later.date().isoformat(), publish_time="08:00"
    )
    editor_post(marketer, path, "publish")
    editor_post(marketer, path, "publish", slug="gentle-exercises-2")
    with demo.app_context():
        clinic_path = f"/admin/content/clinics/{db.session.scalar(sa.select(Clinic.id).limit(1))}"
    editor_post(marketer, clinic_path, "save", summary="New summary")
    actions = [a for a in audit_actions(demo) if a[0] not in ("login",)]
    expected = [
        ("content_create", "article"),
        ("content_publish", "article"),
        ("content_unpublish", "article"),
        ("content_schedule", "article"),
        ("content_publish", "article"),
        ("redirect_create", "redirect"),
        ("content_publish", "article"),
        ("content_edit", "clinic"),
    ]
    assert [(a, t) for a, t, _ in actions] == expected
    assert {user for _, _, user in actions} == {"marketer@example.test"}


@pytest.mark.parametrize("action", ["add-csrf_token", "add-key_points", "delete-everything"])
def test_unknown_actions_on_a_page_are_refused(marketer, demo, action):
    with demo.app_context():
        page_id = db.session.scalar(sa.select(Page.id).where(Page.slug == "prolotherapy"))
    assert editor_post(marketer, f"/admin/content/pages/{page_id}", action).status_code == 400


def test_restoring_a_scheduled_article_keeps_it_scheduled(marketer, demo):
    later = datetime.now(UTC) + timedelta(days=5)
    fields = new_article_fields(demo, publish_date=later.date().isoformat(), publish_time="07:00")
    path = editor_post(marketer, "/admin/content/articles/new", "schedule", **fields).headers[
        "Location"
    ]
    editor_post(marketer, path, "schedule", title="Second version")
    item_id = article_id(demo, "gentle-exercises")
    with demo.app_context():
        first = db.session.scalar(sa.select(sa.func.min(Revision.id)))
    restore_path = f"/admin/content/articles/{item_id}/revisions/{first}"
    sent = form_data(marketer.get(restore_path), "main form")
    token, version = sent["csrf_token"], sent["version"]
    assert (
        marketer.post(restore_path, data={"csrf_token": token, "version": version}).status_code
        == 303
    )
    with demo.app_context():
        article = db.session.get(Article, item_id)
        assert (article.title, article.status) == ("Gentle exercises for back pain", "scheduled")


def test_the_outbox_worker_sends_the_weekly_reminder_without_cron(app, monkeypatch):
    """`serve` runs the outbox worker; its pass queues the week's reminder once an hour at most."""
    from clinic.content import scheduler
    from clinic.notifications import outbox

    _make_due_items(app)
    monkeypatch.setattr(scheduler, "_reminders_checked_at", None)
    with app.app_context():
        outbox.work(once=True)
        outbox.work(once=True)
        kinds = list(db.session.scalars(sa.select(OutboxMessage.kind)))
    assert kinds.count("review_reminder") == 1


def _editor_path(app, kind: str) -> str:
    model, slug = {
        "article": (Article, DEMO_SLUG),
        "clinic": (Clinic, "london"),
        "person": (Person, None),
    }[kind]
    with app.app_context():
        query = sa.select(model.id).order_by(model.id).limit(1)
        item_id = db.session.scalar(query.where(model.slug == slug) if slug else query)
    section = {"article": "articles", "clinic": "clinics", "person": "people"}[kind]
    return f"/admin/content/{section}/{item_id}"


def _stored_name(app, path: str) -> str:
    section, item_id = path.split("/")[-2:]
    model = {"articles": Article, "clinics": Clinic, "people": Person}[section]
    with app.app_context():
        item = db.session.get(model, int(item_id))
        return item.title if section == "articles" else item.name


@pytest.mark.parametrize("kind", ["article", "clinic", "person"])
def test_saving_never_silently_replaces_what_someone_else_saved(marketer, demo, kind):
    path = _editor_path(demo, kind)
    field = "title" if kind == "article" else "name"
    mine = form_data(marketer.get(path))
    colleague = demo.test_client()
    login(colleague, "admin")
    theirs = form_data(colleague.get(path))
    theirs.update({field: "Their version", "action": "save", "confirm_warnings": "y"})
    assert colleague.post(path, data=theirs).status_code == 303

    mine.update({field: "My version", "action": "save", "confirm_warnings": "y"})
    refused = marketer.post(path, data=mine)
    assert refused.status_code == 409
    page = soup(refused)
    notice = page.select_one("#conflict")
    assert "admin@example.test saved it" in notice.get_text(" ", strip=True)
    assert page.select_one(f"input[name={field}]")["value"] == "My version"  # nothing typed is lost
    assert _stored_name(demo, path) == "Their version"
    compared = {
        row.th.get_text(" ", strip=True): [cell.get_text() for cell in row.select("td")]
        for row in page.select("#conflict-compare table.compare tbody tr")
    }
    assert compared[f"{field.capitalize()} changed"] == ["Their version", "My version"]

    retry = form_data(refused)
    assert retry["base_revision"] == mine["base_revision"]  # still the version first opened
    retry.update(overwrite="y", action="save", confirm_warnings="y")
    assert marketer.post(path, data=retry).status_code == 303
    assert _stored_name(demo, path) == "My version"


def test_an_editor_opened_after_the_last_save_saves_at_once(marketer, demo):
    path = _editor_path(demo, "person")
    first = form_data(marketer.get(path))
    first.update(name="First change", action="save")
    assert marketer.post(path, data=first).status_code == 303
    second = form_data(marketer.get(path))
    assert second["base_revision"] != first["base_revision"]
    second.update(name="Second change", action="save")
    assert marketer.post(path, data=second).status_code == 303
    assert _stored_name(demo, path) == "Second change"


@pytest.mark.parametrize("kind", ["clinic", "person"])
def test_clinics_and_people_restore_an_earlier_revision(marketer, demo, kind):
    path = _editor_path(demo, kind)
    for name in ("Before", "After"):
        data = form_data(marketer.get(path))
        data.update(name=name, action="save")
        assert marketer.post(path, data=data).status_code == 303
    item_id = int(path.split("/")[-1])
    with demo.app_context():
        mine = (Revision.content_id == item_id) & (Revision.content_type == kind)
        mine &= Revision.note != "Before the first edit"
        first = db.session.scalar(sa.select(sa.func.min(Revision.id)).where(mine))
    restore_path = f"{path}/revisions/{first}"
    page = marketer.get(restore_path)
    assert page.status_code == 200 and "Before" in page.get_data(as_text=True)
    sent = form_data(page, "main form")
    token, version = sent["csrf_token"], sent["version"]
    assert (
        marketer.post(restore_path, data={"csrf_token": token, "version": version}).status_code
        == 303
    )
    assert _stored_name(demo, path) == "Before"


# -- unpublished changes to live content -------------------------------------------------------

LIVE_ITEMS = [
    ("article", DEMO_SLUG, f"/articles/{DEMO_SLUG}"),
    ("page", "about", "/about"),
    ("page", "prolotherapy", "/treatments/prolotherapy"),
]


def _live_item(app, kind: str, slug: str) -> tuple[int, str]:
    model = Article if kind == "article" else Page
    with app.app_context():
        item_id = db.session.scalar(sa.select(model.id).where(model.slug == slug))
    return item_id, f"/admin/content/{kind}s/{item_id}"


def _stored(app, kind: str, item_id: int):
    """Return the item's live title, unpublished changes, last update and revision count."""
    model = Article if kind == "article" else Page
    with app.app_context():
        item = db.session.get(model, item_id)
        count = db.session.scalar(
            sa.select(sa.func.count(Revision.id)).where(
                Revision.content_type == kind, Revision.content_id == item_id
            )
        )
        return item.title, item.pending, item.updated_at, count


def _cache_generation(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(CacheGeneration.value))


def _public_main(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return str(soup(response).find("main"))


@pytest.mark.parametrize(("kind", "slug", "public_path"), LIVE_ITEMS)
def test_changes_saved_as_a_draft_stay_off_the_live_page(marketer, demo, kind, slug, public_path):
    item_id, path = _live_item(demo, kind, slug)
    public = demo.test_client()
    live_page = _public_main(public, public_path)
    title, _, updated_at, revision_count = _stored(demo, kind, item_id)
    generation = _cache_generation(demo)

    response = editor_post(marketer, path, "save_draft", title="A draft of a new title")
    assert response.status_code == 303
    assert "saved as a draft" in marketer.get(response.headers["Location"]).get_data(as_text=True)
    assert _public_main(public, public_path) == live_page
    assert "A draft of a new title" not in _public_main(demo.test_client(), public_path)
    stored_title, pending, stored_updated_at, stored_count = _stored(demo, kind, item_id)
    assert (stored_title, stored_updated_at, stored_count) == (title, updated_at, revision_count)
    assert pending["values"]["title"] == "A draft of a new title"
    assert _cache_generation(demo) == generation  # the public page cache is kept
    assert ("content_pending_save", kind, "marketer@example.test") in audit_actions(demo)

    editor = soup(marketer.get(path))
    assert editor.select_one("input[name=title]")["value"] == "A draft of a new title"
    notice = editor.select_one("#pending").get_text(" ", strip=True)
    assert "marketer@example.test saved changes as a draft on" in notice
    assert "(UK time)" in notice and "live page still shows the published version" in notice
    assert editor.select_one("#pending button[value=discard_draft]").get_text() == (
        "Discard these changes"
    )


@pytest.mark.parametrize(("kind", "slug", "public_path"), LIVE_ITEMS)
def test_publish_changes_puts_the_draft_live_and_clears_it(marketer, demo, kind, slug, public_path):
    item_id, path = _live_item(demo, kind, slug)
    editor_post(marketer, path, "save_draft", title="Drafted, then published")
    response = editor_post(marketer, path, "publish", confirm_warnings="y")
    assert response.status_code == 303
    assert "Drafted, then published" in _public_main(demo.test_client(), public_path)
    title, pending, _, _ = _stored(demo, kind, item_id)
    assert (title, pending) == ("Drafted, then published", None)
    assert soup(marketer.get(path)).select_one("#pending") is None


@pytest.mark.parametrize(("kind", "slug", "public_path"), LIVE_ITEMS)
def test_discarding_the_draft_shows_the_live_version_again(marketer, demo, kind, slug, public_path):
    item_id, path = _live_item(demo, kind, slug)
    title, _, _, revision_count = _stored(demo, kind, item_id)
    editor_post(marketer, path, "save_draft", title="Soon discarded", summary="Gone soon")
    response = editor_post(marketer, path, "discard_draft")
    assert response.status_code == 303
    assert "discarded" in marketer.get(response.headers["Location"]).get_data(as_text=True)
    editor = soup(marketer.get(path))
    assert editor.select_one("#pending") is None
    assert editor.select_one("input[name=title]")["value"] == title
    assert _stored(demo, kind, item_id)[1:4:2] == (None, revision_count)
    assert "Soon discarded" not in _public_main(demo.test_client(), public_path)
    actions = [(a, t) for a, t, _ in audit_actions(demo)]
    assert actions[-2:] == [("content_pending_save", kind), ("content_pending_discard", kind)]


def test_the_content_list_shows_unpublished_changes(marketer, demo):
    _, path = _live_item(demo, "article", DEMO_SLUG)
    _, other = _live_item(demo, "page", "about")
    editor_post(marketer, path, "save_draft", title="Listed as a draft")
    rows = {
        row.select_one("a")["href"]: row
        for row in soup(marketer.get("/admin/content/")).select(".content-list tbody tr")
    }
    assert rows[path].select_one(".badge-pending").get_text() == "Unpublished changes"
    assert rows[other].select_one(".badge-pending") is None


@pytest.mark.parametrize("action", ["unpublish", "restore"])
def test_any_other_save_drops_the_draft_of_changes(marketer, demo, action):
    item_id, path = _live_item(demo, "article", DEMO_SLUG)
    editor_post(marketer, path, "publish", confirm_warnings="y")  # a revision to restore
    revision = f"{path}/revisions/{form_data(marketer.get(path))['base_revision']}"
    editor_post(marketer, path, "save_draft", title="Dropped by another save")
    if action == "unpublish":
        assert editor_post(marketer, path, "unpublish").status_code == 303
    else:
        data = {**form_data(marketer.get(revision), "main form"), "confirm_warnings": "y"}
        assert marketer.post(revision, data=data).status_code == 303
    assert _stored(demo, "article", item_id)[1] is None
    assert soup(marketer.get(path)).select_one("#pending") is None


def test_the_enter_key_saves_a_draft_of_changes_on_live_content(marketer, demo):
    _, path = _live_item(demo, "article", DEMO_SLUG)
    first_button = soup(marketer.get(path)).select_one("form.editor button[type=submit]")
    assert first_button["value"] == "save_draft"
    assert (
        soup(marketer.get("/admin/content/articles/new")).select_one(
            "form.editor button[type=submit]"
        )["value"]
        == "save"
    )


@pytest.mark.parametrize("theirs", ["publish", "save_draft"])
def test_a_draft_of_changes_never_silently_replaces_a_colleagues_save(marketer, demo, theirs):
    item_id, path = _live_item(demo, "article", DEMO_SLUG)
    mine = form_data(marketer.get(path))
    colleague = demo.test_client()
    login(colleague, "admin")
    editor_post(colleague, path, theirs, title="Their version", confirm_warnings="y")

    mine.update(title="My draft", action="save_draft")
    refused = marketer.post(path, data=mine)
    assert refused.status_code == 409
    notice = soup(refused).select_one("#conflict").get_text(" ", strip=True)
    assert "admin@example.test saved it" in notice
    assert ("unpublished changes" in notice) == (theirs == "save_draft")
    retry = {**form_data(refused), "overwrite": "y", "action": "save_draft"}
    assert marketer.post(path, data=retry).status_code == 303
    assert _stored(demo, "article", item_id)[1]["values"]["title"] == "My draft"


def test_save_draft_on_content_unpublished_meanwhile_keeps_it_private(marketer, demo):
    item_id, path = _live_item(demo, "article", DEMO_SLUG)
    mine = form_data(marketer.get(path))
    editor_post(marketer, path, "unpublish")
    mine.update(title="Kept private", action="save_draft")
    refused = marketer.post(path, data=mine)
    assert refused.status_code == 409  # the unpublishing moved the version on
    retry = {**form_data(refused), "overwrite": "y", "action": "save_draft"}
    assert marketer.post(path, data=retry).status_code == 303
    with demo.app_context():
        article = db.session.get(Article, item_id)
        assert (article.title, article.status, article.pending) == (
            "Kept private",
            "unpublished",
            None,
        )
