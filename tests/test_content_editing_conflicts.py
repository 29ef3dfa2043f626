"""Two editors, one item: a save from a version someone else has replaced is refused (409),
with their text kept and shown beside the saved one; the editor names who else opened it."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from clinic.content import editing, images, presence, redirects, scheduler
from clinic.content.models import Article, Clinic, EditorPresence, Image, Person, Redirect
from clinic.dbtypes import utcnow
from clinic.extensions import db
from tests.auth_helpers import login, make_users
from tests.helpers import soup
from tests.test_content_admin import DEMO_SLUG, editor_post, form_data

ARTICLE_BODY = "## Start slowly\n\nWalk every day.\n\nRest when it hurts."


@pytest.fixture
def marketer(demo, client):
    make_users(demo)
    login(client, "marketer")
    return client


def _article(app) -> tuple[int, str]:
    with app.app_context():
        item_id = db.session.scalar(sa.select(Article.id).where(Article.slug == DEMO_SLUG))
    return item_id, f"/admin/content/articles/{item_id}"


def _colleague(app):
    client = app.test_client()
    login(client, "admin")
    return client


def _compared(response) -> dict[str, list[str]]:
    """Read the inline compare: each field's label, then the saved and the typed text."""
    rows = soup(response).select("#conflict-compare table.compare tbody tr")
    return {
        row.th.get_text(" ", strip=True): [cell.get_text() for cell in row.select("td")]
        for row in rows
    }


def test_the_second_of_two_saves_is_refused_and_shown_beside_the_first(marketer, demo):
    item_id, path = _article(demo)
    mine = form_data(marketer.get(path))
    colleague = _colleague(demo)
    theirs = form_data(colleague.get(path))
    theirs.update(title="Their title", body=ARTICLE_BODY, action="publish", confirm_warnings="y")
    assert colleague.post(path, data=theirs).status_code == 303

    typed_body = ARTICLE_BODY.replace("Walk every day.", "Swim twice a week.")
    mine.update(title="My title", body=typed_body, action="publish", confirm_warnings="y")
    refused = marketer.post(path, data=mine)
    assert refused.status_code == 409
    page = soup(refused)
    assert "admin@example.test saved it" in page.select_one("#conflict").get_text(" ")
    assert page.select_one("input[name=title]")["value"] == "My title"
    assert page.select_one("textarea[name=body]").text.strip() == typed_body
    assert _compared(refused)["Title changed"] == ["Their title", "My title"]
    diff = page.select("#conflict-compare table.diff tr.diff-replace td.pre")
    assert [cell.get_text().strip() for cell in diff] == [
        "Only in the saved version: Walk every day.",
        "Only in yours: Swim twice a week.",
    ]
    assert page.select_one("#conflict-compare h2").get_text() == (
        "Your version and the one saved now"
    )
    with demo.app_context():
        assert db.session.get(Article, item_id).title == "Their title"


def test_save_anyway_replaces_only_the_version_that_was_shown(marketer, demo):
    item_id, path = _article(demo)
    mine = form_data(marketer.get(path))
    colleague = _colleague(demo)
    editor_post(colleague, path, "save_draft", title="First colleague save")
    mine.update(title="Mine", action="save_draft")
    refused = marketer.post(path, data=mine)
    assert refused.status_code == 409
    editor_post(colleague, path, "save_draft", title="Second colleague save")

    retry = {**form_data(refused), "overwrite": "y", "action": "save_draft"}
    again = marketer.post(path, data=retry)
    assert again.status_code == 409  # a save made after the compare was shown is not replaced
    assert _compared(again)["Title changed"] == ["Second colleague save", "Mine"]
    retry = {**form_data(again), "overwrite": "y", "action": "save_draft"}
    assert marketer.post(path, data=retry).status_code == 303
    with demo.app_context():
        assert db.session.get(Article, item_id).pending["values"]["title"] == "Mine"


def test_a_form_without_a_version_never_replaces_a_saved_item(marketer, demo):
    _, path = _article(demo)
    data = form_data(marketer.get(path))
    data.pop("version")
    data.update(title="No version sent", action="save_draft")
    assert marketer.post(path, data=data).status_code == 409


