"""Booking a discovery call: the form, validation, races, idempotency, manage links, e-mail rows."""

import itertools
import threading
from datetime import UTC, date, datetime, time, timedelta
from time import sleep

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from clinic import create_app
from clinic.booking import services, tokens
from clinic.booking.models import Booking
from clinic.content.models import Clinic, Closure
from clinic.content.seed import seed_demo
from clinic.extensions import db
from clinic.leads.models import Lead, LeadEvent
from clinic.notifications.models import OutboxMessage
from clinic.uktime import UK
from tests.booking_helpers import GOOD, booking_data, first_free_slot, form_fields
from tests.conftest import _empty_tables, app_config
from tests.helpers import soup


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_form_preselects_clinic_and_records_source(demo, client):
    response = client.get("/book?clinic=manchester&from=amitriptyline-for-back-pain")
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    page = soup(response)
    assert page.select_one("#clinic-manchester").has_attr("checked")
    assert page.select_one("input[name=from]")["value"] == "amitriptyline-for-back-pain"
    assert page.select("input[name=slot]"), "times are rendered on the server for the chosen clinic"
    assert page.select_one("input[name=idempotency_key]")["value"]
    assert page.select_one("input[name=csrf_token]")["value"]
    assert page.select_one('a[href="/privacy"]')
    assert not page.select_one("#marketing_opt_in").has_attr("checked")


@pytest.mark.parametrize(
    ("referrer", "source"),
    [
        ("http://localhost/articles/amitriptyline-for-back-pain", "amitriptyline-for-back-pain"),
        ("http://localhost/articles/", ""),
        ("http://localhost/clinics/london", ""),
        ("https://elsewhere.example/articles/amitriptyline-for-back-pain", ""),
    ],
)
def test_the_header_button_still_credits_the_article_just_read(demo, client, referrer, source):
    page = soup(client.get("/book", headers={"Referer": referrer}))
    assert page.select_one("input[name=from]")["value"] == source


def test_show_times_without_javascript(demo, client):
    fields = form_fields(client, "/book")
    day = soup(client.get("/book?clinic=bedford")).select("select#date option")[1]["value"]
    response = client.post(
        "/book",
        data={**fields, "clinic": "bedford", "date": day, "name": "Kept Name", "action": "times"},
    )
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("select#date option[selected]")["value"] == day
    starts = [i["value"] for i in page.select("input[name=slot]")]
    assert starts and all(s.startswith(day) for s in starts)
    assert page.select_one("#name")["value"] == "Kept Name"
    assert not page.select(".error-summary")


def test_slots_json(demo, client):
    start = first_free_slot(client)
    day = start[:10]
    response = client.get(f"/book/slots?clinic=london&date={day}")
    assert response.status_code == 200
    slots = response.json["slots"]
    assert {"start", "label"} == set(slots[0])
    parsed = datetime.fromisoformat(slots[0]["start"])
    assert parsed.utcoffset() is not None
    assert slots[0]["label"] == f"{parsed:%H:%M}"
    assert all(len(s["label"]) == 5 for s in slots)


@pytest.mark.parametrize(
    "query", ["clinic=paris&date=2026-01-01", "clinic=london&date=tomorrow", "clinic=london", ""]
)
def test_slots_json_rejects_bad_input(demo, client, query):
    response = client.get(f"/book/slots?{query}")
    assert response.status_code == 400
    assert "error" in response.json


