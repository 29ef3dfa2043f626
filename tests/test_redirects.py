"""Redirects: a changed slug answers 301 from the old URL, chains collapse, loops are refused."""

import pytest
import sqlalchemy as sa

from clinic.content import redirects
from clinic.content.models import Clinic, Redirect
from clinic.content.redirects import RedirectError
from clinic.extensions import db
from tests import factories
from tests.auth_helpers import login, make_users
from tests.helpers import soup
from tests.test_content_admin import DEMO_SLUG, article_id, audit_actions, editor_post, form_data


@pytest.fixture
def marketer(demo, client):
    make_users(demo)
    login(client, "marketer")
    return client


def rename(client, app, slug: str, new_slug: str):
    path = f"/admin/content/articles/{article_id(app, slug)}"
    return editor_post(client, path, "publish", slug=new_slug, confirm_warnings="y")


def all_redirects(app) -> dict[str, str]:
    with app.app_context():
        return dict(db.session.execute(sa.select(Redirect.old_path, Redirect.new_path)).all())


def test_changing_a_published_slug_redirects_the_old_url(marketer, demo):
    assert marketer.get(f"/articles/{DEMO_SLUG}").status_code == 200  # cached under the old path
    assert rename(marketer, demo, DEMO_SLUG, "amitriptyline-back-pain").status_code == 303
    response = marketer.get(f"/articles/{DEMO_SLUG}?utm_source=news")
    assert response.status_code == 301
    assert response.headers["Location"] == "/articles/amitriptyline-back-pain?utm_source=news"
    assert "Content-Security-Policy" in response.headers
    assert marketer.get("/articles/amitriptyline-back-pain").status_code == 200
    assert ("redirect_create", "redirect", "marketer@example.test") in audit_actions(demo)


def test_slug_changed_twice_points_straight_at_the_end(marketer, demo):
    rename(marketer, demo, DEMO_SLUG, "b-slug")
    rename(marketer, demo, "b-slug", "c-slug")
    assert all_redirects(demo) == {
        f"/articles/{DEMO_SLUG}": "/articles/c-slug",
        "/articles/b-slug": "/articles/c-slug",
    }
    assert marketer.get(f"/articles/{DEMO_SLUG}").headers["Location"] == "/articles/c-slug"


def test_changing_a_slug_back_removes_the_loop(marketer, demo):
    rename(marketer, demo, DEMO_SLUG, "b-slug")
    rename(marketer, demo, "b-slug", DEMO_SLUG)
    assert all_redirects(demo) == {"/articles/b-slug": f"/articles/{DEMO_SLUG}"}
    assert marketer.get(f"/articles/{DEMO_SLUG}").status_code == 200


def test_a_draft_slug_change_makes_no_redirect(marketer, demo):
    with demo.app_context():
        factories.article("draft-one", status="draft")
        db.session.commit()
    path = f"/admin/content/articles/{article_id(demo, 'draft-one')}"
    assert editor_post(marketer, path, "draft", slug="draft-two").status_code == 303
    assert all_redirects(demo) == {}


def test_clinic_slug_change_redirects(marketer, demo):
    with demo.app_context():
        clinic_id = db.session.scalar(sa.select(Clinic.id).where(Clinic.slug == "bedford"))
    editor_post(marketer, f"/admin/content/clinics/{clinic_id}", "save", slug="bedford-centre")
    assert marketer.get("/clinics/bedford").headers["Location"] == "/clinics/bedford-centre"


def test_existing_pages_are_never_redirected(app, client):
    with app.app_context():
        factories.article("live")
        redirects.save("/articles/live", "/articles/elsewhere")
        db.session.commit()
    assert client.get("/articles/live").status_code == 200


def test_unknown_paths_still_404(app, client):
    assert client.get("/no-such-page").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "https://evil.example/x",
        "//evil.example/x",
        "/\\evil.example",
        "no-slash",
        "",
        "/a b",
        "http://[::1",
        "//[x",
        "/a\x7fb",
    ],
)
def test_redirects_stay_on_this_site(app, path):
    with app.app_context(), pytest.raises(RedirectError):
        redirects.save("/old", path)


@pytest.mark.parametrize(
    ("field", "value"),
    [("old_path", "http://[::1"), ("new_path", "//[x"), ("new_path", "http://[")],
)
def test_an_unreadable_url_is_refused_at_its_field(marketer, demo, field, value):
    """urllib raises on an unclosed "[": the marketer gets the field's message, not a 500."""
    token = form_data(marketer.get("/admin/content/redirects/"), "main form")["csrf_token"]
    data = {"csrf_token": token, "old_path": "/old-treatment", "new_path": "/about", field: value}
    refused = marketer.post("/admin/content/redirects/", data=data)
    assert refused.status_code == 422
    assert "is not a path on this site" in soup(refused).select_one(f"#{field}-error").get_text()


def test_loops_are_refused(app):
    with app.app_context():
        redirects.save("/a", "/b")
        redirects.save("/b", "/c")
        with pytest.raises(RedirectError, match="loop"):
            redirects.save("/c", "/a")
        with pytest.raises(RedirectError):
            redirects.save("/d", "/d")
        assert redirects.target_for("/a") == "/c"


def test_a_new_redirect_collapses_the_chain_behind_it(app):
    with app.app_context():
        redirects.save("/a", "/b")
        redirects.save("/b", "/c")
        assert redirects.target_for("/a") == "/c"
        redirects.save("/x", "/a")  # /a itself redirects: point /x at the end
        assert redirects.target_for("/x") == "/c"


def test_redirect_manager_lists_adds_edits_and_deletes(marketer, demo):
    page = marketer.get("/admin/content/redirects/")
    assert page.status_code == 200
    token = form_data(page, "main form")["csrf_token"]
    response = marketer.post(
        "/admin/content/redirects/",
        data={"csrf_token": token, "old_path": "/old-treatment", "new_path": "/about"},
    )
    assert response.status_code == 303
    assert marketer.get("/old-treatment").headers["Location"] == "/about"
    assert "/old-treatment" in marketer.get("/admin/content/redirects/").get_data(as_text=True)

    refused = marketer.post(
        "/admin/content/redirects/",
        data={"csrf_token": token, "old_path": "/about", "new_path": "/old-treatment"},
    )
    assert refused.status_code == 422
    assert "loop" in refused.get_data(as_text=True)

    with demo.app_context():
        redirect_id = db.session.scalar(sa.select(Redirect.id))
    edit = f"/admin/content/redirects/{redirect_id}"
    version = form_data(marketer.get(edit), "main form")["version"]
    response = marketer.post(
        edit,
        data={
            "csrf_token": token,
            "version": version,
            "old_path": "/old-treatment",
            "new_path": "/clinics/",
        },
    )
    assert response.status_code == 303
    assert marketer.get("/old-treatment").headers["Location"] == "/clinics/"

    response = marketer.post(f"{edit}/delete", data={"csrf_token": token})
    assert response.status_code == 303
    assert marketer.get("/old-treatment").status_code == 404
    actions = [a for a, t, u in audit_actions(demo) if t == "redirect"]
    assert actions == ["redirect_create", "redirect_edit", "redirect_delete"]


def test_staff_cannot_manage_redirects(demo, client):
    make_users(demo)
    login(client, "staff")
    assert client.get("/admin/content/redirects/").status_code == 403