@pytest.mark.parametrize("kind", ["article", "person", "clinic"])
def test_a_save_racing_past_the_check_is_refused_by_the_update(demo, kind):
    """Two saves read the same version; the one that writes second matches no row."""
    model = {"article": Article, "person": Person, "clinic": Clinic}[kind]
    field = "title" if kind == "article" else "name"
    with demo.app_context(), demo.test_request_context():
        slow = db.session.scalar(sa.select(model).order_by(model.id))
        opened = slow.version
        # Another worker: its own app context and so its own session, saves and commits first.
        with demo.app_context(), demo.test_request_context():
            fast = db.session.get(model, slow.id)
            editing.save(kind, fast, {field: "Saved first"}, version=opened)
            db.session.commit()
        with pytest.raises(editing.EditConflict):
            editing.save(kind, slow, {field: "Saved second"}, version=opened)
        db.session.rollback()
        assert (getattr(slow, field), slow.version) == ("Saved first", opened + 1)


def test_unpublished_changes_racing_a_save_are_refused(demo):
    with demo.app_context():
        slow = db.session.scalar(sa.select(Article).where(Article.slug == DEMO_SLUG))
        opened = slow.version
        with demo.app_context():
            fast = db.session.get(Article, slow.id)
            editing.save_pending("article", fast, {"title": "Saved first"}, opened)
            db.session.commit()
        with pytest.raises(editing.EditConflict):
            editing.save_pending("article", slow, {"title": "Saved second"}, opened)
        db.session.rollback()
        assert slow.pending["values"]["title"] == "Saved first"


def test_changing_only_a_clinics_hours_moves_its_version_on(demo):
    with demo.app_context(), demo.test_request_context():
        clinic = db.session.scalar(sa.select(Clinic).order_by(Clinic.id))
        opened = clinic.version
        hours = [(h.weekday, h.opens, h.closes) for h in clinic.hours][1:]
        editing.save("clinic", clinic, {"hours": hours}, version=opened)
        db.session.commit()
        assert clinic.version == opened + 1


def test_publishing_on_schedule_refuses_a_save_from_before(marketer, demo):
    item_id, path = _article(demo)
    with demo.app_context():
        article = db.session.get(Article, item_id)
        article.status, article.publish_at = "scheduled", utcnow() + timedelta(hours=1)
        db.session.commit()
    mine = form_data(marketer.get(path))
    with demo.app_context():
        scheduler.publish_due(utcnow() + timedelta(hours=2))
        db.session.commit()
    mine.update(title="Edited while it went live", action="save_draft")
    refused = marketer.post(path, data=mine)
    assert refused.status_code == 409
    assert "Published on schedule" in soup(refused).select_one("#conflict").get_text()


def test_discarding_changes_someone_saved_since_is_refused(marketer, demo):
    item_id, path = _article(demo)
    editor_post(marketer, path, "save_draft", title="My draft")
    mine = form_data(marketer.get(path))
    editor_post(_colleague(demo), path, "save_draft", title="Their newer draft")
    mine.update(action="discard_draft")
    response = marketer.post(path, data=mine, follow_redirects=True)
    assert "nothing was discarded" in response.get_data(as_text=True)
    with demo.app_context():
        assert db.session.get(Article, item_id).pending["values"]["title"] == "Their newer draft"


@pytest.fixture
def image_id(demo) -> int:
    with demo.app_context():
        image = Image(name="knee", alt="A knee", width=480, height=320, widths=[480])
        db.session.add(image)
        db.session.commit()
        return image.id


def test_an_images_alt_text_is_never_silently_replaced(marketer, demo, image_id):
    path = f"/admin/content/images/{image_id}"
    mine = form_data(marketer.get(path), "form:has(#alt)")
    colleague = _colleague(demo)
    theirs = {**form_data(colleague.get(path), "form:has(#alt)"), "alt": "Their alt"}
    assert colleague.post(path, data=theirs).status_code == 303
    refused = marketer.post(path, data={**mine, "alt": "My alt"})
    assert refused.status_code == 409
    assert soup(refused).select_one("input[name=alt]")["value"] == "My alt"
    assert _compared(refused)["Alternative text changed"] == ["Their alt", "My alt"]
    assert "admin@example.test saved it" in soup(refused).select_one("#conflict").get_text()
    retry = {**form_data(refused, "form:has(#alt)"), "overwrite": "y"}
    assert marketer.post(path, data=retry).status_code == 303
    with demo.app_context():
        assert db.session.get(Image, image_id).alt == "My alt"


