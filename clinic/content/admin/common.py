"""What the content editor's pages share: finding the item, presence, saving with the
conflict check, and the redirect after a save."""

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from clinic.content import (
    editing,
    presence,
)
from clinic.content.models import Person
from clinic.extensions import db

SECTIONS = {"article": "articles", "page": "pages", "clinic": "clinics", "person": "people"}
KINDS = {section: kind for kind, section in SECTIONS.items()}
ANY_SECTION = "<any(articles, pages, clinics, people):section>"
CONFIRM_MESSAGE = "Tick the box to confirm you have checked the warnings."


def item_or_404(kind: str, item_id: int):
    return db.session.get(editing.MODELS[kind], item_id) or abort(404)


def people() -> list[Person]:
    return list(db.session.scalars(sa.select(Person).order_by(Person.name)))


def others_editing(kind: str, item) -> list:
    """Note that this account opened the item's editor (on a GET, committed at once) and return
    the other accounts that opened it lately."""
    if item is None:
        return []
    if request.method == "GET":
        presence.opened(kind, item.id, current_user.id, current_user.email)
        db.session.commit()
    return presence.others(kind, item.id, current_user.id)


def saved(kind: str, item, message: str):
    db.session.commit()
    flash(message)
    return redirect(url_for(f"content_admin.edit_{kind}", item_id=item.id), 303)


def open_version(kind: str, item, form) -> None:
    """Keep in the form the version (and revision) the editor opens, to save from."""
    form.version.data = str(item.version) if item else ""
    if hasattr(form, "base_revision"):
        form.base_revision.data = editing.latest_revision_id(kind, item)


def refused(kind: str, item, form, values: dict, save) -> editing.Conflict | None:
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
            kind, item, values, form_data(form, "base_revision"), form_data(form, "base_pending")
        )
    return None


def form_data(form, name: str) -> str:
    return (form[name].data or "") if name in form else ""


def opened(item, *names: str) -> dict | None:
    """Return the form's data as the editor opens it, with the item's version (None on a POST:
    the form then reads what was sent)."""
    if request.method != "GET":
        return None
    return {"version": str(item.version), **{name: getattr(item, name) for name in names}}


def first_input_id(entry) -> str:
    return next(iter(entry.form)).id if hasattr(entry, "form") else entry.id


def warnings_confirmed(form, checks) -> bool:
    """Whether the publishing warnings (if any) were ticked as checked; if not, say so next
    to the box."""
    if checks.warnings and not form.confirm_warnings.data:
        form.confirm_warnings.errors.append(CONFIRM_MESSAGE)
        return False
    return True
