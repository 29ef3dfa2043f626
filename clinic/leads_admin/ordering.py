"""The leads list's sorts as parts, each read in the order of an index, and windows of them:
by offset (a numbered page) or next to a lead already shown (keyset: Next and Previous).

A sort is one or more parts read one after the other: "next call" is the leads with a call
ahead, soonest first, then the others newest first; "name" is the named leads, then the
erased; "status" is each status in pipeline order, newest first within it. Each part has an
order with no ties (the lead id comes last) over columns that are never NULL in it, so the
rows after a lead are the ones whose key compares past its key: `after` reads them with a
range on the index, however deep the page, where an OFFSET reads every row it skips.
"""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from clinic.booking.models import CALL_LENGTH, Booking
from clinic.extensions import db
from clinic.leads.models import LEAD_STATUSES, Lead


@dataclass(frozen=True)
class Part:
    """Some of the filtered leads (`query`, unordered) and their order: (column, descending)."""

    query: sa.Select
    keys: tuple[tuple[sa.ColumnElement, bool], ...]

    def ordered(self, forward: bool = True) -> sa.Select:
        """The part in its order, or in the reverse order (to read back from a lead)."""
        return self.query.order_by(
            *(
                column.desc() if descending == forward else column.asc()
                for column, descending in self.keys
            )
        )

    def key_of(self, lead_id: int) -> tuple | None:
        """Return the lead's key in this part's order, or None when the part does not hold it."""
        columns = [column for column, _descending in self.keys]
        found = self.query.with_only_columns(*columns).where(Lead.id == lead_id)
        row = db.session.execute(found).first()
        return tuple(row) if row is not None else None

    def past(self, key: tuple, forward: bool = True) -> sa.ColumnElement:
        """Rows that come after `key` in this order (before it when not `forward`).

        (a, b, c) past (x, y, z) is a past x, or a = x and b past y, or ...: spelt out rather
        than a row-value comparison, since the columns go in different directions. The bound
        on the first column alone (a at or past x) lets the database read a range of the index."""

        def beyond(column, descending, value):
            return column < value if descending == forward else column > value

        def reaching(column, descending, value):
            return column <= value if descending == forward else column >= value

        branches = []
        for n, (column, descending) in enumerate(self.keys):
            equal = [c == v for (c, _d), v in zip(self.keys[:n], key[:n], strict=True)]
            branches.append(sa.and_(*equal, beyond(column, descending, key[n])))
        (first, first_descending), first_value = self.keys[0], key[0]
        return sa.and_(reaching(first, first_descending, first_value), sa.or_(*branches))


NEWEST = ((Lead.created_at, True), (Lead.id, True))
OLDEST = ((Lead.created_at, False), (Lead.id, False))


def calls_ahead(now: datetime):
    """Each lead's next confirmed call (one in progress counts): a subquery of (lead_id, starts)
    read off the index of confirmed calls by time, so only calls ahead are touched."""
    return (
        sa.select(Booking.lead_id, sa.func.min(Booking.starts_at).label("starts"))
        .where(Booking.status == "confirmed", Booking.starts_at >= now - CALL_LENGTH)
        .group_by(Booking.lead_id)
        .subquery("calls_ahead")
    )


def parts(sort: str, where: list, status_chosen: bool, now: datetime) -> list[Part]:
    """Return the parts of the filtered leads (`where`) in the order of `sort`."""
    leads = sa.select(Lead).where(*where)
    if sort == "oldest":
        return [Part(leads, OLDEST)]
    if sort == "name":
        named = Part(
            leads.where(Lead.name_key.is_not(None)), ((Lead.name_key, False), (Lead.id, False))
        )
        return [named, Part(leads.where(Lead.name_key.is_(None)), ((Lead.id, False),))]
    if sort == "status" and not status_chosen:
        return [Part(leads.where(Lead.status == status), NEWEST) for status in LEAD_STATUSES]
    if sort == "next_call":
        ahead = calls_ahead(now)
        with_call = leads.join(ahead, ahead.c.lead_id == Lead.id)
        without_call = leads.where(Lead.id.not_in(sa.select(ahead.c.lead_id)))
        return [Part(with_call, ((ahead.c.starts, False), *NEWEST)), Part(without_call, NEWEST)]
    return [Part(leads, NEWEST)]


def _read(query: sa.Select, offset: int = 0, limit: int | None = None) -> list[Lead]:
    if limit is not None:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    return list(db.session.scalars(query))


def window(
    sort_parts: list[Part], offset: int, limit: int | None, forward: bool = True
) -> list[Lead]:
    """Return the leads [offset, offset + limit) of the parts read in turn (all when `limit` is
    None); counted from the end, in reverse order, when not `forward`. A part is counted only
    when the window starts past its end: a part that fills the window, or ends in it, tells
    its length without a count."""
    if limit is None:
        return [lead for part in sort_parts for lead in _read(part.ordered())]
    leads: list[Lead] = []
    for part in sort_parts if forward else reversed(sort_parts):
        found = _read(part.ordered(forward), offset, limit - len(leads))
        if not found and offset:
            counted = sa.select(sa.func.count()).select_from(part.query.subquery())
            offset = max(0, offset - db.session.scalar(counted))
            continue
        leads += found
        offset = 0
        if len(leads) >= limit:
            break
    return leads


def next_to(sort_parts: list[Part], lead_id: int, limit: int, forward: bool) -> list[Lead] | None:
    """Return up to `limit` leads after the lead `lead_id` (before it when not `forward`), in
    the sort's order; None when the lead is no longer in the list (filtered out, or gone)."""
    found = next(
        ((n, key) for n, part in enumerate(sort_parts) if (key := part.key_of(lead_id))), None
    )
    if found is None:
        return None
    index, key = found
    part = sort_parts[index]
    leads = _read(part.ordered(forward).where(part.past(key, forward)), 0, limit)
    following = sort_parts[index + 1 :] if forward else reversed(sort_parts[:index])
    for later in following:
        if len(leads) >= limit:
            break
        leads += _read(later.ordered(forward), 0, limit - len(leads))
    return leads if forward else leads[::-1]
