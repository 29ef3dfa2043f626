"""The content editor's rules: list limits, the first version kept, errors at their fields,
redirects that could never work, closure dates, names in revisions, keyboard focus."""

from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from clinic.content.forms import MAX_ITEMS
from clinic.content.models import Article, Clinic, Closure, Page, Person, Redirect, Revision
from clinic.content.review import uk_today
from clinic.extensions import db
from tests import factories
from tests.auth_helpers import login, make_users
from tests.helpers import soup
from tests.test_content_admin import (
    DEMO_SLUG,
    article_id,
    editor_post,
    form_data,
    new_article_fields,
)

BEFORE_FIRST_EDIT = "Before the first edit"
STATIC = Path(__file__).resolve().parent.parent / "static"
FIRST_INPUTS = {
    "key_points": "input[name^=key_points-]",
    "faqs": "input[name^=faqs-][name$=-question]",
    "references": "input[name^=references-][name$=-title]",
}


@pytest.fixture
def marketer(demo, client):
    make_users(demo)
    login(client, "marketer")
    return client


def _article_path(app) -> str:
    return f"/admin/content/articles/{article_id(app, DEMO_SLUG)}"


def _clinic_path(app, slug: str = "london") -> str:
    with app.app_context():
        item_id = db.session.scalar(sa.select(Clinic.id).where(Clinic.slug == slug))
    return f"/admin/content/clinics/{item_id}"


def _rows(count: int, name: str) -> dict:
    """`count` filled rows of an article's list, as the editor posts them."""
    if name == "key_points":
        return {f"key_points-{i}": f"Point {i}" for i in range(count)}
    if name == "faqs":
        pairs = [(f"faqs-{i}-question", f"Q{i}?") for i in range(count)]
        return dict(pairs + [(f"faqs-{i}-answer", f"A{i}.") for i in range(count)])
    return {f"references-{i}-title": f"Ref {i}" for i in range(count)}


def _error_at(page, field_id: str) -> str:
    """The message shown next to a field, after checking the field and the summary point at
    each other."""
    control = page.select_one(f"#{field_id}")
    assert control is not None, field_id
    if control.name != "fieldset":
        assert control.get("aria-invalid") == "true"
    assert f"{field_id}-error" in control.get("aria-describedby", "").split()
    assert page.select_one(f"#error-summary a[href='#{field_id}']") is not None
    return page.select_one(f"#{field_id}-error").get_text(" ", strip=True)


# -- 1. at most MAX_ITEMS rows -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["key_points", "faqs", "references"])
def test_a_full_list_adds_no_row_past_the_limit_and_hides_its_button(marketer, demo, name):
    path = _article_path(demo)
    full = _rows(MAX_ITEMS, name)
    response = editor_post(marketer, path, f"add-{name}", **full)
    assert response.status_code == 200
    page = soup(response)
    assert len(page.select(FIRST_INPUTS[name])) == MAX_ITEMS  # no 41st row
    assert page.select_one(f"button[value=add-{name}]") is None
    assert f"At most {MAX_ITEMS}" in page.select_one(f"#{name}-limit").get_text()
    # Saving a full list works too (it used to add a blank 41st row first, and fail).
    assert (
        editor_post(marketer, path, "save_draft", confirm_warnings="y", **full).status_code == 303
    )


def test_more_rows_than_the_limit_is_a_422_next_to_the_list_and_keeps_them(marketer, demo):
    path = _article_path(demo)
    response = editor_post(marketer, path, "save_draft", **_rows(MAX_ITEMS + 2, "faqs"))
    assert response.status_code == 422
    page = soup(response)
    assert f"at most {MAX_ITEMS} questions" in _error_at(page, "faqs")
    assert page.select_one(f"#faqs-{MAX_ITEMS + 1}-question")["value"] == f"Q{MAX_ITEMS + 1}?"


def test_a_full_list_of_closures_adds_no_row(marketer, demo):
    start = uk_today() + timedelta(days=1)
    closures = {
        f"closures-{i}-{end}": (start + timedelta(days=i)).isoformat()
        for i in range(MAX_ITEMS)
        for end in ("starts_on", "ends_on")
    }
    response = editor_post(marketer, _clinic_path(demo), "add-closures", **closures)
    assert response.status_code == 200
    page = soup(response)
    assert len(page.select("input[name$=-starts_on]")) == MAX_ITEMS
    assert page.select_one("button[value=add-closures]") is None


# -- 2. the first version is kept --------------------------------------------------------------


