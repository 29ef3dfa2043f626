"""An item's revisions: the list, two side by side, and restoring an old version."""

from functools import partial

from flask import abort, render_template, request

from clinic.content import (
    editing,
    revisions,
)
from clinic.content.admin import bp
from clinic.content.admin.common import (
    ANY_SECTION,
    KINDS,
    item_or_404,
    opened,
    saved,
    warnings_confirmed,
)
from clinic.content.forms import (
    ItemConfirmForm,
    error_list,
)
from clinic.dbtypes import MAX_ID
from clinic.extensions import db

AS_PENDING = "Revision {} is now the unpublished changes. The live page has not changed."


@bp.get("/" + ANY_SECTION + "/<int:item_id>/revisions")
def revision_list(section: str, item_id: int):
    """List an item's revisions, newest first, with a form to compare two."""
    kind = KINDS[section]
    item = item_or_404(kind, item_id)
    return render_template(
        "content_admin/revisions.html",
        kind=kind,
        section=section,
        item=item,
        history=revisions.history(kind, item_id),
    )


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
        "content_admin/compare.html",
        kind=kind,
        section=section,
        item=item,
        older=older,
        newer=newer,
        compared=revisions.compare(kind, older.snapshot, newer.snapshot),
    )


def _revision_id(name: str) -> int:
    """Read a revision id from the query string; junk or one no id can be (say 25 digits) is a
    404, not a database error."""
    value = request.args.get(name, type=int) or 0
    return value if 0 < value <= MAX_ID else abort(404)


@bp.route("/" + ANY_SECTION + "/<int:item_id>/revisions/<int:revision_id>", methods=["GET", "POST"])
def restore(section: str, item_id: int, revision_id: int):
    """Show one revision and restore it as a new revision (the status stays as it is)."""
    kind, item, revision = _revision_of(section, item_id, revision_id)
    form = ItemConfirmForm(data=opened(item))
    values, checks = editing.restore_checks(kind, item, revision)
    page = partial(_revision_page, kind, section, item, revision, form, checks)
    if not form.validate_on_submit():
        return page(422 if request.method == "POST" else 200)
    try:
        if editing.restores_as_pending(kind, item, values, request.form.get("action")):
            editing.save_pending(kind, item, values, form.expected_version())
            return saved(kind, item, AS_PENDING.format(revision.id))
        if checks.problems or not warnings_confirmed(form, checks):
            return page(422)
        editing.restore(kind, item, revision, form.expected_version())
    except editing.EditConflict:
        db.session.rollback()
        form.version.data = str(item.version)  # warned now: pressing again restores
        return page(409, moved=True)
    return saved(kind, item, f"Restored the version of revision {revision.id}.")


def _revision_of(section: str, item_id: int, revision_id: int):
    """Return the kind, the item and its revision (404 if either is unknown)."""
    kind = KINDS[section]
    item = item_or_404(kind, item_id)
    return kind, item, revisions.get(kind, item_id, revision_id) or abort(404)


def _revision_page(kind, section, item, revision, form, checks, status, moved=False):
    return render_template(
        "content_admin/revision.html",
        kind=kind,
        section=section,
        item=item,
        revision=revision,
        form=form,
        checks=checks,
        errors=error_list(form),
        moved=moved,
        fields=revisions.field_changes(kind, revision.snapshot, revision.snapshot),
        body_key=revisions.BODY_FIELD[kind],
        body_label=revisions.label(revisions.BODY_FIELD[kind]),
    ), status
