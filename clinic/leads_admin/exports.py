"""Leads as files: a CSV of the filtered list, and one person's data as JSON (subject access)."""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime

import sqlalchemy as sa

from clinic import uktime
from clinic.accounts.models import User
from clinic.booking.models import Booking
from clinic.booking.services import STATUS_LABELS as CALL_LABELS
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.leads.models import Lead
from clinic.leads_admin import queries
from clinic.leads_admin.dialling import dialable
from clinic.leads_admin.queries import LeadFilter, Row
from clinic.notifications.models import OutboxMessage

# Leads read, and CSV lines sent, at a time: memory stays that of one batch.
EXPORT_BATCH = 1000
BOM = "\ufeff"  # so that Excel reads UTF-8 names rightly

CSV_COLUMNS = (
    "id",
    "created (UK time)",
    "name",
    "email",
    "phone",
    "status",
    "owner",
    "clinic",
    "next call (UK time)",
    "calls",
    "source article",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "landing page",
    "referrer",
    "marketing opt-in",
)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_STARTS)  # one character each: a set test per cell


def neutralise(value) -> str:
    """Return the cell as text, with a leading ' when a spreadsheet would read a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in _FORMULA_FIRST else text


def uk_time(value: datetime | None) -> str:
    return uktime.spreadsheet(value)


def _calls(counts: dict[str, int]) -> str:
    """Say how the person's calls went, e.g. "Call done 1; Booked 1"."""
    order = ("done", "no_show", "confirmed", "cancelled")
    return "; ".join(f"{CALL_LABELS[s]} {counts[s]}" for s in order if counts.get(s))


def csv_row(row: Row) -> list:
    """Return one lead's cells; every cell a person could have typed is neutralised (the id,
    times, status and call counts are the system's own and cannot start a formula)."""
    lead, safe = row.lead, neutralise
    return [
        lead.id,
        uk_time(lead.created_at),
        safe(lead.name),
        safe(lead.email),
        safe(dialable(lead.phone)),
        lead.status,
        safe(row.owner),
        safe("; ".join(row.clinics)),
        uk_time(row.next_call),
        _calls(row.calls),
        safe(lead.source_article),
        safe(lead.utm_source),
        safe(lead.utm_medium),
        safe(lead.utm_campaign),
        safe(lead.utm_term),
        safe(lead.utm_content),
        safe(lead.landing_page),
        safe(lead.referrer),
        "yes" if lead.marketing_opt_in else "no",
    ]


def leads_csv(rows: list[Row]) -> str:
    """Write the rows as CSV in one string (the stream below must write the same bytes)."""
    return BOM + csv_lines([CSV_COLUMNS, *(csv_row(row) for row in rows)])


def csv_lines(rows: Iterable[list]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


class LeadsExport:
    """The CSV of a filtered list, read from one snapshot and sent as it is read.

    Opening it counts the rows in a snapshot of its own connection (PostgreSQL REPEATABLE
    READ, a SQLite read transaction); `chunks()` then reads them from that same snapshot with
    a server-side cursor, EXPORT_BATCH leads at a time, loading each batch's clinics and
    calls in one query and writing it with the csv module into a small buffer. It needs
    nothing from the request, so the view's context and session end before the download.

    The audit entry is written by the caller once, with `total`, and committed before the
    first byte leaves: the COUNT shares the rows' snapshot, so the number is exact; and a
    download cut short, or a worker killed midway, still leaves an entry, since the data
    may have left the building by then. Writing it when the stream ends would lose it in
    exactly those cases, or need a second entry (the audit table is append-only).
    """

    def __init__(
        self, lead_filter: LeadFilter, now: datetime | None = None, batch: int | None = None
    ):
        self.batch = batch or EXPORT_BATCH
        self.now = now or utcnow()
        self.parts = queries.export_parts(lead_filter, self.now)
        self.connection = _snapshot(db.engine)
        try:
            self.total: int = self.connection.scalar(queries.export_count(lead_filter))
        except BaseException:
            self.close()
            raise

    def chunks(self) -> Iterator[str]:
        """Yield the header, then the CSV lines of each batch; close the snapshot at the end."""
        try:
            yield BOM + csv_lines([CSV_COLUMNS])
            # Every account, once: a few dozen rows, and owners are looked up by id.
            owners = dict(self.connection.execute(sa.select(User.id, User.email)).all())
            next_calls = queries.every_next_call(self.now, self.connection)
            for query in self.parts:
                # A server-side cursor on PostgreSQL, fetchmany on SQLite; for this statement
                # only (the batch queries beside it are ordinary ones).
                streamed = query.execution_options(stream_results=True, yield_per=self.batch)
                with self.connection.execute(streamed) as result:  # closes it if cut short
                    for part in result.partitions():
                        rows = self._rows(part, owners, next_calls)
                        yield csv_lines(csv_row(row) for row in rows)
        finally:
            self.close()

    def _rows(self, part, owners: dict[int, str], next_calls: dict[int, datetime]) -> list[Row]:
        ids = [lead.id for lead in part]
        clinics, calls = queries.clinics_and_calls_by_lead(ids, self.connection)
        return [
            Row(
                lead,
                next_calls.get(lead.id),
                owners.get(lead.owner_id),
                clinics.get(lead.id, []),
                calls.get(lead.id, {}),
            )
            for lead in part
        ]

    def close(self) -> None:
        """End the snapshot and give the connection back (safe to call again)."""
        self.connection.close()


def _snapshot(engine: sa.Engine) -> sa.Connection:
    """Open a connection whose reads all see the database as it was at the first one."""
    connection = engine.connect()
    if connection.dialect.name == "postgresql":
        connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        # Compiling the long read to machine code costs more (0.4 s here) than it saves.
        connection.exec_driver_sql("SET LOCAL jit = off")
    else:  # sqlite3 begins no transaction for a SELECT; in WAL mode this one blocks no writer
        connection.exec_driver_sql("BEGIN")
    return connection


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _columns(obj, skip: tuple[str, ...] = ()) -> dict:
    """Return every stored column of a row as JSON-ready values."""
    attributes = sa.inspect(obj).mapper.column_attrs
    return {a.key: _plain(getattr(obj, a.key)) for a in attributes if a.key not in skip}


def _email(message: OutboxMessage) -> dict:
    keys = ("id", "kind", "recipients", "subject", "status", "created_at", "not_before", "sent_at")
    return {key: _plain(getattr(message, key)) for key in keys}


def subject_access(lead: Lead, bookings: list[Booking], messages: list[OutboxMessage]) -> dict:
    """Return everything stored about the person behind a lead."""
    # E-mails addressed to them; staff notifications repeat the lead's own fields.
    to_them = [m for m in messages if lead.email and lead.email in (m.recipients or [])]
    return {
        "exported_at": utcnow().isoformat(),
        "lead": _columns(lead),
        "bookings": [{**_columns(b), "clinic": b.clinic.name} for b in bookings],
        "events": [_columns(event, skip=("lead_id",)) for event in lead.events],
        "emails": [_email(message) for message in to_them],
    }


def subject_access_json(lead: Lead, bookings: list[Booking], messages: list[OutboxMessage]) -> str:
    return json.dumps(subject_access(lead, bookings, messages), indent=2, ensure_ascii=False)