def test_booking_writes_lead_booking_and_outbox_then_confirms(demo, client):
    slot = first_free_slot(client, days_ahead=3)
    data = booking_data(
        client,
        slot=slot,
        **{
            "from": "amitriptyline-for-back-pain",
            "utm_source": "google",
            "utm_medium": "cpc",
            "utm_campaign": "backpain",
            "landing_page": "/articles/amitriptyline-for-back-pain?utm_source=google",
            "referrer": "https://www.google.com/",
        },
    )
    response = client.post("/book", data=data)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/book/confirmed/")
    with demo.app_context():
        lead = db.session.scalar(sa.select(Lead))
        booking = db.session.scalar(sa.select(Booking))
        assert lead.email == "ada@example.com"
        assert lead.phone == "+447911123456"
        assert lead.name == "Ada Lovelace"
        assert lead.consent_at is not None and "privacy notice" in lead.consent_text
        assert lead.marketing_opt_in is False
        assert (lead.utm_source, lead.utm_medium, lead.utm_campaign) == (
            "google",
            "cpc",
            "backpain",
        )
        assert lead.source_article == "amitriptyline-for-back-pain"
        assert lead.referrer == "https://www.google.com/"
        assert booking.source_article == "amitriptyline-for-back-pain"
        assert booking.starts_at == datetime.fromisoformat(data["slot"]).astimezone(UTC)
        assert booking.clinic.slug == "london"
        assert booking.message == GOOD["message"]
        kinds = sorted(m.kind for m in db.session.scalars(sa.select(OutboxMessage)))
        assert kinds == ["booking.patient", "booking.reminder", "booking.staff"]
        assert [e.kind for e in lead.events] == ["booked"]
    page = client.get(location)
    assert page.status_code == 200
    assert "no-store" in page.headers["Cache-Control"]
    text = " ".join(soup(page).get_text().split())
    assert "Your free discovery call is booked" in text
    assert "ProHealth Clinic London" in text
    local = datetime.fromisoformat(data["slot"])
    assert f"{local:%H:%M}" in text
    manage = soup(page).select_one('a[href^="/book/manage/"]')["href"]
    assert client.get(manage).status_code == 200
    ics = client.get(location + "/invite.ics")
    assert ics.mimetype == "text/calendar"
    event = Calendar.from_ical(ics.data).walk("VEVENT")[0]
    assert event.decoded("dtstart") == booking_start(data)
    assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(minutes=15)


def booking_start(data) -> datetime:
    return datetime.fromisoformat(data["slot"]).astimezone(UTC)


def test_marketing_opt_in_is_recorded_when_ticked(demo, client):
    client.post("/book", data=booking_data(client, marketing_opt_in="y"))
    with demo.app_context():
        assert db.session.scalar(sa.select(Lead.marketing_opt_in)) is True


