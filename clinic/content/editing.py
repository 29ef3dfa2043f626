"""Saving content: publishing rules, defaults, moved URLs, revisions and the audit trail.

A live article or page may also hold unpublished changes (`pending`): the editor's values
kept aside until someone publishes or discards them; any other save of the item drops them.

Every write of an item moves its `version` on, and matches the version it read (`UPDATE ...
WHERE version = :read`): a save from a version someone else has replaced, even one racing
it at the same moment, raises `EditConflict` instead of silently replacing their work.

Every function here flushes and leaves the commit to the view or command that called it.
"""

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import has_request_context, url_for
from flask_login import current_user
from sqlalchemy.orm.attributes import set_committed_value

from clinic.audit.services import latest_for, record
from clinic.content import redirects, review, revisions
from clinic.content.hours import UK
from clinic.content.models import Closure, HolidayOpening, OpeningHours, Revision
from clinic.content.seed import one_year_after
from clinic.content.versions import EditConflict, claim, refused_if_stale
from clinic.dbtypes import utcnow
from clinic.extensions import db

MODELS = revisions.MODELS
PUBLISHABLE = ("article", "page")
TARGET_STATUS = {
    "draft": "draft",
    "publish": "published",
    "schedule": "scheduled",
    "unpublish": "unpublished",
}
AUDIT_ACTION = {
    "save": "content_edit",
    "draft": "content_edit",
    "publish": "content_publish",
    "schedule": "content_schedule",
    "unpublish": "content_unpublish",
}
LIVE = ("published", "scheduled")
BEFORE_FIRST_EDIT = "Before the first edit"  # the note of the revision `save` keeps first


@dataclass
class Check:
    """What stops a save (problems: the form field to fix and the message) and what an editor
    must confirm first (warnings)."""

    problems: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def messages(self) -> list[str]:
        return [message for _, message in self.problems]


def target_status(kind: str, item, action: str) -> str | None:
    """Return the status a save leaves: the button's, else the item's own (new: draft)."""
    if kind not in PUBLISHABLE:
        return None
    return TARGET_STATUS.get(action) or item.status or "draft"


def check(kind: str, item, values: dict, status: str | None) -> Check:
    """Apply the publishing rules to validated form values before anything is saved."""
    result = Check()
    if status not in LIVE:
        return result
    problems = result.problems
    if review.needs_review(kind, item):
        if not values.get("reviewer_id"):
            problems.append(("reviewer_id", "Choose the medical reviewer before publishing."))
        if not values.get("last_reviewed"):
            message = "Enter the date of the medical review before publishing."
            problems.append(("last_reviewed", message))
    if status == "scheduled":
        publish_at = values.get("publish_at")
        if publish_at is None:
            problems.append(("publish_date", "Enter the date and time to publish."))
        elif publish_at <= utcnow():
            message = "Choose a publishing time in the future, or publish now."
            problems.append(("publish_date", message))
    result.warnings = review.medicine_warnings(
        values.get("title", ""), values.get("seo_title", ""), values.get("body", "")
    )
    return result


def slug_taken(kind: str, slug: str, item_id: int | None) -> bool:
    model = MODELS[kind]
    query = sa.select(model.id).where(model.slug == slug, model.id != (item_id or 0))
    return db.session.scalar(query) is not None


def apply(kind: str, item, values: dict, status: str | None) -> None:
    """Set form values on `item`, with the defaults publishing brings (used by preview too)."""
    old_status = item.status if kind in PUBLISHABLE else None
    old_reviewed = getattr(item, "last_reviewed", None)
    old_due = getattr(item, "next_review_due", None)
    for name, value in values.items():
        if name == "hours":
            item.hours = [OpeningHours(weekday=d, opens=o, closes=c) for d, o, c in value]
        elif name == "closures":
            item.closures = [Closure(starts_on=s, ends_on=e, reason=r) for s, e, r in value]
        elif name == "holiday_openings":
            _set_holiday_openings(item, value)
        else:
            setattr(item, name, value)
    if kind in PUBLISHABLE:
        _set_status(item, status, old_status)
        _default_review_due(item, old_reviewed, old_due)


def _set_holiday_openings(clinic, days) -> None:
    """Open the clinic on these bank holidays only, keeping the rows of days still chosen: a
    new row for the same day would be inserted before the old one is deleted (one a day)."""
    wanted = set(days)
    kept = [opening for opening in clinic.holiday_openings if opening.day in wanted]
    added = wanted - {opening.day for opening in kept}
    clinic.holiday_openings = kept + [HolidayOpening(day=day) for day in sorted(added)]