def test_an_image_racing_past_the_check_is_refused(demo, image_id):
    with demo.app_context():
        slow = db.session.get(Image, image_id)
        with demo.app_context():
            images.set_alt(db.session.get(Image, image_id), "First", slow.version)
            db.session.commit()
        with pytest.raises(editing.EditConflict):
            images.set_alt(slow, "Second", slow.version)


def test_a_redirect_is_never_silently_replaced(marketer, demo):
    with demo.app_context():
        moved = redirects.save("/old-guide", f"/articles/{DEMO_SLUG}", "system")
        db.session.commit()
        path = f"/admin/content/redirects/{moved.id}"
    mine = form_data(marketer.get(path), "form:has(#old_path)")
    colleague = _colleague(demo)
    theirs = form_data(colleague.get(path), "form:has(#old_path)")
    assert colleague.post(path, data={**theirs, "old_path": "/older-guide"}).status_code == 303
    refused = marketer.post(path, data={**mine, "new_path": "/about"})
    assert refused.status_code == 409
    assert _compared(refused)["Old path changed"] == ["/older-guide", "/old-guide"]
    with demo.app_context():
        assert db.session.get(Redirect, moved.id).old_path == "/older-guide"


# -- presence ------------------------------------------------------------------------------


def test_the_editor_names_who_else_opened_it_but_never_oneself(marketer, demo):
    _, path = _article(demo)
    assert soup(marketer.get(path)).select_one("#presence") is None
    _colleague(demo).get(path)
    notice = soup(marketer.get(path)).select_one("#presence").get_text(" ", strip=True)
    assert "Also opened by admin@example.test, just now." in notice
    assert "marketer@example.test" not in notice
    assert soup(marketer.get("/admin/content/people/1")).select_one("#presence") is None


def test_presence_goes_after_the_window_and_old_rows_are_pruned(marketer, demo):
    item_id, path = _article(demo)
    _colleague(demo).get(path)
    with demo.app_context():
        row = db.session.scalar(sa.select(EditorPresence))
        row.opened_at -= timedelta(minutes=3)
        db.session.commit()
    assert "3 minutes ago" in soup(marketer.get(path)).select_one("#presence").get_text()
    with demo.app_context():
        minutes = demo.config["CONTENT_PRESENCE_MINUTES"]
        for row in db.session.scalars(sa.select(EditorPresence)):
            if row.user_email == "admin@example.test":
                row.opened_at -= timedelta(minutes=minutes)
        db.session.commit()
    assert soup(marketer.get(path)).select_one("#presence") is None
    with demo.app_context():
        emails = db.session.scalars(sa.select(EditorPresence.user_email)).all()
        assert emails == ["marketer@example.test"]  # the stale row went with the next opening
        presence.opened("article", item_id, 99, "x@example.test")
        presence.opened("article", item_id, 99, "x@example.test")
        assert len(presence.others("article", item_id, 0)) == 2  # one row per account


def _draft_article(app) -> tuple[int, str]:
    item_id, path = _article(app)
    with app.app_context():
        db.session.get(Article, item_id).status = "draft"
        db.session.commit()
    return item_id, path


def test_deleting_an_item_someone_saved_since_is_refused_until_confirmed_again(marketer, demo):
    item_id, path = _draft_article(demo)
    confirm = form_data(marketer.get(f"{path}/delete"), "main form")
    editor_post(_colleague(demo), path, "draft", title="Their last words")
    refused = marketer.post(f"{path}/delete", data=confirm)
    assert refused.status_code == 409
    assert "nothing was deleted" in soup(refused).select_one("#conflict").get_text()
    with demo.app_context():
        assert db.session.get(Article, item_id).title == "Their last words"
    again = form_data(refused, "main form")
    assert marketer.post(f"{path}/delete", data=again).status_code == 303


def test_restoring_over_a_save_made_meanwhile_is_refused(marketer, demo):
    item_id, path = _draft_article(demo)
    editor_post(marketer, path, "draft", title="An older title")
    editor_post(marketer, path, "draft", title="The newer title")
    revision = soup(marketer.get(f"{path}/revisions")).select("a[href*='/revisions/']")
    older = [a["href"] for a in revision if "compare" not in a["href"]][-1]
    confirm = form_data(marketer.get(older), "main form")
    editor_post(_colleague(demo), path, "draft", title="Saved meanwhile")
    refused = marketer.post(older, data=confirm)
    assert refused.status_code == 409
    assert "nothing was restored" in soup(refused).select_one("#conflict").get_text()
    with demo.app_context():
        assert db.session.get(Article, item_id).title == "Saved meanwhile"