BAD_FIELDS = [
    ("name", "", "Enter your name"),
    ("name", "x" * 121, "2 to 120 characters"),
    ("email", "not-an-email", "right format"),
    ("email", "", "Enter your e-mail address"),
    ("phone", "12", "phone number like"),
    ("phone", "+44 20", "phone number like"),
    ("phone", "", "phone number we can call"),
    ("message", "m" * 2001, "under 2,000"),
    ("consent", None, "Tick the box"),
    ("clinic", "paris", "one of our clinics"),
    ("clinic", None, "Choose a clinic"),
    ("slot", "tomorrow at nine", "Choose a time from the list"),
    ("slot", "2026-01-01T09:00:00", "Choose a time from the list"),
    ("slot", None, "Choose a time for your call"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_FIELDS)
def test_each_bad_field_gets_a_message_and_keeps_typed_data(demo, client, field, value, message):
    data = booking_data(client, **{field: value})
    response = client.post("/book", data=data)
    assert response.status_code == 422
    page = soup(response)
    summary = page.select_one(".error-summary")
    assert message in summary.get_text()
    assert page.title.string.startswith("Error:")
    field_box = page.select_one(f"#{field}-error") or page.select_one(f"#{field}-choices")
    assert field_box is not None and message in field_box.get_text()
    if field != "name":
        assert page.select_one("#name")["value"] == GOOD["name"]
    with demo.app_context():
        assert _count(Booking) == 0


def test_booking_in_the_past_or_outside_hours_is_refused(demo, client):
    for slot in ("2020-01-06T09:00:00+00:00", first_free_slot(client)[:11] + "20:00:00+00:00"):
        response = client.post("/book", data=booking_data(client, slot=slot))
        assert response.status_code == 409
        assert "do not offer calls at that time" in response.get_data(as_text=True)
        assert "just taken" not in response.get_data(as_text=True)


def test_missing_csrf_token_is_refused(demo, client):
    data = booking_data(client)
    data.pop("csrf_token")
    response = client.post("/book", data=data)
    assert response.status_code == 400
    assert "Nothing was sent" in response.get_data(as_text=True)
    with demo.app_context():
        assert _count(Booking) == 0


def test_honeypot_books_nothing(demo, client):
    response = client.post("/book", data=booking_data(client, website="http://spam.example"))
    assert response.status_code == 400
    with demo.app_context():
        assert _count(Booking) == 0 and _count(Lead) == 0


def test_resubmitted_form_makes_one_booking(demo, client):
    data = booking_data(client)
    first = client.post("/book", data=data)
    second = client.post("/book", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    with demo.app_context():
        assert _count(Booking) == 1
        assert _count(OutboxMessage, OutboxMessage.kind == "booking.staff") == 1


def test_taken_slot_offers_next_times_and_keeps_data(demo, client):
    slot = first_free_slot(client)
    assert client.post("/book", data=booking_data(client, slot=slot)).status_code == 303
    other = demo.test_client()
    response = other.post(
        "/book", data=booking_data(other, slot=slot, name="Grace Hopper", email="grace@example.com")
    )
    assert response.status_code == 409
    page = soup(response)
    assert "That time was just taken" in page.select_one("#slot-error").get_text()
    offered = [i["value"] for i in page.select("input[name=slot]")]
    assert offered and slot not in offered
    assert all(o > slot for o in offered)
    assert page.select_one("#name")["value"] == "Grace Hopper"
    assert page.select_one("#email")["value"] == "grace@example.com"
    # The offered times carry their day: they get tiles wide enough for it.
    assert "times-wide" in page.select_one("[data-times]")["class"]


def test_one_person_is_one_lead_whose_details_a_form_cannot_change(demo, client):
    """Anyone can type anyone's e-mail address: a second booking with other details leaves
    the record alone and tells staff what differs."""
    demo.config["CLINIC_STAFF_EMAILS"] = ["desk@example.com"]
    client.post("/book", data=booking_data(client, slot=first_free_slot(client)))
    other = demo.test_client()
    other.post(
        "/book",
        data=booking_data(
            other,
            slot=first_free_slot(other),
            email="ADA@example.com",
            name="Mallory",
            phone="+44 7911 123999",
        ),
    )
    with demo.app_context():
        assert _count(Lead) == 1
        assert _count(Booking) == 2
        lead = db.session.scalar(sa.select(Lead))
        assert (lead.name, lead.phone) == ("Ada Lovelace", "+447911123456")
        differ = db.session.scalar(sa.select(LeadEvent).where(LeadEvent.kind == "details_differ"))
        assert "Mallory" in differ.detail and "+447911123999" in differ.detail
        staff = db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.kind == "booking.staff")
            .order_by(OutboxMessage.id)
        ).all()
        assert "differ from the record" not in staff[0].text_body
        assert "Mallory" in staff[1].text_body and "differ from the record" in staff[1].text_body


