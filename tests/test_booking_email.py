"""Booking e-mails through the outbox to a real SMTP server, and SMTP outages."""

from datetime import timedelta

from icalendar import Calendar

from clinic.dbtypes import utcnow
from clinic.notifications import outbox
from tests.booking_helpers import booking_data, first_free_slot


def _send(app, now=None) -> dict:
    with app.test_request_context():
        return outbox.send_due(now=now)


def _parts(message) -> dict[str, list]:
    found: dict[str, list] = {}
    for part in message.walk():
        found.setdefault(part.get_content_type(), []).append(part)
    return found


def test_staff_and_patient_emails_arrive_with_the_invitation(demo, mail_app, smtp_server, client):
    slot = first_free_slot(client, days_ahead=3)
    response = client.post("/book", data=booking_data(client, slot=slot))
    assert response.status_code == 303
    assert _send(mail_app)["sent"] == 2  # the reminder waits for its time
    staff, patient = sorted(smtp_server.wait_for(2), key=lambda m: m["To"])[::-1]
    assert staff["To"] == "staff@example.test"
    assert patient["To"] == "ada@example.com"
    staff_text = _parts(staff)["text/plain"][0].get_payload(decode=True).decode()
    for detail in (
        "Ada Lovelace",
        "07911 123456",  # as people write it; the HTML part's link dials +447911123456
        "ada@example.com",
        "Lower back pain",
        "ProHealth Clinic London",
        "/admin/leads/",
    ):
        assert detail in staff_text
    assert (
        'href="tel:+447911123456"'
        in _parts(staff)["text/html"][0].get_payload(decode=True).decode()
    )
    patient_parts = _parts(patient)
    assert "text/html" in patient_parts
    patient_text = patient_parts["text/plain"][0].get_payload(decode=True).decode()
    assert "We will phone you on 07911 123456." in patient_text
    assert "/book/manage/" in patient_parts["text/plain"][0].get_payload(decode=True).decode()
    invite = Calendar.from_ical(patient_parts["text/calendar"][0].get_payload(decode=True))
    assert str(invite["method"]) == "REQUEST"
    event = invite.walk("VEVENT")[0]
    assert event.decoded("dtstart").isoformat().startswith(slot[:10])
    assert int(event["sequence"]) == 0
    assert "ada@example.com" in str(event["attendee"])


def test_reminder_goes_out_a_day_before(demo, mail_app, smtp_server, client):
    slot = first_free_slot(client, days_ahead=3)
    client.post("/book", data=booking_data(client, slot=slot))
    _send(mail_app)
    smtp_server.wait_for(2)
    later = utcnow() + timedelta(days=4)
    assert _send(mail_app, now=later)["sent"] == 1
    reminder = smtp_server.wait_for(3)[-1]
    assert "Reminder" in reminder["Subject"]


def test_smtp_down_still_confirms_and_delivers_later_once(demo, mail_app, smtp_server, client):
    smtp_server.stop()
    slot = first_free_slot(client, days_ahead=3)
    response = client.post("/book", data=booking_data(client, slot=slot))
    assert response.status_code == 303
    assert "is booked" in client.get(response.headers["Location"]).get_data(as_text=True)
    result = _send(mail_app)
    assert result["sent"] == 0 and result["retry"] == 2
    smtp_server.start()
    assert _send(mail_app, now=utcnow() + timedelta(minutes=5))["sent"] == 2
    assert _send(mail_app, now=utcnow() + timedelta(minutes=10))["sent"] == 0
    received = smtp_server.wait_for(2)
    assert len(received) == 2
    assert len({m["Message-ID"] for m in received}) == 2
