"""Calendar invitations (RFC 5545) for a booking: request, update, cancel, or download."""

from flask import current_app
from icalendar import Calendar, Event, vCalAddress, vText

from clinic.absolute_urls import absolute_url
from clinic.booking import tokens
from clinic.dbtypes import utcnow


def invitation(booking, method: str = "REQUEST") -> str:
    """Return the .ics text; METHOD:CANCEL when cancelled, SEQUENCE grows on each change.

    iTIP (RFC 5546) names the patient as ATTENDEE in a REQUEST or CANCEL (the e-mails), and
    forbids one in a PUBLISH (the download, a plain event to keep)."""
    config = current_app.config
    calendar = Calendar()
    calendar.add("prodid", "-//ProHealth Clinic//Discovery call//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", booking.ical_uid)
    event.add("sequence", booking.sequence)
    event.add("dtstamp", utcnow())
    event.add("dtstart", booking.starts_at)
    event.add("dtend", booking.ends_at)
    event.add("summary", f"Free discovery call with {config['CLINIC_NAME']}")
    event.add(
        "description",
        f"{config['CLINIC_NAME']} will phone you on {booking.lead.phone} for a free "
        f"15-minute discovery call ({booking.clinic.name}). "
        f"To change or cancel: "
        f"{absolute_url('booking.manage', token=tokens.make_token('manage', booking.id))}",
    )
    event.add("location", f"Phone call from {booking.clinic.name}")
    cancelled = method == "CANCEL" or booking.status == "cancelled"
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{config['CLINIC_EMAIL']}")
    organizer.params["cn"] = vText(config["CLINIC_NAME"])
    event.add("organizer", organizer)
    if booking.lead.email and method != "PUBLISH":
        attendee = vCalAddress(f"mailto:{booking.lead.email}")
        attendee.params["cn"] = vText(booking.lead.name or "")
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=0)
    calendar.add_component(event)
    return calendar.to_ical().decode()