def test_twenty_concurrent_submissions_make_one_booking(demo):
    demo.config["BOOKING_RATE_LIMIT"] = "1000 per minute"
    clients = [demo.test_client() for _ in range(20)]
    slot = first_free_slot(clients[0])
    forms = [
        booking_data(c, slot=slot, email=f"racer{i}@example.com") for i, c in enumerate(clients)
    ]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def race(c, data):
        barrier.wait()
        statuses.append(c.post("/book", data=data).status_code)

    threads = [
        threading.Thread(target=race, args=pair) for pair in zip(clients, forms, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(statuses) == [303] + [409] * 19
    with demo.app_context():
        assert _count(Booking, Booking.status == "confirmed") == 1
        assert _count(Lead) == 1


def _race_one_form(demo, data: dict, cookie: str, racers: int) -> list:
    """Post one form `racers` times at once from one browser session; return the replies."""
    clients = [demo.test_client() for _ in range(racers)]
    for c in clients:
        c.set_cookie("session", cookie)
    barrier = threading.Barrier(racers)
    replies: list = []

    def race(c):
        barrier.wait()
        replies.append(c.post("/book", data=data))

    threads = [threading.Thread(target=race, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return replies


@pytest.mark.parametrize("round_", range(5))
def test_a_form_sent_twenty_times_at_once_answers_every_time_with_its_booking(
    demo, round_, monkeypatch
):
    """A double (or twentyfold) click: one booking, and every reply leads to it, never to
    "that time was just taken" (which would send the patient to book again).

    Each racer pauses a moment after finding no booking with its key, as a busy server does,
    a little longer each, so that
    another racer's booking commits in between: the interleaving that answered 409."""
    demo.config["BOOKING_RATE_LIMIT"] = "1000 per minute"
    lookup, calls = services.booked_with_key, itertools.count()

    def slow_lookup(key):
        found = lookup(key)
        if found is None:
            sleep(0.01 * next(calls))  # racers wake one after another, 10 ms apart
        return found

    monkeypatch.setattr(services, "booked_with_key", slow_lookup)
    first = demo.test_client()
    data = booking_data(first, slot=first_free_slot(first), email=f"twice{round_}@example.com")
    replies = _race_one_form(demo, data, first.get_cookie("session").value, racers=20)
    assert [r.status_code for r in replies] == [303] * 20
    with demo.app_context():
        booked = {tokens.read_token("confirm", r.location.rsplit("/", 1)[1]) for r in replies}
        assert booked == {db.session.scalar(sa.select(Booking.id))}
        assert _count(Booking) == 1


def test_rate_limit_answers_429_with_the_form_and_what_was_typed(demo, client):
    demo.config["BOOKING_RATE_LIMIT"] = "2 per minute"
    fields = {**form_fields(client), "action": "book", "name": "Grace Hopper"}
    assert [client.post("/book", data=fields).status_code for _ in range(2)] == [422, 422]
    response = client.post("/book", data=fields)
    assert response.status_code == 429
    page = soup(response)
    assert "many times in a short while" in page.select_one("#error-summary").get_text()
    assert page.select_one("#name")["value"] == "Grace Hopper"


def test_showing_times_without_javascript_is_not_rate_limited(demo, client):
    """Each "Show free times" press posts the form; browsing days must not lock a patient out."""
    demo.config["BOOKING_RATE_LIMIT"] = "2 per minute"
    fields = {**form_fields(client), "action": "times", "clinic": "london"}
    assert {client.post("/book", data=fields).status_code for _ in range(5)} == {200}
    assert client.post("/book", data={**fields, "action": "book"}).status_code == 422


def test_an_expired_form_comes_back_filled_in_and_books_on_the_next_try(demo, client):
    data = booking_data(client, csrf_token="expired-or-from-another-session")
    response = client.post("/book", data=data)
    assert response.status_code == 400
    page = soup(response)
    assert "Nothing was sent" in page.select_one("#error-summary").get_text()
    assert page.select_one("#name")["value"] == data["name"]
    assert page.select_one("#phone")["value"] == data["phone"]
    with demo.app_context():
        assert _count(Booking) == 0
    fresh = page.select_one("input[name=csrf_token]")["value"]
    assert client.post("/book", data={**data, "csrf_token": fresh}).status_code == 303


def test_error_summary_links_reach_an_input(demo, client):
    fields = {**form_fields(client, "/book"), "action": "book"}
    page = soup(client.post("/book", data=fields))
    targets = [a["href"][1:] for a in page.select("#error-summary a")]
    assert {"clinic-london", "date", "name", "email", "phone", "consent"} <= set(targets)
    for target in targets:
        element = page.find(id=target)
        assert element is not None and element.name in ("input", "select", "textarea"), target


def _book(client) -> tuple[str, str]:
    """Book a slot three days ahead (so a reminder is due); return its manage link."""
    data = booking_data(client, slot=first_free_slot(client, days_ahead=3))
    location = client.post("/book", data=data).headers["Location"]
    manage = soup(client.get(location)).select_one('a[href^="/book/manage/"]')["href"]
    return data["slot"], manage


def _manage_form(client, manage: str) -> dict:
    page = soup(client.get(manage))
    form = page.select_one("form[action$='/reschedule']")
    return {"csrf_token": form.select_one("input[name=csrf_token]")["value"]}


def test_manage_link_reschedules_to_a_free_slot(demo, client):
    slot, manage = _book(client)
    new_slot = first_free_slot(client, days_ahead=3, skip=1)
    assert new_slot != slot
    response = client.post(
        manage + "/reschedule",
        data={**_manage_form(client, manage), "slot": new_slot, "action": "move"},
    )
    assert response.status_code == 303
    with demo.app_context():
        booking = db.session.scalar(sa.select(Booking))
        assert booking.starts_at == datetime.fromisoformat(new_slot).astimezone(UTC)
        assert booking.sequence == 1
        reminders = db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind == "booking.reminder")
        )
        assert sorted(r.status for r in reminders) == ["cancelled", "pending"]
        updates = list(
            db.session.scalars(
                sa.select(OutboxMessage)
                .where(OutboxMessage.kind == "booking.patient")
                .order_by(OutboxMessage.id)
            )
        )
        event = Calendar.from_ical(updates[-1].attachments[0]["data"]).walk("VEVENT")[0]
        assert int(event["sequence"]) == 1
        assert [e.kind for e in db.session.scalars(sa.select(LeadEvent))] == [
            "booked",
            "rescheduled",
        ]
    assert "Your call has moved" in client.get(response.headers["Location"]).get_data(as_text=True)
    # the old slot is free again, the new one is not
    day = slot[:10]
    free = [s["start"] for s in client.get(f"/book/slots?clinic=london&date={day}").json["slots"]]
    assert slot in free and new_slot not in free


def test_manage_link_refuses_a_taken_slot(demo, client):
    _slot, manage = _book(client)
    taken = first_free_slot(client)
    other = demo.test_client()
    other.post("/book", data=booking_data(other, slot=taken, email="other@example.com"))
    response = client.post(
        manage + "/reschedule",
        data={**_manage_form(client, manage), "slot": taken, "action": "move"},
    )
    assert response.status_code == 409
    assert "not free any more" in response.get_data(as_text=True)


def _not_offered_times() -> list[str]:
    """A Sunday morning (every demo clinic is shut) and an hour ago: times no list offers."""
    today = datetime.now(UK).date()
    sunday = today + timedelta(days=(6 - today.weekday()) or 7)
    an_hour_ago = (datetime.now(UK) - timedelta(hours=1)).replace(minute=0, second=0)
    return [datetime.combine(sunday, time(10), UK).isoformat(), an_hour_ago.isoformat()]


@pytest.mark.parametrize("which", ["sunday", "past"])
def test_a_time_the_clinic_does_not_offer_is_not_called_taken(demo, client, which):
    """Only a hand-edited form sends one: say it is no time we offer, not that it was taken."""
    slot = dict(zip(["sunday", "past"], _not_offered_times(), strict=True))[which]
    response = client.post("/book", data=booking_data(client, slot=slot))
    assert response.status_code == 409
    message = soup(response).select_one("#slot-error").get_text()
    assert "do not offer calls at that time" in message
    assert "just taken" not in response.get_data(as_text=True)
    with demo.app_context():
        assert _count(Booking) == 0


def test_moving_to_a_time_not_offered_is_refused_as_such(demo, client):
    _slot, manage = _book(client)
    for slot in _not_offered_times():
        response = client.post(
            manage + "/reschedule",
            data={**_manage_form(client, manage), "slot": slot, "action": "move"},
        )
        assert response.status_code == 409
        assert "do not offer calls at that time" in response.get_data(as_text=True)


def test_the_same_move_sent_twice_answers_moved(demo, client):
    _slot, manage = _book(client)
    new_slot = first_free_slot(client, days_ahead=3, skip=1)
    data = {**_manage_form(client, manage), "slot": new_slot, "action": "move"}
    assert client.post(manage + "/reschedule", data=data).status_code == 303
    again = client.post(manage + "/reschedule", data=data)
    assert again.status_code == 303 and again.location.endswith("done=moved")


def test_manage_link_asks_before_cancelling(demo, client):
    _slot, manage = _book(client)
    response = client.post(manage + "/cancel", data=_manage_form(client, manage))
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("input[name=confirm]")["value"] == "yes"
    assert page.select_one(f'a[href="{manage}"]').get_text() == "No, keep my call"
    with demo.app_context():
        assert db.session.scalar(sa.select(Booking.status)) == "confirmed"


def test_manage_link_cancels_and_frees_the_slot(demo, client):
    slot, manage = _book(client)
    data = {**_manage_form(client, manage), "confirm": "yes"}
    response = client.post(manage + "/cancel", data=data)
    assert response.status_code == 303
    assert "This call is cancelled" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    with demo.app_context():
        booking = db.session.scalar(sa.select(Booking))
        assert booking.status == "cancelled"
        cancel = db.session.scalars(
            sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())
        ).first()
        assert cancel.kind == "booking.patient"
        calendar = Calendar.from_ical(cancel.attachments[0]["data"])
        assert str(calendar["method"]) == "CANCEL"
        staff = db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind == "booking.staff")
        )
        assert any(m.subject.startswith("Cancelled") for m in staff)
    day = slot[:10]
    free = [s["start"] for s in client.get(f"/book/slots?clinic=london&date={day}").json["slots"]]
    assert slot in free


