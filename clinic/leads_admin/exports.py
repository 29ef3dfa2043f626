"""Leads as files: a CSV of the filtered list, and one person's data as JSON (subject access)."""

import csv
import io
import json
from datetime import date, datetime

import phonenumbers
import sqlalchemy as sa

from clinic import uktime
from clinic.booking.models import Booking
from clinic.booking.services import STATUS_LABELS as CALL_LABELS
from clinic.dbtypes import utcnow
from clinic.leads.models import Lead
from clinic.leads_admin.queries import Row
from clinic.notifications.models import OutboxMessage

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


def neutralise(value) -> str:
    """Return the cell as text, with a leading ' when a spreadsheet would read a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def dialable(phone: str | None) -> str:
    """Write a stored E.164 number as a UK office dials it (07911 123456, or 0033 1 23 45 67 89
    abroad): a spreadsheet keeps it as text, with no leading ' to strip before dialling."""
    if not phone:
        return ""
    try:
        number = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return phone
    if number.country_code == 44:  # the UK (and the islands that share its numbering)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return "00" + phonenumbers.format_number(number, international).removeprefix("+")


def uk_time(value: datetime | None) -> str:
    return uktime.spreadsheet(value)


def _calls(counts: dict[str, int]) -> str:
    """Say how the person's calls went, e.g. "Call done 1; Booked 1"."""
    order = ("done", "no_show", "confirmed", "cancelled")
    return "; ".join(f"{CALL_LABELS[s]} {counts[s]}" for s in order if counts.get(s))


def csv_row(row: Row) -> list[str]:
    lead = row.lead
    cells = [
        lead.id,
        uk_time(lead.created_at),
        lead.name,
        lead.email,
        dialable(lead.phone),
        lead.status,
        row.owner,
        "; ".join(row.clinics),
        uk_time(row.next_call),
        _calls(row.calls),
        lead.source_article,
        lead.utm_source,
        lead.utm_medium,
        lead.utm_campaign,
        lead.utm_term,
        lead.utm_content,
        lead.landing_page,
        lead.referrer,
        "yes" if lead.marketing_opt_in else "no",
    ]
    return [neutralise(cell) for cell in cells]


def leads_csv(rows: list[Row]) -> str:
    """Write the rows as CSV, with a byte-order mark so that Excel reads UTF-8 names rightly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_row(row) for row in rows)
    return "\ufeff" + buffer.getvalue()


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
