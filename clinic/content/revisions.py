"""Revisions: a JSON snapshot of an item's editable fields at every save, to compare or restore."""

import difflib
from dataclasses import dataclass
from datetime import date, datetime, time

import sqlalchemy as sa
from flask import has_request_context
from flask_login import current_user

from clinic.content.models import Article, Clinic, Page, Person, Revision
from clinic.dbtypes import UTCDateTime, utcnow
from clinic.extensions import db

MODELS = {"article": Article, "page": Page, "clinic": Clinic, "person": Person}
PUBLISHING = ("status", "publish_at", "published_on")
_PUBLISHABLE = (
    "title", "slug", "summary", "body", "seo_title", "seo_description", "author_id",
    "reviewer_id", "last_reviewed", "next_review_due", *PUBLISHING,
)  # fmt: skip
FIELDS = {
    "article": (*_PUBLISHABLE, "key_points", "faqs", "references"),
    "page": _PUBLISHABLE,
    "clinic": (
        "name", "slug", "building", "street", "locality", "city", "postcode", "latitude",
        "longitude", "phone", "email", "summary", "cqc_rating", "cqc_url", "hours", "closures",
        "holiday_openings",
    ),
    "person": ("name", "slug", "credentials", "job_title", "bio", "email"),
}  # fmt: skip
# What a refused save compares of the items that keep no revisions.
COMPARED = {**FIELDS, "image": ("alt",), "redirect": ("old_path", "new_path")}
PERSON_FIELDS = ("author_id", "reviewer_id")
BODY_FIELD = {"article": "body", "page": "body", "clinic": "summary", "person": "bio"}
LABELS = {
    "alt": "Alternative text",
    "seo_title": "SEO title", "seo_description": "SEO description", "author_id": "Author",
    "reviewer_id": "Medical reviewer", "publish_at": "Publish at (UTC)",
    "cqc_rating": "CQC rating", "cqc_url": "CQC page", "faqs": "FAQs",
    "holiday_openings": "Bank holidays open",
}  # fmt: skip


def label(field: str) -> str:
    return LABELS.get(field, field.replace("_", " ").capitalize())


def _encode(value):
    if isinstance(value, datetime | date | time):
        return value.isoformat(timespec="minutes") if isinstance(value, time) else value.isoformat()
    return value


def encode(values: dict) -> dict:
    """Return form values as plain JSON values, the way a snapshot holds them."""
    return {name: _encode(value) for name, value in values.items()}


def values_snapshot(values: dict) -> dict:
    """Return form values (as `editing.apply` takes them) the way a snapshot holds them."""
    data = encode(values)
    for name in ("hours", "closures"):
        if name in values:
            data[name] = [[_encode(part) for part in row] for row in values[name]]
    if "holiday_openings" in values:
        data["holiday_openings"] = [_encode(day) for day in values["holiday_openings"]]
    return data


def snapshot(kind: str, item) -> dict:
    """Return the editable fields of `item` as plain JSON values."""
    data = {}
    for field in COMPARED[kind]:
        if field == "hours":
            data[field] = [[h.weekday, _encode(h.opens), _encode(h.closes)] for h in item.hours]
        elif field == "closures":
            data[field] = [
                [_encode(c.starts_on), _encode(c.ends_on), c.reason] for c in item.closures
            ]
        elif field == "holiday_openings":
            data[field] = [_encode(opening.day) for opening in item.holiday_openings]
        else:
            data[field] = _encode(getattr(item, field))
    return data


def decode(kind: str, data: dict) -> dict:
    """Turn a snapshot back into Python values ready to set on the model."""
    columns = sa.inspect(MODELS[kind]).columns
    values = {}
    for field, value in data.items():
        if field == "hours":
            values[field] = [(d, time.fromisoformat(o), time.fromisoformat(c)) for d, o, c in value]
        elif field == "closures":
            values[field] = [(date.fromisoformat(s), date.fromisoformat(e), r) for s, e, r in value]
        elif field == "holiday_openings":
            values[field] = [date.fromisoformat(day) for day in value]
        elif value is not None and field in columns and isinstance(columns[field].type, sa.Date):
            values[field] = date.fromisoformat(value)
        elif (
            value is not None and field in columns and isinstance(columns[field].type, UTCDateTime)
        ):
            values[field] = datetime.fromisoformat(value)
        else:
            values[field] = value
    return values