def _set_status(item, status: str, old_status: str | None) -> None:
    item.status = status
    if status == "published":
        item.publish_at = None
        item.published_on = item.published_on or utcnow().astimezone(UK).date()
    elif status == "scheduled" and item.publish_at is not None:
        if item.published_on is None or old_status in (None, "draft", "scheduled"):
            item.published_on = item.publish_at.astimezone(UK).date()


def _default_review_due(item, old_reviewed, old_due) -> None:
    """Next review: 12 months after the last, unless an editor chose another date."""
    if item.last_reviewed is None:
        return
    was_default = old_reviewed is not None and old_due == one_year_after(old_reviewed)
    reviewed_again = item.last_reviewed != old_reviewed and item.next_review_due == old_due
    if item.next_review_due is None or (was_default and reviewed_again):
        item.next_review_due = one_year_after(item.last_reviewed)


def is_public(kind: str, item) -> bool:
    return item.is_visible if kind in PUBLISHABLE else True


def public_path(kind: str, item) -> str | None:
    """Return the item's public URL path, or None when it has none (call within a request)."""
    if kind == "article":
        return url_for("content.article", slug=item.slug)
    if kind == "clinic":
        return url_for("content.clinic", slug=item.slug)
    if kind == "person":
        return url_for("content.author", slug=item.slug)
    if item.kind == "treatment":
        return url_for("content.treatment", slug=item.slug)
    fixed = {("legal", "privacy"): "content.privacy", ("about", "about"): "content.about"}
    endpoint = fixed.get((item.kind, item.slug))
    return url_for(endpoint) if endpoint else None


def save(
    kind: str,
    item,
    values: dict,
    action: str = "save",
    note: str = "",
    audit=None,
    version: int | None = None,
):
    """Save an item from checked values: status, moved URL, a revision and an audit entry.
    With `version` (the one the editor opened), refuse to replace any other (EditConflict)."""
    is_new = item.id is None
    if version is not None:
        claim(item, version)
    with refused_if_stale():
        if not is_new:
            _keep_first_version(kind, item)
        old_path = None if is_new or not is_public(kind, item) else public_path(kind, item)
        apply(kind, item, values, target_status(kind, item, action))
        if kind in PUBLISHABLE:
            item.pending = None  # what the editor saved now replaces any unpublished changes
        if is_new:
            db.session.add(item)
        # Always an UPDATE of the row (so a new version), even when only a clinic's hours changed.
        item.updated_at = utcnow()
        db.session.flush()
    _keep_urls_working(kind, item, old_path)
    revision = revisions.record(kind, item, note or _note(kind, item, action, is_new))
    audit_action = audit or ("content_create" if is_new else AUDIT_ACTION[action])
    record(audit_action, kind, item.id, detail=f"{item.slug}; revision {revision.id}")
    return revision


def _keep_first_version(kind: str, item) -> None:
    """Content added without the editor (the demo content, an import) has no revision yet:
    keep its state before the first change, or that text could never be restored."""
    if latest_revisions(kind, [item.id]):
        return
    revisions.record(kind, item, BEFORE_FIRST_EDIT, by_system=True, at=item.updated_at)


def _note(kind: str, item, action: str, is_new: bool) -> str:
    if is_new:
        return "Created"
    if kind in PUBLISHABLE and action != "save":
        return {"published": "Published", "scheduled": "Scheduled"}.get(item.status, "Saved")
    return "Saved"


def _keep_urls_working(kind: str, item, old_path: str | None) -> None:
    """A public URL that moved answers 301 from then on; a path taken back loses its redirect."""
    if not is_public(kind, item):
        return
    new_path = public_path(kind, item)
    if new_path is None:
        return
    if old_path and old_path != new_path:
        redirects.moved(old_path, new_path, _user_email())
    else:
        redirects.release(new_path)


def _user_email() -> str:
    signed_in = has_request_context() and current_user.is_authenticated
    return current_user.email if signed_in else "system"


def restorable_values(kind: str, revision: Revision) -> dict:
    """Return a revision's content, leaving out its publication state (status, dates)."""
    values = revisions.decode(kind, revision.snapshot)
    for name in revisions.PUBLISHING:
        values.pop(name, None)
    return values


