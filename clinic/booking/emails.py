"""The e-mails a booking sends, written to the outbox in the booking's own transaction."""

from datetime import timedelta

from flask import current_app

from clinic.absolute_urls import absolute_url
from clinic.booking import ics, tokens
from clinic.dbtypes import utcnow
from clinic.notifications import outbox
from clinic.uktime import to_local

REMINDER_BEFORE = timedelta(hours=24)
CHANGE_WORDS = {"booked": "New booking", "rescheduled": "Rescheduled", "cancelled": "Cancelled"}


def _context(booking) -> dict:
    return {
        "booking": booking,
        "lead": booking.lead,
        "clinic": booking.clinic,
        "local_start": to_local(booking.starts_at),
        "manage_url": absolute_url("booking.manage", token=tokens.make_token("manage", booking.id)),
        "admin_url": current_app.config["CLINIC_BASE_URL"] + f"/admin/leads/{booking.lead_id}",
        "site_name": current_app.config["CLINIC_NAME"],
        "site_phone": current_app.config["CLINIC_PHONE"],
        "site_phone_hours": current_app.config["CLINIC_PHONE_HOURS"],
    }


def _invite(booking, method: str) -> list[dict]:
    data = ics.invitation(booking, method)
    content_type = f"text/calendar; method={method}; charset=UTF-8"
    return [{"filename": "invite.ics", "content_type": content_type, "data": data}]


def _notify_staff(booking, change: str, differs: str = "", by: str = "") -> None:
    staff = current_app.config["CLINIC_STAFF_EMAILS"]
    if not staff:
        return
    local = to_local(booking.starts_at)
    subject = (
        f"{CHANGE_WORDS[change]}: discovery call {local:%a %d %b %H:%M}, {booking.clinic.city}"
    )
    outbox.queue_template(
        staff,
        subject,
        "booking_staff",
        {**_context(booking), "change": change, "differs": differs, "by": by},
        kind="booking.staff",
        lead_id=booking.lead_id,
        booking_id=booking.id,
    )


def _queue_reminder(booking) -> None:
    send_at = booking.starts_at - REMINDER_BEFORE
    if send_at <= utcnow():
        return
    outbox.queue_template(
        [booking.lead.email],
        "Reminder: your free discovery call tomorrow",
        "booking_reminder",
        _context(booking),
        kind="booking.reminder",
        lead_id=booking.lead_id,
        booking_id=booking.id,
        not_before=send_at,
    )


def _tell_patient(booking, subject: str, template: str, change: str, method: str) -> None:
    outbox.queue_template(
        [booking.lead.email],
        subject,
        template,
        {**_context(booking), "change": change},
        kind="booking.patient",
        lead_id=booking.lead_id,
        booking_id=booking.id,
        attachments=_invite(booking, method),
    )


def booked(booking, differs: str = "", by: str = "") -> None:
    """Tell staff (with any contact details the form gave that differ from the record, and who
    booked it when a member of staff did) and the patient, and schedule the reminder."""
    _notify_staff(booking, "booked", differs, by)
    _tell_patient(
        booking, "Your free discovery call is booked", "booking_patient", "booked", "REQUEST"
    )
    _queue_reminder(booking)


def rescheduled(booking, by: str = "") -> None:
    """Send the updated invitation (a new SEQUENCE) and move the reminder."""
    outbox.cancel_pending(booking_id=booking.id, kind="booking.reminder")
    _notify_staff(booking, "rescheduled", by=by)
    _tell_patient(
        booking, "Your discovery call has moved", "booking_patient", "rescheduled", "REQUEST"
    )
    _queue_reminder(booking)


def cancelled(booking, by: str = "") -> None:
    """Withdraw the invitation and the reminder, and tell staff."""
    outbox.cancel_pending(booking_id=booking.id, kind="booking.reminder")
    _notify_staff(booking, "cancelled", by=by)
    _tell_patient(
        booking, "Your discovery call is cancelled", "booking_cancelled", "cancelled", "CANCEL"
    )
