"""The list of content and the editor for articles and pages: drafts, preview, publishing,
scheduling, unpublished changes, deleting."""

from functools import partial

from flask import abort, flash, redirect, render_template, request, url_for

from clinic.content import (
    editing,
    images,
    markdown,
    presence,
    queries,
    review,
    revisions,
)
from clinic.content.admin import bp
from clinic.content.admin.common import (
    ANY_SECTION,
    KINDS,
    SECTIONS,
    first_input_id,
    item_or_404,
    open_version,
    opened,
    others_editing,
    people,
    refused,
    saved,
    warnings_confirmed,
)
from clinic.content.forms import (
    SEO_DESCRIPTION_LENGTH,
    SEO_TITLE_LENGTH,
    ArticleForm,
    ItemConfirmForm,
    PageForm,
    error_list,
    filled_row,
    utc_to_uk,
)
from clinic.content.models import Article, Page
from clinic.extensions import db

BLANK_ROWS = 1
ROW_LISTS = ("key_points", "faqs", "references")
ADD_ACTIONS = tuple(f"add-{name}" for name in ROW_LISTS)
PENDING_ACTIONS = ("save_draft", "discard_draft")  # a live item's unpublished changes


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
        "content_admin/index.html",
        q=query,
        found=found,
        latest=latest,
        review_due=review.review_due_date,
        needs_review=review.needs_review,
        today=review.uk_today(),
    )


@bp.get("/review")
def review_queue():
    """List the content whose medical review is overdue or due within 30 days."""
    return render_template(
        "content_admin/review_queue.html", items=review.review_queue(), today=review.uk_today()
    )


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
            added = first_input_id(rows[-1]) if name == adding else added
    return added


def _edit_publishable(kind: str, item_id: int | None):
    item = item_or_404(kind, item_id) if item_id else None
    pending = editing.pending(kind, item)
    form_class = ArticleForm if kind == "article" else PageForm
    form = (
        form_class(data=_publishable_data(kind, item, pending))
        if request.method == "GET"
        else form_class()
    )
    form.set_people(people())
    action = request.form.get("action", "save")
    adding = action[4:] if action in ADD_ACTIONS and kind == "article" else None
    added = _add_blank_rows(form, adding)
    if request.method == "GET":
        open_version(kind, item, form)
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
    values = editing.keep_fixed_address(kind, item, form.values())
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
    if conflict := refused(kind, item, form, values, save):
        return _editor(kind, item, form, action="save_draft", conflict=conflict, status=409)
    return saved(kind, item, "Changes saved as a draft. The live page has not changed.")


def _discard_pending(kind: str, item, form):
    if item is None:
        abort(400)
    try:
        discarded = editing.discard_pending(kind, item, form.expected_version())
    except editing.EditConflict:
        db.session.rollback()
        message = "Someone saved this since you opened it, so nothing was discarded. Check what is "
        return saved(kind, item, message + "saved now, then discard again if you wish.")
    if not discarded:
        return saved(kind, item, "There were no unpublished changes to discard.")
    return saved(kind, item, "Unpublished changes discarded. The editor shows the live version.")


def _save_publishable(kind: str, item, form, values: dict, action: str):
    target = item or (Article() if kind == "article" else Page(kind="treatment"))
    checks = editing.check(kind, target, values, editing.target_status(kind, target, action))
    if _show_problems(form, checks):
        return _editor(kind, item, form, checks=checks, action=action, status=422)
    version = form.expected_version() if item else None
    save = partial(editing.save, kind, target, values, action, version=version)
    if conflict := refused(kind, item, form, values, save):
        return _editor(
            kind, item, form, checks=checks, action=action, conflict=conflict, status=409
        )
    return saved(kind, target, _status_message(target))


def _show_problems(form, checks: editing.Check) -> bool:
    """Put each publishing problem next to its field, and a missing tick under warnings next
    to the checkbox; return whether there was any."""
    for name, message in checks.problems:
        form[name].errors.append(message)
    return not warnings_confirmed(form, checks) or bool(checks.problems)


def _status_message(item) -> str:
    if item.status == "scheduled":
        when = item.publish_at.astimezone(review.UK)
        return f"Saved. It will be published on {when:%d %B %Y at %H:%M} (UK time)."
    return {
        "published": "Published. The change is on the public site now.",
        "unpublished": "Unpublished. The public can no longer see it.",
    }.get(item.status, "Draft saved.")


def _editor(kind, item, form, checks=None, action=None, status=200, conflict=None, focus=None):
    return render_template(
        "content_admin/editor.html",
        kind=kind,
        section=SECTIONS[kind],
        item=item,
        form=form,
        errors=error_list(form),
        checks=checks or editing.Check(),
        action=action,
        conflict=conflict,
        pending=editing.pending(kind, item),
        public_path=editing.public_path(kind, item) if item and item.is_visible else None,
        seo_limits=(SEO_TITLE_LENGTH, SEO_DESCRIPTION_LENGTH),
        focus=focus,
        others=others_editing(kind, item),
        minutes_ago=presence.minutes_ago,
    ), status


def _preview(kind: str, item, values: dict):
    copy = editing.build_preview(kind, item, values)
    if kind == "article":
        return render_template(
            "content_admin/preview_article.html",
            article=copy,
            body=images.render(copy.body),
            toc=markdown.headings(copy.body),
            reading_minutes=markdown.reading_minutes(copy.body),
            related=queries.related_articles(copy),
            structured_data=[],
        )
    return render_template(
        "content_admin/preview_page.html",
        page=copy,
        body=images.render(copy.body),
        toc=markdown.headings(copy.body),
        structured_data=[],
    )


@bp.route("/" + ANY_SECTION + "/<int:item_id>/delete", methods=["GET", "POST"])
def delete(section: str, item_id: int):
    """Ask, then delete a draft or unpublished article or page."""
    kind = KINDS[section]
    item = item_or_404(kind, item_id)
    if kind not in editing.PUBLISHABLE or item.status in editing.LIVE:
        abort(404)
    form = ItemConfirmForm(data=opened(item))
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