def test_a_cancelled_calls_confirmation_and_calendar_file_say_so(demo, client):
    data = booking_data(client, slot=first_free_slot(client, days_ahead=3))
    confirmation = client.post("/book", data=data).headers["Location"]
    manage = soup(client.get(confirmation)).select_one('a[href^="/book/manage/"]')["href"]
    event = Calendar.from_ical(client.get(confirmation + "/invite.ics").data).walk("VEVENT")[0]
    assert str(event["status"]) == "CONFIRMED"
    description = str(event["description"])
    assert description.endswith("To change or cancel: " + demo.config["CLINIC_BASE_URL"] + manage)
    client.post(manage + "/cancel", data={**_manage_form(client, manage), "confirm": "yes"})
    page = soup(client.get(confirmation))
    assert page.h1.get_text() == "Your discovery call is cancelled"
    assert not page.select('a[href^="/book/manage/"]')
    event = Calendar.from_ical(client.get(confirmation + "/invite.ics").data).walk("VEVENT")[0]
    assert str(event["status"]) == "CANCELLED"


def test_confirmation_shows_the_contact_details_for_an_hour_then_the_link_expires(demo, client):
    confirmation = client.post("/book", data=booking_data(client)).headers["Location"]
    text = client.get(confirmation).get_data(as_text=True)
    assert "07911 123456" in text and "ada@example.com" in text
    with demo.app_context():
        booking = db.session.scalar(sa.select(Booking))
        booking.created_at = datetime.now(UTC) - timedelta(hours=2)
        db.session.commit()
    text = client.get(confirmation).get_data(as_text=True)
    assert "7911" not in text and "ada@example.com" not in text
    with demo.app_context():
        booking = db.session.scalar(sa.select(Booking))
        booking.starts_at = datetime.now(UTC) - timedelta(hours=1)
        db.session.commit()
    assert client.get(confirmation).status_code == 410
    assert client.get(confirmation + "/invite.ics").status_code == 410


