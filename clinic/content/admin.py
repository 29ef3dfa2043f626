"""The content editor: articles, pages, clinics, people, revisions, redirects and images.

Marketers and admins only (staff get 403). Every change goes through clinic.content.editing
(or redirects / images), which records a revision and an audit entry; the view commits.
"""

from functools import partial

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.accounts.roles import no_store, require_roles
from clinic.content import (
    editing,
    images,
    markdown,
    presence,
    queries,
    redirects,
    review,
    revisions,
    scheduler,
)  # fmt: skip
from clinic.content.forms import (
    SEO_DESCRIPTION_LENGTH,
    SEO_TITLE_LENGTH,
    ArticleForm,
    ClinicForm,
    ConfirmForm,
    ImageAltForm,
    ImageForm,
    ItemConfirmForm,
    PageForm,
    PersonForm,
    RedirectForm,
    closure_dates,
    error_list,
    filled_row,
    utc_to_uk,
)
from clinic.content.hours import DAY_NAMES
from clinic.content.models import Article, Clinic, Image, Page, Person, Redirect
from clinic.content.redirects import RedirectError
from clinic.dbtypes import MAX_ID
from clinic.errors import message_page
from clinic.extensions import db

bp = Blueprint("content_admin", __name__, url_prefix="/admin/content")
bp.before_request(require_roles("marketer"))
bp.after_request(no_store)

SECTIONS = {"article": "articles", "page": "pages", "clinic": "clinics", "person": "people"}
KINDS = {section: kind for kind, section in SECTIONS.items()}
ANY_SECTION = "<any(articles, pages, clinics, people):section>"
UPLOAD_LIMIT = images.MAX_BYTES + 256 * 1024  # the file plus the other form fields
BLANK_ROWS = 1
ROW_LISTS = ("key_points", "faqs", "references")
ADD_ACTIONS = tuple(f"add-{name}" for name in ROW_LISTS)
CONFIRM_MESSAGE = "Tick the box to confirm you have checked the warnings."
PENDING_ACTIONS = ("save_draft", "discard_draft")  # a live item's unpublished changes


@bp.record_once
def _configure(state) -> None:
    images.configure(state.app)
    scheduler.init_app(state.app)


@bp.url_value_preprocessor
def _limit_upload_size(endpoint, _values) -> None:
    # Runs before CSRF reads the body: only the image upload may send megabytes.
    if endpoint == "content_admin.images_index" and request.method == "POST":
        request.max_content_length = UPLOAD_LIMIT


@bp.errorhandler(413)
def _upload_too_large(_error):
    # Raised while CSRF read the body, before the role check: check the role here too.
    if not current_user.is_authenticated or current_user.role not in ("admin", "marketer"):
        return message_page(413)
    form = ImageForm(formdata=None)
    form.file.errors = [f"The file is larger than {images.MAX_BYTES // (1024 * 1024)} MB."]
    return _images_page(form, 413)


def _item_or_404(kind: str, item_id: int):
    return db.session.get(editing.MODELS[kind], item_id) or abort(404)


def _people() -> list[Person]:
    return list(db.session.scalars(sa.select(Person).order_by(Person.name)))


def _presence(kind: str, item) -> list:
    """Note that this account opened the item's editor (on a GET, committed at once) and return
    the other accounts that opened it lately."""
    if item is None:
        return []
    if request.method == "GET":
        presence.opened(kind, item.id, current_user.id, current_user.email)
        db.session.commit()
    return presence.others(kind, item.id, current_user.id)


def _saved(kind: str, item, message: str):
    db.session.commit()
    flash(message)
    return redirect(url_for(f"content_admin.edit_{kind}", item_id=item.id), 303)


# -- the list ------------------------------------------------------------------------------


