"""An item's revisions: the list, two side by side, and restoring an old version."""

from functools import partial

from flask import abort, render_template, request

from clinic.content import (
    editing,
    revisions,
)  # fmt: skip
from clinic.content.admin import bp
from clinic.content.admin.common import (
    ANY_SECTION,
    CONFIRM_MESSAGE,
    KINDS,
    item_or_404,
    opened,
    saved,
)
from clinic.content.forms import (
    ItemConfirmForm,
    error_list,
)
from clinic.dbtypes import MAX_ID
from clinic.extensions import db


@bp.get("/" + ANY_SECTION + "/<int:item_id>/revisions")
def revision_list(section: str, item_id: int):
    """List an item's revisions, newest first, with a form to compare two."""
    kind = KINDS[section]
    item = item_or_404(kind, item_id)
    return render_template(
        "content_admin/revisions.html", kind=kind, section=section, item=item,
        history=revisions.history(kind, item_id),
    )  # fmt: skip


@bp.get("/" + ANY_SECTION + "/<int:item_id>/revisions/compare")
def compare(section: str, item_id: int):
    """Show two revisions side by side: every field, then the body line by line."""
    kind = KINDS[section]
    item = item_or_404(kind, item_id)
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
    item = item_or_404(kind, item_id)
    revision = revisions.get(kind, item_id, revision_id) or abort(404)
    form = ItemConfirmForm(data=opened(item))
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
            return saved(kind, item, f"Revision {revision.id} is now the unpublished changes. "
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
    return saved(kind, item, f"Restored the version of revision {revision.id}.")


def _revision_page(kind, section, item, revision, form, checks, status, moved=False):
    return render_template(
        "content_admin/revision.html", kind=kind, section=section, item=item,
        revision=revision, form=form, checks=checks, errors=error_list(form), moved=moved,
        fields=revisions.field_changes(kind, revision.snapshot, revision.snapshot),
        body_key=revisions.BODY_FIELD[kind],
        body_label=revisions.label(revisions.BODY_FIELD[kind]),
    ), status  # fmt: skip