@pytest.mark.parametrize("mangle", [lambda t: t[:-2] + "xx", lambda t: "abc", lambda t: t + "a"])
def test_tampered_tokens_reveal_nothing(demo, client, mangle):
    _slot, manage = _book(client)
    token = manage.rsplit("/", 1)[1]
    response = client.get(f"/book/manage/{mangle(token)}")
    assert response.status_code == 404
    assert "Ada" not in response.get_data(as_text=True)


def test_confirm_token_cannot_manage(demo, client):
    data = booking_data(client)
    confirm_token = client.post("/book", data=data).headers["Location"].rsplit("/", 1)[1]
    assert client.get(f"/book/manage/{confirm_token}").status_code == 404


def test_manage_link_expires_after_the_call(demo, client):
    _slot, manage = _book(client)
    with demo.app_context():
        booking = db.session.scalar(sa.select(Booking))
        booking.starts_at = datetime.now(UTC) - timedelta(hours=1)
        db.session.commit()
        token = tokens.make_token("manage", booking.id)
    assert client.get(f"/book/manage/{token}").status_code == 410


def test_closures_remove_the_days_slots(demo, client):
    day = date.fromisoformat(first_free_slot(client)[:10])
    with demo.app_context():
        clinic = db.session.scalar(sa.select(Clinic).where(Clinic.slug == "london"))
        clinic.closures.append(Closure(starts_on=day, ends_on=day, reason="Training day"))
        db.session.commit()
    assert client.get(f"/book/slots?clinic=london&date={day}").json["slots"] == []
    assert client.get(f"/book/slots?clinic=bedford&date={day}").json["slots"]
    assert "Training day" in client.get("/clinics/london").get_data(as_text=True)