@bp.get("/")
def index():
    """List every article, page, clinic and person with status, last edit and review due."""
    query = request.args.get("q", "").strip()[:100]
    found = editing.listing(query)
    latest = {
        kind: editing.latest_revisions(kind, [item.id for item in items])
        for kind, items in found.items()
    }
    return render_template(
        "content_admin/index.html", q=query, found=found, latest=latest,
        review_due=review.review_due_date, needs_review=review.needs_review,
        today=review.uk_today(),
    )  # fmt: skip


@bp.get("/review")
def review_queue():
    """List the content whose medical review is overdue or due within 30 days."""
    return render_template(
        "content_admin/review_queue.html", items=review.review_queue(), today=review.uk_today()
    )


# -- articles and pages --------------------------------------------------------------------


@bp.route("/articles/new", methods=["GET", "POST"], defaults={"item_id": None})
@bp.route("/articles/<int:item_id>", methods=["GET", "POST"])
def edit_article(item_id: int | None):
    """Create or edit an article: save a draft, preview, publish, schedule or unpublish; keep
    or discard unpublished changes to a live one."""
    return _edit_publishable("article", item_id)


@bp.route("/pages/new", methods=["GET", "POST"], defaults={"item_id": None})
@bp.route("/pages/<int:item_id>", methods=["GET", "POST"])
def edit_page(item_id: int | None):
    """Create a treatment page, or edit any page: save, preview, publish, schedule, unpublish,
    keep or discard unpublished changes."""
    return _edit_publishable("page", item_id)


def _publishable_data(kind: str, item, pending: editing.Pending | None = None) -> dict:
    """Return the form's data: the item's fields, overlaid with its unpublished changes."""
    if item is None:
        return {}
    data = {name: getattr(item, name) for name in revisions.FIELDS[kind]}
    data.update(pending.values if pending else {})
    data["author_id"] = str(data["author_id"] or "")
    data["reviewer_id"] = str(data["reviewer_id"] or "")
    data["publish_date"], data["publish_time"] = utc_to_uk(data["publish_at"])
    return data


def _add_blank_rows(form, adding: str | None = None) -> str | None:
    """Give each list an empty row to type in, and the one whose "Add another" was pressed
    one more after the rows sent (where the button's link points); never past the limit.
    Return the id of the added row's first input, to put the cursor in."""
    added = None
    for name in ROW_LISTS:
        rows = getattr(form, name, None)
        if rows is None:
            continue
        filled = sum(1 for entry in rows if filled_row(entry.data))
        wanted = len(rows) + 1 if name == adding else filled + BLANK_ROWS
        while len(rows) < min(wanted, rows.limit):
            rows.append_entry()
            added = _first_input_id(rows[-1]) if name == adding else added
    return added


def _first_input_id(entry) -> str:
    return next(iter(entry.form)).id if hasattr(entry, "form") else entry.id


def _edit_publishable(kind: str, item_id: int | None):
    item = _item_or_404(kind, item_id) if item_id else None
    pending = editing.pending(kind, item)
    form_class = ArticleForm if kind == "article" else PageForm
    form = (
        form_class(data=_publishable_data(kind, item, pending))
        if request.method == "GET"
        else form_class()
    )
    form.set_people(_people())
    action = request.form.get("action", "save")
    adding = action[4:] if action in ADD_ACTIONS and kind == "article" else None
    added = _add_blank_rows(form, adding)
    if request.method == "GET":
        _open_version(kind, item, form)
        form.base_pending.data = pending.stamp if pending else ""
        return _editor(kind, item, form)
    if adding:
        return _editor(kind, item, form, focus=added)
    if action not in ("save", "preview", *editing.TARGET_STATUS, *PENDING_ACTIONS):
        abort(400)
    if action == "discard_draft":
        return _discard_pending(kind, item, form)
    if not form.validate():
        return _editor(kind, item, form, status=422)
    values = form.values()
    if kind == "page" and item is not None and item.kind != "treatment":
        values["slug"] = item.slug  # /privacy and /about are fixed addresses
    if editing.slug_taken(kind, values["slug"], item_id):
        form.slug.errors.append("Another item already uses this slug. Choose another.")
        return _editor(kind, item, form, status=422)
    if action == "preview":
        return _preview(kind, item, values)
    if action == "save_draft" and item is not None and item.status in editing.LIVE:
        return _save_pending(kind, item, form, values)
    # Unpublished meanwhile: a plain save keeps the work and shows nothing to the public.
    return _save_publishable(kind, item, form, values, "save" if action == "save_draft" else action)