def restore_checks(kind: str, item, revision: Revision) -> tuple[dict, Check]:
    """Return what restoring `revision` would save and the checks it must pass. A restore
    keeps the publication state, so it is checked with the item's own status and publish
    time; a slug another item has taken since is a problem."""
    values = keep_fixed_address(kind, item, restorable_values(kind, revision))
    publishable = kind in PUBLISHABLE
    own_time = {"publish_at": item.publish_at} if publishable else {}
    checks = check(kind, item, {**own_time, **values}, item.status if publishable else None)
    if slug_taken(kind, values["slug"], item.id):
        checks.problems.append(("slug", f"Another item now uses the slug {values['slug']}."))
    return values, checks


def restores_as_pending(kind: str, item, values: dict, action: str | None) -> bool:
    """Whether a restore becomes a live item's unpublished changes: nothing goes public yet,
    so the publishing checks wait for "Publish changes" in the editor (the slug must still
    be free)."""
    live = kind in PUBLISHABLE and item.status in LIVE
    return live and action == "pending" and not slug_taken(kind, values["slug"], item.id)


def keep_fixed_address(kind: str, item, values: dict) -> dict:
    """Keep the address of a page that is not a treatment (/privacy, /about): links, the
    footer and other pages point there, so no edit or restore moves it."""
    if kind == "page" and item is not None and item.kind != "treatment":
        values["slug"] = item.slug
    return values


def restore(kind: str, item, revision: Revision, version: int | None = None) -> Revision:
    """Bring back an old version's content as a new revision; the status stays as it is."""
    values = restorable_values(kind, revision)
    return save(
        kind,
        item,
        values,
        "save",
        note=f"Restored revision {revision.id}",
        audit="content_restore",
        version=version,
    )


def delete(kind: str, item, version: int | None = None) -> None:
    """Delete a draft or unpublished item (public content must be unpublished first); with
    `version`, only that version (EditConflict when someone saved it since)."""
    if kind not in PUBLISHABLE or item.status in LIVE:
        raise ValueError("only drafts and unpublished articles or pages can be deleted")
    if version is not None:
        claim(item, version)
    record("content_delete", kind, item.id, detail=item.slug)
    with refused_if_stale():
        db.session.delete(item)
        db.session.flush()


def build_preview(kind: str, item, values: dict):
    """Return an unsaved copy of `item` with the form's values, as it would look published."""
    model = MODELS[kind]
    copy = model()
    if item is not None and item.id is not None:
        for name in revisions.FIELDS[kind]:
            setattr(copy, name, getattr(item, name))
        copy.id, copy.created_at = item.id, item.created_at
        if kind == "page":
            copy.kind = item.kind
    elif kind == "page":
        copy.kind = "treatment"
    status = (
        "scheduled" if values.get("publish_at") and item and item.status == "scheduled" else None
    )
    apply(kind, copy, values, status or "published")
    copy.updated_at = utcnow()
    # The real page shows author and reviewer through these relationships.
    copy.author = db.session.get(MODELS["person"], copy.author_id) if copy.author_id else None
    copy.reviewer = db.session.get(MODELS["person"], copy.reviewer_id) if copy.reviewer_id else None
    return copy


def listing(query: str = "") -> dict[str, list]:
    """Return every article, page, clinic and person (matching `query`), for the editor's list."""
    found = {}
    for kind, model in MODELS.items():
        text_column = model.name if kind in ("clinic", "person") else model.title
        statement = sa.select(model).order_by(text_column)
        if query:
            pattern = f"%{query.lower()}%"
            statement = statement.where(
                sa.or_(sa.func.lower(text_column).like(pattern), model.slug.like(pattern))
            )
        found[kind] = list(db.session.scalars(statement))
    return found


def latest_revisions(kind: str, ids: list[int]) -> dict[int, Revision]:
    """Return the newest revision of each item, for "last edited by" in the list."""
    if not ids:
        return {}
    newest = (
        sa.select(sa.func.max(Revision.id))
        .where(Revision.content_type == kind, Revision.content_id.in_(ids))
        .group_by(Revision.content_id)
    )
    rows = db.session.scalars(sa.select(Revision).where(Revision.id.in_(newest)))
    return {r.content_id: r for r in rows}


def latest_revision_id(kind: str, item) -> str:
    """Return the newest revision's id as the editor keeps it ("" for a new item)."""
    if item is None or item.id is None:
        return ""
    latest = latest_revisions(kind, [item.id]).get(item.id)
    return str(latest.id) if latest else ""