def test_a_closure_saved_by_another_worker_reaches_the_next_booking(demo, client, migrated):
    """Each worker keeps its clinics' hours between requests: an edit made in another worker
    (another app on the same database) must still refuse the very next booking for that day."""
    start = first_free_slot(client)
    day = date.fromisoformat(start[:10])
    other_worker = create_app(app_config(migrated))
    with other_worker.app_context():
        clinic = db.session.scalar(sa.select(Clinic).where(Clinic.slug == "london"))
        clinic.closures.append(Closure(starts_on=day, ends_on=day, reason="Boiler repair"))
        db.session.commit()
        db.engine.dispose()
    assert client.get(f"/book/slots?clinic=london&date={day}").json["slots"] == []
    response = client.post("/book", data=booking_data(client, slot=start))
    assert response.status_code == 409
    with demo.app_context():
        assert _count(Booking) == 0


def test_minimum_notice_and_horizon(demo, client):
    now = datetime.now(UTC)
    for day in (now.date(), now.date() + timedelta(days=1)):
        for slot in client.get(f"/book/slots?clinic=london&date={day}").json["slots"]:
            assert datetime.fromisoformat(slot["start"]) >= now + timedelta(hours=2) - timedelta(
                seconds=5
            )
    far = now.date() + timedelta(days=29)
    assert client.get(f"/book/slots?clinic=london&date={far}").json["slots"] == []


def test_a_booking_is_stored_and_confirmed_while_redis_is_down(migrated):
    """Rate limits live in Redis in production; a Redis outage must not cost a booking."""
    app = create_app(
        app_config(
            migrated,
            RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0",
            BOOKING_RATE_LIMIT="2 per minute",
        )
    )
    with app.app_context():
        seed_demo()
        db.session.commit()
    try:
        client = app.test_client()
        response = client.post("/book", data=booking_data(client))
        assert response.status_code == 303
        assert client.get(response.headers["Location"]).status_code == 200
        with app.app_context():
            assert _count(Booking, Booking.status == "confirmed") == 1
        # Meanwhile each worker keeps counting in its own memory: the limit still holds.
        fields = {**form_fields(client), "action": "book"}
        assert [client.post("/book", data=fields).status_code for _ in range(2)] == [422, 429]
    finally:
        with app.app_context():
            db.session.remove()
            _empty_tables()
            db.engine.dispose()