def _save_pending(kind: str, item, form, values: dict):
    version = form.expected_version()
    save = partial(editing.save_pending, kind, item, values, version)
    if conflict := _refused(kind, item, form, values, save):
        return _editor(kind, item, form, action="save_draft", conflict=conflict, status=409)
    return _saved(kind, item, "Changes saved as a draft. The live page has not changed.")


def _discard_pending(kind: str, item, form):
    if item is None:
        abort(400)
    try:
        discarded = editing.discard_pending(kind, item, form.expected_version())
    except editing.EditConflict:
        db.session.rollback()
        message = "Someone saved this since you opened it, so nothing was discarded. Check what is "
        return _saved(kind, item, message + "saved now, then discard again if you wish.")
    if not discarded:
        return _saved(kind, item, "There were no unpublished changes to discard.")
    return _saved(kind, item, "Unpublished changes discarded. The editor shows the live version.")


def _save_publishable(kind: str, item, form, values: dict, action: str):
    target = item or (Article() if kind == "article" else Page(kind="treatment"))
    checks = editing.check(kind, target, values, editing.target_status(kind, target, action))
    if _show_problems(form, checks):
        return _editor(kind, item, form, checks=checks, action=action, status=422)
    version = form.expected_version() if item else None
    save = partial(editing.save, kind, target, values, action, version=version)
    if conflict := _refused(kind, item, form, values, save):
        return _editor(kind, item, form, checks=checks, action=action, conflict=conflict,
                       status=409)  # fmt: skip
    return _saved(kind, target, _status_message(target))


def _show_problems(form, checks: editing.Check) -> bool:
    """Put each publishing problem next to its field, and a missing tick under warnings next
    to the checkbox; return whether there was any."""
    for name, message in checks.problems:
        form[name].errors.append(message)
    if checks.warnings and not form.confirm_warnings.data:
        form.confirm_warnings.errors.append(CONFIRM_MESSAGE)
    return bool(checks.problems or form.confirm_warnings.errors)


def _status_message(item) -> str:
    if item.status == "scheduled":
        when = item.publish_at.astimezone(review.UK)
        return f"Saved. It will be published on {when:%d %B %Y at %H:%M} (UK time)."
    return {
        "published": "Published. The change is on the public site now.",
        "unpublished": "Unpublished. The public can no longer see it.",
    }.get(item.status, "Draft saved.")


def _open_version(kind: str, item, form) -> None:
    """Keep in the form the version (and revision) the editor opens, to save from."""
    form.version.data = str(item.version) if item else ""
    if hasattr(form, "base_revision"):
        form.base_revision.data = editing.latest_revision_id(kind, item)


def _refused(kind: str, item, form, values: dict, save) -> editing.Conflict | None:
    """Run `save` (a service call that flushes) unless someone saved the item after the version
    the form sent, even at the same moment; then roll back and return what they saved, and
    let "save anyway" replace that version (`seen_version`), and only that one."""
    try:
        save()
    except editing.EditConflict:
        db.session.rollback()
        if item is None:
            raise  # a new item has no version: another row it touched moved on (a redirect)
        form.seen_version.data = str(item.version)
        return editing.conflict(
            kind, item, values, _data(form, "base_revision"), _data(form, "base_pending")
        )
    return None


def _data(form, name: str) -> str:
    return (form[name].data or "") if name in form else ""