def saved_since(kind: str, item, base_revision: str | None) -> Revision | None:
    """Return the newest revision when it is not the one the editor started from: someone
    (or the scheduler) saved the item while this editor had it open."""
    if item is None or item.id is None:
        return None
    latest = latest_revisions(kind, [item.id]).get(item.id)
    if latest is None or str(latest.id) == (base_revision or ""):
        return None
    return latest


@dataclass(frozen=True)
class Pending:
    """A live item's unpublished changes: the editor's values, who saved them and when."""

    values: dict
    user_email: str
    created_at: datetime
    # Read by the conflict notice in place of a revision's: there is no revision to compare.
    id = None
    note = "unpublished changes"

    @property
    def stamp(self) -> str:
        """Identify this save, for the editor that opened it (see `pending_since`)."""
        return self.created_at.isoformat()


def pending(kind: str, item) -> Pending | None:
    """Return the item's unpublished changes, their values ready to set on the model."""
    data = getattr(item, "pending", None) if kind in PUBLISHABLE else None
    if not data:
        return None
    values = revisions.decode(kind, data["values"])
    return Pending(values, data["by"], datetime.fromisoformat(data["at"]))


def save_pending(kind: str, item, values: dict, version: int | None = None) -> None:
    """Keep checked form values as unpublished changes to a live item: the public page, its
    status, revisions and redirects stay as they are until someone publishes them."""
    if kind not in PUBLISHABLE or item.status not in LIVE:
        raise ValueError("only a published or scheduled article or page keeps unpublished changes")
    if version is not None:
        claim(item, version)
    data = {"values": revisions.encode(values), "by": _user_email(), "at": utcnow().isoformat()}
    _write_pending(kind, item, data)
    record("content_pending_save", kind, item.id, detail=item.slug)


def discard_pending(kind: str, item, version: int | None = None) -> bool:
    """Drop an item's unpublished changes; return False when it had none."""
    if version is not None:
        claim(item, version)
    if pending(kind, item) is None:
        return False
    _write_pending(kind, item, None)
    record("content_pending_discard", kind, item.id, detail=item.slug)
    return True


def _write_pending(kind: str, item, data: dict | None) -> None:
    # An UPDATE of this column and the version, not a flush of the item: a flush would move
    # `updated_at` (the public dateModified and sitemap date) and empty the public page cache.
    model = MODELS[kind]
    statement = (
        sa.update(model)
        .where(model.id == item.id, model.version == item.version)
        .values(pending=data, version=model.version + 1, updated_at=model.updated_at)
        .execution_options(synchronize_session=False)
    )
    if db.session.execute(statement).rowcount != 1:
        raise EditConflict
    set_committed_value(item, "pending", data)
    set_committed_value(item, "version", item.version + 1)


def pending_since(kind: str, item, base_pending: str | None) -> Pending | None:
    """Return unpublished changes someone saved after this editor opened the item."""
    current = pending(kind, item) if item is not None else None
    if current is None or current.stamp == (base_pending or ""):
        return None
    return current


@dataclass(frozen=True)
class Conflict:
    """A refused save: who saved the item since the editor opened it, and when (`revision_id`:
    their revision, if any), and the editor's values beside the item's saved ones."""

    user_email: str
    created_at: datetime | None
    comparison: revisions.Comparison
    note: str = ""
    revision_id: int | None = None
    unpublished: bool = False


def conflict(kind: str, item, values: dict, base_revision: str = "", base_pending: str = ""):
    """Describe what someone saved since this editor opened the item (as far as it is known,
    from the editor's `base_revision` and `base_pending`), beside the `values` typed."""
    typed = revisions.compare(kind, current_snapshot(kind, item), revisions.values_snapshot(values))
    if kind in MODELS and (revision := saved_since(kind, item, base_revision)):
        return Conflict(revision.user_email, revision.created_at, typed, revision.note, revision.id)
    if kind in PUBLISHABLE and (changes := pending_since(kind, item, base_pending)):
        return Conflict(changes.user_email, changes.created_at, typed, changes.note, None, True)
    entry = latest_for(kind, item.id)
    return Conflict(entry.user_email if entry else "", entry.at if entry else None, typed)


def current_snapshot(kind: str, item) -> dict:
    """Return the item's saved fields as the editor would open them now: with a live item's
    unpublished changes, which the form shows in place of the live text."""
    data = revisions.snapshot(kind, item)
    stored = getattr(item, "pending", None) if kind in PUBLISHABLE else None
    return {**data, **(stored["values"] if stored else {})}