def _first_edit(app, kind: str) -> tuple[str, type, int, str, str]:
    """Edit a demo item once: return its editor path, model, id, field and original value."""
    model, slug, section, field = {
        "article": (Article, DEMO_SLUG, "articles", "title"),
        "page": (Page, "prolotherapy", "pages", "title"),
        "clinic": (Clinic, "london", "clinics", "name"),
        "person": (Person, "oliver-eaton", "people", "name"),
    }[kind]
    with app.app_context():
        item = db.session.scalar(sa.select(model).where(model.slug == slug))
        item_id, original = item.id, getattr(item, field)
    return f"/admin/content/{section}/{item_id}", model, item_id, field, original


@pytest.mark.parametrize("kind", ["article", "page", "clinic", "person"])
def test_the_first_edit_of_seeded_content_keeps_the_original_to_restore(marketer, demo, kind):
    path, model, item_id, field, original = _first_edit(demo, kind)
    action = "publish" if kind in ("article", "page") else "save"
    for text in ("Edited once", "Edited twice"):
        response = editor_post(marketer, path, action, confirm_warnings="y", **{field: text})
        assert response.status_code == 303
    with demo.app_context():
        history = list(
            db.session.scalars(
                sa.select(Revision)
                .where(Revision.content_type == kind, Revision.content_id == item_id)
                .order_by(Revision.id)
            )
        )
        assert [r.note for r in history][:1] == [BEFORE_FIRST_EDIT]
        assert [r.note for r in history].count(BEFORE_FIRST_EDIT) == 1
        assert len(history) == 3
        baseline = history[0]
        assert (baseline.snapshot[field], baseline.user_email) == (original, "system")
    restore = f"{path}/revisions/{baseline.id}"
    sent = form_data(marketer.get(restore), "main form")
    token, version = sent["csrf_token"], sent["version"]
    response = marketer.post(
        restore, data={"csrf_token": token, "version": version, "confirm_warnings": "y"}
    )
    assert response.status_code == 303
    with demo.app_context():
        assert getattr(db.session.get(model, item_id), field) == original


def test_new_content_gets_no_extra_first_version(marketer, demo):
    fields = new_article_fields(demo)
    path = editor_post(marketer, "/admin/content/articles/new", "draft", **fields)
    editor_post(marketer, path.headers["Location"], "draft", title="Changed")
    with demo.app_context():
        notes = list(db.session.scalars(sa.select(Revision.note).order_by(Revision.id)))
    assert notes == ["Created", "Saved"]


# -- 3. the confirm checkbox says what is missing ----------------------------------------------


def test_restore_without_the_tick_says_so_at_the_checkbox(marketer, demo):
    path = _article_path(demo)
    editor_post(marketer, path, "publish", confirm_warnings="y", title="Back pain")
    with demo.app_context():
        baseline = db.session.scalar(sa.select(sa.func.min(Revision.id)))
    restore = f"{path}/revisions/{baseline}"
    opened = soup(marketer.get(restore))
    assert opened.select_one("#error-summary") is None  # nothing to fix before a try
    sent = form_data(marketer.get(restore), "main form")
    token, version = sent["csrf_token"], sent["version"]
    response = marketer.post(restore, data={"csrf_token": token, "version": version})
    assert response.status_code == 422
    assert "Tick the box to confirm" in _error_at(soup(response), "confirm_warnings")


def test_publish_anyway_without_the_tick_says_so_at_the_checkbox(marketer, demo):
    fields = new_article_fields(demo, title="Cyclobenzaprine explained")
    response = editor_post(marketer, "/admin/content/articles/new", "publish", **fields)
    assert response.status_code == 422
    assert "Tick the box to confirm" in _error_at(soup(response), "confirm_warnings")
    again = editor_post(marketer, "/admin/content/articles/new", "publish", **fields)
    assert "Tick the box to confirm" in _error_at(soup(again), "confirm_warnings")


# -- 4. publishing rules at their fields -------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"reviewer_id": ""}, "reviewer_id", "Choose the medical reviewer"),
        ({"last_reviewed": ""}, "last_reviewed", "date of the medical review"),
    ],
)
def test_publishing_rules_show_at_their_field(marketer, demo, changes, field_id, message):
    fields = new_article_fields(demo, **changes)
    response = editor_post(marketer, "/admin/content/articles/new", "publish", **fields)
    assert response.status_code == 422
    assert message in _error_at(soup(response), field_id)