def _editor(kind, item, form, checks=None, action=None, status=200, conflict=None, focus=None):
    return render_template(
        "content_admin/editor.html", kind=kind, section=SECTIONS[kind], item=item, form=form,
        errors=error_list(form), checks=checks or editing.Check(), action=action,
        conflict=conflict, pending=editing.pending(kind, item),
        public_path=editing.public_path(kind, item) if item and item.is_visible else None,
        seo_limits=(SEO_TITLE_LENGTH, SEO_DESCRIPTION_LENGTH), focus=focus,
        others=_presence(kind, item), minutes_ago=presence.minutes_ago,
    ), status  # fmt: skip


def _preview(kind: str, item, values: dict):
    copy = editing.build_preview(kind, item, values)
    if kind == "article":
        return render_template(
            "content_admin/preview_article.html", article=copy, body=images.render(copy.body),
            toc=markdown.headings(copy.body), reading_minutes=markdown.reading_minutes(copy.body),
            related=queries.related_articles(copy), structured_data=[],
        )  # fmt: skip
    return render_template(
        "content_admin/preview_page.html", page=copy, body=images.render(copy.body),
        toc=markdown.headings(copy.body), structured_data=[],
    )  # fmt: skip


@bp.route("/" + ANY_SECTION + "/<int:item_id>/delete", methods=["GET", "POST"])
def delete(section: str, item_id: int):
    """Ask, then delete a draft or unpublished article or page."""
    kind = KINDS[section]
    item = _item_or_404(kind, item_id)
    if kind not in editing.PUBLISHABLE or item.status in editing.LIVE:
        abort(404)
    form = ItemConfirmForm(data=_opened(item))
    if not form.validate_on_submit():
        return render_template("content_admin/delete.html", kind=kind, item=item, form=form)
    title = item.title
    try:
        editing.delete(kind, item, form.expected_version())
    except editing.EditConflict:
        db.session.rollback()
        form.version.data = str(item.version)  # warned now: pressing again deletes
        return render_template(
            "content_admin/delete.html", kind=kind, item=item, form=form, moved=True
        ), 409
    db.session.commit()
    flash(f"Deleted “{title}”.")
    return redirect(url_for("content_admin.index"), 303)


# -- clinics and people --------------------------------------------------------------------


def _save_or_refuse(kind: str, item, form, editor, message: str):
    """Save a clinic or a person once its slug is free and no one saved it unseen meanwhile;
    otherwise show the editor again (`editor(item, form, status, conflict)`)."""
    values = form.values()
    if editing.slug_taken(kind, values["slug"], item.id if item else None):
        form.slug.errors.append(f"Another {kind} already uses this slug. Choose another.")
        return editor(item, form, 422)
    target = item or editing.MODELS[kind]()
    version = form.expected_version() if item else None
    save = partial(editing.save, kind, target, values, version=version)
    if conflict := _refused(kind, item, form, values, save):
        return editor(item, form, 409, conflict)
    return _saved(kind, target, message)


def _clinic_data(item: Clinic | None) -> dict:
    days = [{"opens": None, "closes": None, "opens2": None, "closes2": None} for _ in DAY_NAMES]
    if item is None:
        return {"hours": days}
    lists = ("hours", "closures", "holiday_openings")
    data = {name: getattr(item, name) for name in revisions.FIELDS["clinic"] if name not in lists}
    for period in item.hours:
        day = days[period.weekday]
        keys = ("opens", "closes") if day["opens"] is None else ("opens2", "closes2")
        day[keys[0]], day[keys[1]] = period.opens, period.closes
    data["hours"] = days
    data["closures"] = [
        {"starts_on": c.starts_on, "ends_on": c.ends_on, "reason": c.reason} for c in item.closures
    ]
    data["holiday_openings"] = [opening.day.isoformat() for opening in item.holiday_openings]
    return data


