"""Pages of a log, newest first, that start after the last row shown (keyset pagination).

An OFFSET makes the database read and drop every row before the page, so page 1,000 of a
million rows costs a thousand pages. Here each link names the row it continues from, and
the page is read from the index at that row: every page costs the same, and rows added
between two page loads never shift a row onto the next page twice or skip one.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from clinic.dbtypes import MAX_ID
from clinic.extensions import db


@dataclass(frozen=True)
class KeysetPage:
    """One page of rows, newest first, and the cursors of its neighbours (None: no such page)."""

    items: list
    newer: int | None  # the page before: rows newer than this row's
    older: int | None  # the page after: rows older than this row's
    where: str  # for the audit trail: "1" (the newest rows), "older:ID", "newer:ID", "oldest"

    @property
    def is_newest(self) -> bool:
        return self.newer is None

    @property
    def is_oldest(self) -> bool:
        return self.older is None


def _cursor(args: Mapping[str, str], name: str) -> int | None:
    raw = (args.get(name) or "").strip()
    if not re.fullmatch(r"[0-9]{1,19}", raw) or not 1 <= int(raw) <= MAX_ID:
        return None
    return int(raw)


def paginate(
    query: sa.Select, keys: Sequence, args: Mapping[str, str], per_page: int
) -> KeysetPage:
    """Return the page of `query` (filtered, unordered) that `args` asks for, ordered by
    `keys` descending (the last key is the row's unique id): `older=ID` continues after the
    row ID, `newer=ID` goes back before it, `oldest=1` is the last page; else the newest."""
    row_keys = sa.tuple_(*keys)
    older, newer = _cursor(args, "older"), _cursor(args, "newer")
    if older and (start := _keys_of(keys, older)):
        rows = _fetch(query.where(row_keys < start), keys, per_page, descending=True)
        items = rows[:per_page]
        has_newer = _beyond(query, keys, items, newer=True)
        return _page(items, has_newer, len(rows) > per_page, f"older:{older}")
    if newer and (start := _keys_of(keys, newer)):
        rows = _fetch(query.where(row_keys > start), keys, per_page, descending=False)
        if len(rows) > per_page:  # else fewer than a page is newer: show the newest page
            items = rows[:per_page][::-1]
            has_older = _beyond(query, keys, items, newer=False)
            return _page(items, True, has_older, f"newer:{newer}")
    elif args.get("oldest"):
        rows = _fetch(query, keys, per_page, descending=False)
        return _page(rows[:per_page][::-1], len(rows) > per_page, False, "oldest")
    rows = _fetch(query, keys, per_page, descending=True)
    return _page(rows[:per_page], False, len(rows) > per_page, "1")


def _keys_of(keys: Sequence, row_id: int) -> tuple | None:
    """Return the sort keys of the row `row_id`, or None when there is no such row."""
    found = db.session.execute(sa.select(*keys).where(keys[-1] == row_id)).first()
    return tuple(found) if found else None


def _fetch(query: sa.Select, keys: Sequence, per_page: int, descending: bool) -> list:
    """Read one row more than a page: whether it comes back says if there is more."""
    order = [key.desc() if descending else key.asc() for key in keys]
    return list(db.session.scalars(query.order_by(*order).limit(per_page + 1)))


def _beyond(query: sa.Select, keys: Sequence, items: list, newer: bool) -> bool:
    """Say whether any row of `query` is newer than the first item (or older than the last)."""
    if not items:
        return False
    edge = items[0] if newer else items[-1]
    values = tuple(getattr(edge, key.key) for key in keys)
    side = sa.tuple_(*keys) > values if newer else sa.tuple_(*keys) < values
    return db.session.scalar(sa.select(query.where(side).exists())) or False


def _page(items: list, has_newer: bool, has_older: bool, where: str) -> KeysetPage:
    newer = items[0].id if has_newer and items else None
    return KeysetPage(items, newer, items[-1].id if has_older and items else None, where)