def test_a_past_publishing_time_shows_at_the_date(marketer, demo):
    fields = new_article_fields(demo, publish_date="2020-01-01", publish_time="09:00")
    response = editor_post(marketer, "/admin/content/articles/new", "schedule", **fields)
    assert response.status_code == 422
    page = soup(response)
    assert "in the future" in _error_at(page, "publish_date")
    assert page.select_one("#publish_date")["value"] == "2020-01-01"  # nothing typed is lost


# -- 5. redirects that could never work --------------------------------------------------------


def _post_redirect(client, old_path: str, new_path: str, path="/admin/content/redirects/"):
    sent = form_data(client.get(path), "main form")  # with the version, on an edit
    return client.post(path, data={**sent, "old_path": old_path, "new_path": new_path})


@pytest.mark.parametrize(
    ("old_path", "new_path", "field_id", "message"),
    [
        (f"/articles/{DEMO_SLUG}", "/about", "old_path", "is a live page"),
        ("/about", "/clinics/", "old_path", "is a live page"),
        ("/old-offer?utm_source=mail", "/about", "old_path", "without “?”"),
        ("/old-offer#top", "/about", "old_path", "without “?” or “#”"),
        ("/old-offer", "/articles/no-such-article", "new_path", "There is no page at"),
        ("/old-offer", "/no-such-page", "new_path", "There is no page at"),
    ],
)
def test_redirects_that_could_never_work_are_refused_at_the_field(
    marketer, demo, old_path, new_path, field_id, message
):
    response = _post_redirect(marketer, old_path, new_path)
    assert response.status_code == 422
    assert message in _error_at(soup(response), field_id)
    with demo.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Redirect.id))) == 0


def test_redirects_that_work_are_still_accepted(marketer, demo):
    with demo.app_context():
        factories.article("coming-soon", status="draft")
        db.session.commit()
    for old_path, new_path in [
        ("/old-offer", f"/articles/{DEMO_SLUG}"),
        ("/articles/coming-soon", "/book?clinic=london"),  # a draft's address answers 404
        ("/older-offer", "/old-offer"),  # follows the chain to the article
    ]:
        assert _post_redirect(marketer, old_path, new_path).status_code == 303
    assert marketer.get("/older-offer").headers["Location"] == f"/articles/{DEMO_SLUG}"
    with demo.app_context():
        redirect_id = db.session.scalar(sa.select(Redirect.id).order_by(Redirect.id))
    edit = f"/admin/content/redirects/{redirect_id}"
    refused = _post_redirect(marketer, "/old-offer", "/articles/gone", path=edit)
    assert refused.status_code == 422
    assert "There is no page at" in _error_at(soup(refused), "new_path")


# -- 6. closure dates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "field_id", "message"),
    [
        ("0001-01-01", "9999-12-31", "closures-0-starts_on", "from 1 January 2000 on"),
        ("0001-01-01", "9999-12-31", "closures-0-ends_on", "two years from now at most"),
        (None, "9999-12-31", "closures-0-ends_on", "two years from now at most"),
    ],
)
def test_closure_dates_far_off_are_refused(marketer, demo, starts_on, ends_on, field_id, message):
    starts_on = starts_on or uk_today().isoformat()
    changes = {"closures-0-starts_on": starts_on, "closures-0-ends_on": ends_on}
    response = editor_post(marketer, _clinic_path(demo), "save", **changes)
    assert response.status_code == 422
    page = soup(response)
    assert message in _error_at(page, field_id)
    assert page.select_one("#closures-0-starts_on")["value"] == starts_on
    with demo.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Closure.id))) == 0


def test_a_closure_long_past_does_not_block_saving_the_clinic(marketer, demo):
    """Old closures stay in the list; they must not stop the clinic's page being saved."""
    with demo.app_context():
        clinic = db.session.scalar(sa.select(Clinic).where(Clinic.slug == "london"))
        clinic.closures.append(Closure(starts_on=date(2024, 12, 24), ends_on=date(2024, 12, 27)))
        db.session.commit()
    assert editor_post(marketer, _clinic_path(demo), "save").status_code == 303


def test_a_stored_year_one_closure_shows_and_can_be_removed(marketer, demo):
    with demo.app_context():
        clinic = db.session.scalar(sa.select(Clinic).where(Clinic.slug == "london"))
        clinic.closures.append(Closure(starts_on=date(1, 1, 1), ends_on=date(9999, 12, 31)))
        db.session.commit()
    path = _clinic_path(demo)
    page = soup(marketer.get(path))
    assert page.select_one("#closures-0-starts_on")["value"] == "0001-01-01"
    changes = {"closures-0-remove": "y", "closures-0-starts_on": "", "closures-0-ends_on": ""}
    assert editor_post(marketer, path, "save", **changes).status_code == 303
    with demo.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Closure.id))) == 0