@bp.route("/clinics/new", methods=["GET", "POST"], defaults={"item_id": None})
@bp.route("/clinics/<int:item_id>", methods=["GET", "POST"])
def edit_clinic(item_id: int | None):
    """Create or edit a clinic with its opening hours and closures (booking uses them at once)."""
    item = _item_or_404("clinic", item_id) if item_id else None
    form = ClinicForm(data=_clinic_data(item)) if request.method == "GET" else ClinicForm()
    if request.method == "GET":
        _open_version("clinic", item, form)
    adding = request.form.get("action") == "add-closures"
    focus = None
    if (len(form.closures) == 0 or adding) and not form.closures.full:
        form.closures.append_entry()
        focus = _first_input_id(form.closures[-1]) if adding else None
    if request.method == "GET" or adding:
        return _clinic_editor(item, form, focus=focus)
    if not form.validate():
        return _clinic_editor(item, form, 422)
    message = "Clinic saved. Booking times follow the new hours now."
    return _save_or_refuse("clinic", item, form, _clinic_editor, message)


def _clinic_editor(item, form, status=200, conflict=None, focus=None):
    return render_template(
        "content_admin/clinic.html", kind="clinic", section="clinics", item=item, form=form,
        errors=error_list(form), days=DAY_NAMES, conflict=conflict, focus=focus,
        closure_dates=closure_dates(), others=_presence("clinic", item),
        minutes_ago=presence.minutes_ago,
    ), status  # fmt: skip


@bp.route("/people/new", methods=["GET", "POST"], defaults={"item_id": None})
@bp.route("/people/<int:item_id>", methods=["GET", "POST"])
def edit_person(item_id: int | None):
    """Create or edit an author or medical reviewer."""
    item = _item_or_404("person", item_id) if item_id else None
    data = {name: getattr(item, name) for name in revisions.FIELDS["person"]} if item else {}
    form = PersonForm(data=data) if request.method == "GET" else PersonForm()
    if request.method == "GET":
        _open_version("person", item, form)
    if request.method == "GET" or not form.validate():
        return _person_editor(item, form, 200 if request.method == "GET" else 422)
    return _save_or_refuse("person", item, form, _person_editor, "Saved.")


def _person_editor(item, form, status=200, conflict=None):
    return render_template(
        "content_admin/person.html", kind="person", section="people", item=item, form=form,
        errors=error_list(form), conflict=conflict, others=_presence("person", item),
        minutes_ago=presence.minutes_ago,
    ), status  # fmt: skip


# -- revisions -----------------------------------------------------------------------------


@bp.get("/" + ANY_SECTION + "/<int:item_id>/revisions")
def revision_list(section: str, item_id: int):
    """List an item's revisions, newest first, with a form to compare two."""
    kind = KINDS[section]
    item = _item_or_404(kind, item_id)
    return render_template(
        "content_admin/revisions.html", kind=kind, section=section, item=item,
        history=revisions.history(kind, item_id),
    )  # fmt: skip


@bp.get("/" + ANY_SECTION + "/<int:item_id>/revisions/compare")
def compare(section: str, item_id: int):
    """Show two revisions side by side: every field, then the body line by line."""
    kind = KINDS[section]
    item = _item_or_404(kind, item_id)
    older = revisions.get(kind, item_id, _revision_id("a")) or abort(404)
    newer = revisions.get(kind, item_id, _revision_id("b")) or abort(404)
    if older.id > newer.id:
        older, newer = newer, older
    return render_template(
        "content_admin/compare.html", kind=kind, section=section, item=item, older=older,
        newer=newer, compared=revisions.compare(kind, older.snapshot, newer.snapshot),
    )  # fmt: skip


def _revision_id(name: str) -> int:
    """Read a revision id from the query string; junk or one no id can be (say 25 digits) is a
    404, not a database error."""
    value = request.args.get(name, type=int) or 0
    return value if 0 < value <= MAX_ID else abort(404)