def record(
    kind: str, item, note: str = "", by_system: bool = False, at: datetime | None = None
) -> Revision:
    """Save the item's current fields as a new revision, by the signed-in user (or the system:
    `by_system` for a state no one saved in the editor, as of `at`)."""
    signed_in = has_request_context() and current_user.is_authenticated and not by_system
    user = current_user if signed_in else None
    revision = Revision(
        content_type=kind,
        content_id=item.id,
        snapshot=snapshot(kind, item),
        note=note[:120],
        user_id=user.id if user else None,
        user_email=user.email if user else "system",
        created_at=at or utcnow(),
    )
    db.session.add(revision)
    db.session.flush()
    return revision


def history(kind: str, item_id: int) -> list[Revision]:
    """Return an item's revisions, newest first."""
    query = (
        sa.select(Revision)
        .where(Revision.content_type == kind, Revision.content_id == item_id)
        .order_by(Revision.id.desc())
    )
    return list(db.session.scalars(query))


def get(kind: str, item_id: int, revision_id: int) -> Revision | None:
    revision = db.session.get(Revision, revision_id)
    if revision is None or (revision.content_type, revision.content_id) != (kind, item_id):
        return None
    return revision


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    old: str
    new: str

    @property
    def changed(self) -> bool:
        return self.old != self.new


def _show(value) -> str:
    if isinstance(value, list):
        return "\n".join(_show(v) for v in value)
    if isinstance(value, dict):
        return " | ".join(f"{k}: {v}" for k, v in value.items())
    return "" if value is None else str(value)


def field_changes(kind: str, old: dict, new: dict) -> list[FieldChange]:
    """Return every field but the body side by side, as text (people by name, not id)."""
    names = _person_names(old, new)

    def show(snapshot: dict, field: str) -> str:
        value = snapshot.get(field)
        if field in PERSON_FIELDS and value is not None:
            return names.get(value, f"Person #{value} (since deleted)")
        return _show(value)

    return [
        FieldChange(field, label(field), show(old, field), show(new, field))
        for field in COMPARED[kind]
        if field != BODY_FIELD.get(kind)
    ]


def _person_names(*snapshots: dict) -> dict[int, str]:
    ids = {s.get(f) for s in snapshots for f in PERSON_FIELDS} - {None}
    if not ids:
        return {}
    query = sa.select(Person.id, Person.name).where(Person.id.in_(ids))
    return dict(db.session.execute(query).all())


@dataclass(frozen=True)
class DiffRow:
    tag: str  # equal, replace, delete, insert, or gap (unchanged lines left out)
    old_number: int | None
    old: str
    new_number: int | None
    new: str


def line_diff(old_text: str, new_text: str, context: int = 3) -> list[DiffRow]:
    """Return a side-by-side line diff (the template escapes it), unchanged runs shortened."""
    old_lines, new_lines = (old_text or "").splitlines(), (new_text or "").splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    rows: list[DiffRow] = []
    for group in matcher.get_grouped_opcodes(context):
        if rows:
            rows.append(DiffRow("gap", None, "", None, ""))
        for tag, i1, i2, j1, j2 in group:
            for offset in range(max(i2 - i1, j2 - j1)):
                i, j = i1 + offset, j1 + offset
                rows.append(
                    DiffRow(
                        tag,
                        i + 1 if i < i2 else None,
                        old_lines[i] if i < i2 else "",
                        j + 1 if j < j2 else None,
                        new_lines[j] if j < j2 else "",
                    )
                )
    return rows


@dataclass(frozen=True)
class Comparison:
    """Two versions of an item side by side: the fields, then the body line by line."""

    fields: list[FieldChange]
    body_label: str | None
    body_diff: list[DiffRow]


def compare(kind: str, old: dict, new: dict) -> Comparison:
    """Compare two snapshots, on the fields `new` holds (a form holds no publication dates)."""
    fields = [change for change in field_changes(kind, old, new) if change.field in new]
    body = BODY_FIELD.get(kind)
    if body is None or body not in new:
        return Comparison(fields, None, [])
    return Comparison(fields, label(body), line_diff(old.get(body) or "", new.get(body) or ""))