# -- 7. names in revisions ---------------------------------------------------------------------


def test_a_revision_names_the_author_and_reviewer(marketer, demo):
    path = _article_path(demo)
    editor_post(marketer, path, "publish", confirm_warnings="y", title="Renamed")
    with demo.app_context():
        revision = db.session.scalar(sa.select(Revision).order_by(Revision.id.desc()))
        author = db.session.get(Person, revision.snapshot["author_id"]).name
        reviewer = db.session.get(Person, revision.snapshot["reviewer_id"]).name
    page = soup(marketer.get(f"{path}/revisions/{revision.id}"))
    shown = {
        row.dt.get_text(strip=True): row.dd.get_text(strip=True)
        for row in page.select(".revision-fields div")
    }
    assert (shown["Author"], shown["Medical reviewer"]) == (author, reviewer)
    compare = soup(marketer.get(f"{path}/revisions/compare?a={revision.id}&b={revision.id}"))
    assert reviewer in compare.select_one("table.compare").get_text()


# -- 8. keyboard focus -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "first"), [("key_points", ""), ("faqs", "-question"), ("references", "-title")]
)
def test_add_another_returns_to_the_new_row(marketer, demo, name, first):
    path = _article_path(demo)
    opened = soup(marketer.get(path))
    new_id = f"{name}-{len(opened.select(FIRST_INPUTS[name]))}{first}"
    button = opened.select_one(f"button[value=add-{name}]")
    assert button["formaction"] == f"{path}#{new_id}"
    response = editor_post(marketer, path, f"add-{name}")
    page = soup(response)
    assert page.select_one(f"#{new_id}").has_attr("autofocus")
    assert len(page.select("[autofocus]")) == 1


def test_add_another_closure_returns_to_the_new_row(marketer, demo):
    path = _clinic_path(demo)
    button = soup(marketer.get(path)).select_one("button[value=add-closures]")
    assert button["formaction"] == f"{path}#closures-1-starts_on"
    page = soup(editor_post(marketer, path, "add-closures"))
    assert page.select_one("#closures-1-starts_on").has_attr("autofocus")


@pytest.mark.parametrize(
    "path",
    ["/admin/content/articles/new", "/admin/content/people/new", "/admin/content/redirects/"],
)
def test_a_failed_save_moves_the_cursor_to_the_error_summary(marketer, demo, path):
    data = form_data(marketer.get(path), "main form")
    data.update(action="save", slug="Not A Slug", old_path="no-slash")
    page = soup(marketer.post(path, data=data))
    assert page.select_one("#error-summary")["tabindex"] == "-1"
    script = page.select_one("script[src*='js/editor.js']")
    assert script is not None and script.has_attr("defer")
    source = (STATIC / "js" / "editor.js").read_text()
    assert 'getElementById("error-summary")' in source and ".focus()" in source


def test_a_live_article_can_take_an_old_version_as_unpublished_changes(marketer, demo):
    """Restoring publishes at once; the second button keeps the live page as it is."""
    path, model, item_id, field, original = _first_edit(demo, "article")
    edited = editor_post(marketer, path, "publish", confirm_warnings="y", title="Edited live")
    assert edited.status_code == 303
    with demo.app_context():
        baseline = db.session.scalar(
            sa.select(Revision)
            .where(Revision.content_type == "article", Revision.content_id == item_id)
            .order_by(Revision.id)
        )
        slug = db.session.get(model, item_id).slug
    restore = f"{path}/revisions/{baseline.id}"
    response = marketer.get(restore)
    assert soup(response).select_one("button[name=action][value=pending]")
    sent = form_data(response, "main form")
    token, version = sent["csrf_token"], sent["version"]
    response = marketer.post(
        restore, data={"csrf_token": token, "version": version, "action": "pending"}
    )
    assert response.status_code == 303
    with demo.app_context():
        article = db.session.get(model, item_id)
        assert (article.title, article.pending is not None) == ("Edited live", True)
    assert "Edited live" in demo.test_client().get(f"/articles/{slug}").get_data(as_text=True)
    assert soup(marketer.get(path)).select_one("input[name=title]")["value"] == original