@bp.route("/" + ANY_SECTION + "/<int:item_id>/revisions/<int:revision_id>", methods=["GET", "POST"])
def restore(section: str, item_id: int, revision_id: int):
    """Show one revision and restore it as a new revision (the status stays as it is)."""
    kind = KINDS[section]
    item = _item_or_404(kind, item_id)
    revision = revisions.get(kind, item_id, revision_id) or abort(404)
    form = ItemConfirmForm(data=_opened(item))
    values = editing.restorable_values(kind, revision)
    publishable = kind in editing.PUBLISHABLE
    status = item.status if publishable else None
    # A restore keeps the publication state, so check it with the item's own publish time.
    own_time = {"publish_at": item.publish_at} if publishable else {}
    checks = editing.check(kind, item, {**own_time, **values}, status)
    if editing.slug_taken(kind, values["slug"], item_id):
        checks.problems.append(("slug", f"Another item now uses the slug {values['slug']}."))
    # A live item may take the old version as unpublished changes: nothing goes public yet,
    # so the publishing checks wait for "Publish changes" in the editor.
    as_draft = (
        publishable and item.status in editing.LIVE and request.form.get("action") == "pending"
    )
    submitted = form.validate_on_submit()
    page = partial(_revision_page, kind, section, item, revision, form, checks)
    try:
        if submitted and as_draft and not editing.slug_taken(kind, values["slug"], item_id):
            editing.save_pending(kind, item, values, form.expected_version())
            return _saved(kind, item, f"Revision {revision.id} is now the unpublished changes. "
                                      "The live page has not changed.")  # fmt: skip
        confirmed = not checks.warnings or form.confirm_warnings.data
        if submitted and not confirmed:
            form.confirm_warnings.errors.append(CONFIRM_MESSAGE)
        if not submitted or checks.problems or not confirmed:
            return page(422 if request.method == "POST" else 200)
        editing.restore(kind, item, revision, form.expected_version())
    except editing.EditConflict:
        db.session.rollback()
        form.version.data = str(item.version)  # warned now: pressing again restores
        return page(409, moved=True)
    return _saved(kind, item, f"Restored the version of revision {revision.id}.")


def _revision_page(kind, section, item, revision, form, checks, status, moved=False):
    return render_template(
        "content_admin/revision.html", kind=kind, section=section, item=item,
        revision=revision, form=form, checks=checks, errors=error_list(form), moved=moved,
        fields=revisions.field_changes(kind, revision.snapshot, revision.snapshot),
        body_key=revisions.BODY_FIELD[kind],
        body_label=revisions.label(revisions.BODY_FIELD[kind]),
    ), status  # fmt: skip


# -- redirects -----------------------------------------------------------------------------


@bp.route("/redirects/", methods=["GET", "POST"])
def redirects_index():
    """List every redirect and add one by hand."""
    form = RedirectForm()
    if form.validate_on_submit():
        try:
            redirects.save(form.old_path.data, form.new_path.data, current_user.email, by_hand=True)
        except RedirectError as error:
            form[error.field].errors.append(str(error))
        else:
            db.session.commit()
            flash(f"Redirect added: {form.old_path.data.strip()}.")
            return redirect(url_for("content_admin.redirects_index"), 303)
    return render_template(
        "content_admin/redirects.html", form=form, errors=error_list(form),
        items=redirects.all_redirects(),
    ), 422 if form.errors else 200  # fmt: skip


@bp.route("/redirects/<int:redirect_id>", methods=["GET", "POST"])
def edit_redirect(redirect_id: int):
    """Change where a redirect points (or which path it answers)."""
    item = db.session.get(Redirect, redirect_id) or abort(404)
    form = RedirectForm(data=_opened(item, "old_path", "new_path"))
    conflict = None
    if form.validate_on_submit():
        values = {"old_path": form.old_path.data, "new_path": form.new_path.data}
        save = partial(
            redirects.save,
            values["old_path"],
            values["new_path"],
            current_user.email,
            item,
            by_hand=True,
            version=form.expected_version(),
        )
        try:
            conflict = _refused("redirect", item, form, values, save)
        except RedirectError as error:
            form[error.field].errors.append(str(error))
        else:
            if conflict is None:
                db.session.commit()
                flash("Redirect saved.")
                return redirect(url_for("content_admin.redirects_index"), 303)
    return render_template(
        "content_admin/redirect.html", form=form, item=item, errors=error_list(form),
        delete_form=ConfirmForm(formdata=None), conflict=conflict,
        others=_presence("redirect", item), minutes_ago=presence.minutes_ago,
    ), 409 if conflict else 422 if form.errors else 200  # fmt: skip


def _opened(item, *names: str) -> dict | None:
    """Return the form's data as the editor opens it, with the item's version (None on a POST:
    the form then reads what was sent)."""
    if request.method != "GET":
        return None
    return {"version": str(item.version), **{name: getattr(item, name) for name in names}}


@bp.post("/redirects/<int:redirect_id>/delete")
def delete_redirect(redirect_id: int):
    """Delete a redirect: its old path answers 404 again."""
    item = db.session.get(Redirect, redirect_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    old_path = item.old_path
    redirects.delete(item)
    db.session.commit()
    flash(f"Redirect from {old_path} deleted.")
    return redirect(url_for("content_admin.redirects_index"), 303)


# -- images --------------------------------------------------------------------------------


@bp.route("/images/", methods=["GET", "POST"])
def images_index():
    """List the uploaded images and upload a new one (alternative text required)."""
    form = ImageForm()
    if not form.validate_on_submit():
        return _images_page(form, 422 if form.is_submitted() else 200)
    data = form.file.data.read(images.MAX_BYTES + 1)
    try:
        image = images.save_upload(data, form.file.data.filename, form.alt.data, current_user.email)
    except images.ImageError as error:
        form.file.errors = [str(error)]
        return _images_page(form, 422)
    db.session.commit()
    flash(f"Uploaded. Put it in an article with: {images.markdown_snippet(image)}")
    return redirect(url_for("content_admin.images_index"), 303)


def _images_page(form, status):
    return render_template(
        "content_admin/images.html", form=form, errors=error_list(form),
        items=images.all_images(), snippet=images.markdown_snippet, file_name=images.file_name,
        max_megabytes=images.MAX_BYTES // (1024 * 1024),
    ), status  # fmt: skip


@bp.route("/images/<int:image_id>", methods=["GET", "POST"])
def edit_image(image_id: int):
    """Change an image's alternative text, or delete the image."""
    item = db.session.get(Image, image_id) or abort(404)
    form = ImageAltForm(data=_opened(item, "alt"))
    conflict = None
    if form.validate_on_submit():
        values = {"alt": form.alt.data.strip()}
        save = partial(images.set_alt, item, values["alt"], form.expected_version())
        if (conflict := _refused("image", item, form, values, save)) is None:
            db.session.commit()
            flash("Alternative text saved.")
            return redirect(url_for("content_admin.images_index"), 303)
    return render_template(
        "content_admin/image.html", form=form, item=item, errors=error_list(form),
        delete_form=ConfirmForm(formdata=None), snippet=images.markdown_snippet(item),
        file_name=images.file_name, conflict=conflict, others=_presence("image", item),
        minutes_ago=presence.minutes_ago,
    ), 409 if conflict else 422 if form.errors else 200  # fmt: skip


@bp.post("/images/<int:image_id>/delete")
def delete_image(image_id: int):
    """Delete an image and its files."""
    item = db.session.get(Image, image_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    images.delete(item)
    db.session.commit()
    flash("Image deleted.")
    return redirect(url_for("content_admin.images_index"), 303)
