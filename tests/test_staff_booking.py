"""Staff booking for a patient on the phone: add the person, book, move and cancel their call."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from clinic import create_app
from clinic.booking import services
from clinic.booking.models import Booking
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.leads import services as leads
from clinic.leads.models import Lead, LeadEvent
from clinic.notifications.models import OutboxMessage
from tests.auth_helpers import ROLE_EMAILS, csrf_token
from tests.booking_helpers import booking_data, first_free_slot
from tests.conftest import app_config
from tests.helpers import soup
from tests.test_admin_pages import ARTICLE, article_table, article_title
from tests.test_leads_admin import audits, book, prepare_users, signed_in, update

STAFF = ROLE_EMAILS["staff"]
CALLER = {
    "name": "Mary Seacole",
    "email": "Mary.Seacole@Example.org",
    "phone": "07911 100009",
    "consent": "y",
}
ADA = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "07911 100001"}


@pytest.fixture
def users(demo):
    return prepare_users(demo)


@pytest.fixture
def staff(users, client):
    return signed_in(client, "staff")


def hidden_fields(page, form: str = "main form") -> dict:
    return {i["name"]: i.get("value", "") for i in page.select(f"{form} input[type=hidden]")}


def add_person(client, **overrides):
    """Post the "Add a person who phoned" form; None in `overrides` drops a field."""
    data = {"csrf_token": csrf_token(client, "/admin/leads/new"), **CALLER, **overrides}
    return client.post("/admin/leads/new", data={k: v for k, v in data.items() if v is not None})


def added_lead(client, **overrides) -> int:
    response = add_person(client, **overrides)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return int(urlsplit(response.headers["Location"]).path.split("/")[3])


def call_form(client, lead_id: int) -> dict:
    """GET the booking page for a lead; return its hidden fields (CSRF, idempotency key)."""
    return hidden_fields(soup(client.get(f"/admin/leads/{lead_id}/calls/new")), "form.booking-form")


def book_by_phone(client, lead_id: int, slot: str, clinic: str = "london", **fields):
    data = {**call_form(client, lead_id), "clinic": clinic, "slot": slot, "action": "book"}
    return client.post(f"/admin/leads/{lead_id}/calls/new", data={**data, **fields})


def booked_by_phone(client, lead_id: int, slot: str, **fields) -> int:
    assert book_by_phone(client, lead_id, slot, **fields).status_code == 303
    return latest_booking_of(client.application, lead_id).id


def latest_booking_of(app, lead_id: int) -> Booking:
    with app.app_context():
        query = sa.select(Booking).where(Booking.lead_id == lead_id).order_by(Booking.id.desc())
        booking = db.session.scalars(query).first()
        db.session.expunge_all()
        return booking


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def flash_text(client, response) -> str:
    page = soup(client.get(response.headers["Location"]))
    return " ".join(page.select_one(".panel-success").get_text().split())


def field_error(response, field_id: str) -> str:
    error = soup(response).select_one(f"#{field_id}-error")
    return " ".join(error.get_text().split()) if error else ""


# ---- Add a person who phoned ----


def test_the_leads_list_links_to_adding_a_person_who_phoned(demo, staff):
    link = soup(staff.get("/admin/leads")).find("a", string="Add a person who phoned")
    assert link["href"] == "/admin/leads/new"
    page = soup(staff.get(link["href"]))
    assert page.select_one("h1").get_text() == "Add a person who phoned"
    for field in ("name", "email", "phone", "consent"):
        assert page.select_one(f'label[for="{field}"]'), field


def test_adding_a_person_who_phoned_writes_lead_consent_audit_and_timeline(demo, staff):
    response = add_person(staff)
    with demo.app_context():
        lead = db.session.scalar(sa.select(Lead))
        assert response.headers["Location"] == f"/admin/leads/{lead.id}/calls/new"
        assert (lead.name, lead.email, lead.phone) == (
            "Mary Seacole",
            "mary.seacole@example.org",
            "+447911100009",
        )
        assert lead.consent_at is not None
        assert lead.consent_text == leads.PHONE_CONSENT_TEXT
        assert "by phone" in lead.consent_text
        assert lead.marketing_opt_in is False
        assert lead.utm_source == "phone"
        assert lead.source_article is None and lead.landing_page is None
        assert [(e.kind, e.actor) for e in lead.events] == [("added", STAFF)]
        lead_id = lead.id
    [created] = audits(demo, "lead_created")
    assert (created.user_email, created.target_id) == (STAFF, lead_id)
    assert "Mary" not in created.detail  # ids only, never the person's details
    assert "Mary Seacole is added" in flash_text(staff, response)
    timeline = soup(staff.get(f"/admin/leads/{lead_id}")).select_one("ol.timeline").get_text()
    assert "Added after a phone call" in timeline and f"by {STAFF}" in timeline


def test_a_known_email_changes_nothing_and_opens_that_lead(demo, staff):
    lead_id = book(demo, staff, ADA, "london", **{"from": ARTICLE})
    response = add_person(staff, name="Someone Else", email="ADA@example.com", phone="07911 100999")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/leads/{lead_id}"
    assert "already exists, so nothing was added or changed" in flash_text(staff, response)
    with demo.app_context():
        lead = db.session.get(Lead, lead_id)
        assert (lead.name, lead.phone, lead.source_article) == (
            "Ada Lovelace",
            "+447911100001",
            ARTICLE,
        )
        assert "privacy notice" in lead.consent_text and "by phone" not in lead.consent_text
        assert [e.kind for e in lead.events] == ["booked"]
    assert count(demo, Lead) == 1
    assert audits(demo, "lead_created") == []


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("email", "not-an-address", "Enter an e-mail address in the right format"),
        ("email", None, "Enter their e-mail address."),
        ("phone", "12345", "Enter a phone number like 07123 456 789"),
        ("phone", "", "Enter a phone number we can call them on."),
        ("name", "A", "Enter the name (2 to 120 characters)."),
        ("name", "x" * 121, "Enter the name (2 to 120 characters)."),
        ("consent", None, "Tick the box once they have agreed"),
    ],
)
def test_bad_details_are_422_with_the_message_at_the_field(demo, staff, field, value, message):
    response = add_person(staff, **{field: value})
    assert response.status_code == 422
    assert message in field_error(response, field)
    page = soup(response)
    assert page.select_one(f"#{field}")["aria-invalid"] == "true"
    summary = page.select_one("#error-summary")
    assert summary["tabindex"] == "-1"
    assert summary.select_one(f'a[href="#{field}"]').get_text().startswith(message[:20])
    if field != "name":
        assert page.select_one("#name")["value"] == CALLER["name"], "what was typed is kept"
    assert count(demo, Lead) == 0


# ---- Who may use these pages ----

NEW_PATHS = [
    "/admin/leads/new",
    "/admin/leads/{lead}/calls/new",
    "/admin/calls/{booking}/move",
    "/admin/calls/{booking}/cancel",
]


@pytest.fixture
def a_phone_booking(demo, users) -> dict:
    client = signed_in(demo.test_client(), "staff")
    lead_id = added_lead(client)
    booking_id = booked_by_phone(client, lead_id, first_free_slot(client))
    return {"lead": lead_id, "booking": booking_id}


@pytest.mark.parametrize("path", NEW_PATHS)
def test_marketers_get_the_403_page(demo, client, a_phone_booking, path):
    signed_in(client, "marketer")
    path = path.format(**a_phone_booking)
    assert client.get(path).status_code == 403
    token = csrf_token(client, "/admin/account/password")
    response = client.post(path, data={"csrf_token": token, **CALLER, "confirm": "yes"})
    assert response.status_code == 403
    assert "Your account cannot open this page" in response.get_data(as_text=True)
    assert count(demo, Lead) == 1
    assert latest_booking_of(demo, a_phone_booking["lead"]).status == "confirmed"


@pytest.mark.parametrize("path", NEW_PATHS)
def test_signed_out_visitors_are_sent_to_sign_in(demo, client, a_phone_booking, path):
    path = path.format(**a_phone_booking)
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=")


# ---- Book a call for a lead ----


def test_staff_book_a_call_with_the_leads_own_details(demo, staff):
    lead_id = book(demo, staff, ADA, "manchester", **{"from": ARTICLE}, utm_source="google")
    with demo.app_context():
        before = db.session.get(Lead, lead_id)
        details = (
            before.name,
            before.email,
            before.phone,
            before.source_article,
            before.utm_source,
            before.landing_page,
        )
        consent = (before.consent_at, before.consent_text)
    slot = first_free_slot(staff, "london", days_ahead=2)
    response = book_by_phone(staff, lead_id, slot, message="  Knee pain after running.  ")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/leads/{lead_id}"
    assert "The call is booked" in flash_text(staff, response)
    with demo.app_context():
        lead = db.session.get(Lead, lead_id)
        assert (
            lead.name,
            lead.email,
            lead.phone,
            lead.source_article,
            lead.utm_source,
            lead.landing_page,
        ) == details
        assert (lead.consent_at, lead.consent_text) == consent, "the online consent stands"
        booking = db.session.scalars(
            sa.select(Booking).where(Booking.clinic.has(slug="london"))
        ).one()
        assert booking.starts_at == datetime.fromisoformat(slot).astimezone(UTC)
        assert booking.message == "Knee pain after running."
        assert booking.source_article is None, "a phone booking credits no article"
        booked = [e for e in lead.events if e.booking_id == booking.id]
        assert [(e.kind, e.actor) for e in booked] == [("booked", STAFF)]
        messages = db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.booking_id == booking.id)
        ).all()
        patient = [m for m in messages if m.kind == "booking.patient"]
        assert [m.recipients for m in patient] == [["ada@example.com"]]
        assert "/book/manage/" in patient[0].text_body
        invite = Calendar.from_ical(patient[0].attachments[0]["data"]).walk("VEVENT")[0]
        assert invite.decoded("dtstart") == booking.starts_at
        [to_staff] = [m for m in messages if m.kind == "booking.staff"]
        assert f"By:       {STAFF} (clinic staff, booked by phone)" in to_staff.text_body
        booking_id = booking.id
    [created] = audits(demo, "booking_created")
    assert (created.user_email, created.target_type, created.target_id) == (
        STAFF,
        "booking",
        booking_id,
    )
    assert f"lead={lead_id}" in created.detail and "Ada" not in created.detail


def test_a_patients_own_booking_still_names_the_patient(demo, staff):
    """The actor argument defaults to the patient: the public form's callers are unchanged."""
    lead_id = book(demo, staff, ADA)
    with demo.app_context():
        [event] = db.session.get(Lead, lead_id).events
        assert (event.kind, event.actor) == ("booked", "patient")
        to_staff = db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind == "booking.staff")
        ).one()
        assert "By:" not in to_staff.text_body


def test_show_free_times_without_javascript(demo, staff):
    lead_id = added_lead(staff)
    page = soup(staff.get(f"/admin/leads/{lead_id}/calls/new"))
    assert page.select_one("button[name=action][value=times]").get_text() == "Show free times"
    assert not page.select("input[name=slot]"), "no clinic chosen yet, so no times"
    day = soup(staff.get("/book?clinic=bedford")).select("select#date option")[2]["value"]
    data = {
        **hidden_fields(page, "form.booking-form"),
        "clinic": "bedford",
        "date": day,
        "message": "Kept message",
        "action": "times",
    }
    response = staff.post(f"/admin/leads/{lead_id}/calls/new", data=data)
    assert response.status_code == 200
    shown = soup(response)
    assert shown.select_one("select#date option[selected]")["value"] == day
    starts = [i["value"] for i in shown.select("input[name=slot]")]
    public = staff.get(f"/book/slots?clinic=bedford&date={day}").json["slots"]
    assert starts == [s["start"] for s in public] and starts
    assert shown.select_one("#clinic-bedford").has_attr("checked")
    assert shown.select_one("#message").get_text().strip() == "Kept message"
    assert not shown.select(".error-summary")
    assert count(demo, Booking) == 0


def test_a_taken_time_is_409_with_the_next_free_times_and_nothing_written(demo, staff):
    lead_id = added_lead(staff)
    slot = first_free_slot(staff, days_ahead=1)
    book(demo, demo.test_client(), ADA, slot=slot)
    with demo.app_context():
        written = (count(demo, Booking), count(demo, LeadEvent), count(demo, OutboxMessage))
    response = book_by_phone(staff, lead_id, slot)
    assert response.status_code == 409
    assert "That time was just taken" in field_error(response, "slot")
    offered = [i["value"] for i in soup(response).select("input[name=slot]")]
    assert offered and slot not in offered and all(o > slot for o in offered)
    assert soup(response).select_one('#error-summary a[href="#slot-alt-0"]')
    assert (count(demo, Booking), count(demo, LeadEvent), count(demo, OutboxMessage)) == written
    assert audits(demo, "booking_created") == []


def test_the_same_form_sent_twice_books_one_call(demo, staff):
    lead_id = added_lead(staff)
    data = {
        **call_form(staff, lead_id),
        "clinic": "london",
        "slot": first_free_slot(staff),
        "action": "book",
    }
    first = staff.post(f"/admin/leads/{lead_id}/calls/new", data=data)
    second = staff.post(f"/admin/leads/{lead_id}/calls/new", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count(demo, Booking) == 1
    assert count(demo, OutboxMessage, OutboxMessage.kind == "booking.patient") == 1
    assert len(audits(demo, "booking_created")) == 1
    update(demo, Booking, latest_booking_of(demo, lead_id).id, status="cancelled")
    later = staff.post(f"/admin/leads/{lead_id}/calls/new", data=data)
    assert "which is now marked “Cancelled”. Nothing new was booked." in flash_text(staff, later)
    assert count(demo, Booking) == 1


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"slot": ""}, "slot", "Choose a time for the call."),
        ({"slot": "tomorrow at nine"}, "slot", "Choose a time from the list."),
        ({"slot": "9999-12-31T23:59:00-23:59"}, "slot", "Choose a time from the list."),
        ({"clinic": "atlantis"}, "clinic", "Choose one of our clinics."),
        ({"clinic": ""}, "clinic", "Choose a clinic."),
        ({"message": "x" * 2001}, "message", "Keep this under 2,000 characters."),
    ],
)
def test_bad_input_is_422_with_the_message_at_the_field(demo, staff, fields, field, message):
    lead_id = added_lead(staff)
    response = book_by_phone(staff, lead_id, **{"slot": first_free_slot(staff), **fields})
    assert response.status_code == 422
    assert message in field_error(response, field)
    assert soup(response).select_one("#error-summary")
    assert count(demo, Booking) == 0


def test_a_time_outside_the_clinics_hours_is_refused(demo, staff):
    lead_id = added_lead(staff)
    slot = first_free_slot(staff)
    response = book_by_phone(staff, lead_id, f"{slot[:11]}03:07{slot[16:]}")
    assert response.status_code == 409
    assert count(demo, Booking) == 0


def test_an_erased_lead_gets_no_call(demo, users, client):
    admin = signed_in(client, "admin")
    lead_id = added_lead(admin)
    page = soup(admin.get(f"/admin/leads/{lead_id}"))
    token = page.select_one("form[action$='/erase'] input[name=csrf_token]")["value"]
    admin.post(f"/admin/leads/{lead_id}/erase", data={"csrf_token": token, "confirm": "y"})
    assert not soup(admin.get(f"/admin/leads/{lead_id}")).find("a", string="Book a call")
    assert admin.get(f"/admin/leads/{lead_id}/calls/new").status_code == 409
    data = {
        "csrf_token": token,
        "clinic": "london",
        "slot": first_free_slot(admin),
        "action": "book",
    }
    response = admin.post(f"/admin/leads/{lead_id}/calls/new", data=data)
    assert response.status_code == 409
    assert "details were erased" in response.get_data(as_text=True)
    assert count(demo, Booking) == 0
    assert count(demo, Lead) == 1, "no new lead from the erased one's empty e-mail"


def test_a_lead_that_does_not_exist_is_404(demo, staff):
    assert staff.get("/admin/leads/999999/calls/new").status_code == 404
    assert staff.get(f"/admin/leads/{2**31}/calls/new").status_code == 404


# ---- Move and cancel ----


@pytest.fixture
def phone_call(demo, staff) -> dict:
    lead_id = added_lead(staff)
    slot = first_free_slot(staff, days_ahead=2)
    return {"lead": lead_id, "booking": booked_by_phone(staff, lead_id, slot), "slot": slot}


def actions_on_lead_page(client, lead_id: int) -> list[str]:
    page = soup(client.get(f"/admin/leads/{lead_id}"))
    return [a["href"] for a in page.select(".call-actions a")]


def test_the_lead_page_offers_move_and_cancel_for_an_upcoming_call(demo, staff, phone_call):
    booking = phone_call["booking"]
    assert actions_on_lead_page(staff, phone_call["lead"]) == [
        f"/admin/calls/{booking}/move",
        f"/admin/calls/{booking}/cancel",
    ]


def test_staff_move_a_call(demo, staff, phone_call):
    path = f"/admin/calls/{phone_call['booking']}/move"
    page = soup(staff.get(path))
    assert page.select_one("input[name=clinic][type=hidden]")["value"] == "london"
    new_slot = first_free_slot(staff, days_ahead=3, skip=2)
    data = {**hidden_fields(page), "slot": new_slot, "action": "move"}
    response = staff.post(path, data=data)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/leads/{phone_call['lead']}"
    assert "The call has moved" in flash_text(staff, response)
    with demo.app_context():
        booking = db.session.get(Booking, phone_call["booking"])
        assert booking.starts_at == datetime.fromisoformat(new_slot).astimezone(UTC)
        assert booking.sequence == 1
        assert [(e.kind, e.actor) for e in booking.lead.events][-1] == ("rescheduled", STAFF)
        moved = db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.subject == "Your discovery call has moved")
        ).one()
        assert moved.recipients == ["mary.seacole@example.org"]
        invite = Calendar.from_ical(moved.attachments[0]["data"]).walk("VEVENT")[0]
        assert int(invite["sequence"]) == 1
    [entry] = audits(demo, "booking_rescheduled")
    assert (entry.user_email, entry.target_id) == (STAFF, phone_call["booking"])
    free = staff.get(f"/book/slots?clinic=london&date={phone_call['slot'][:10]}").json["slots"]
    assert phone_call["slot"] in [s["start"] for s in free], "the old time is free again"


def test_moving_to_a_taken_time_is_409_with_the_next_free_times(demo, staff, phone_call):
    taken = first_free_slot(staff, days_ahead=4)
    book(demo, demo.test_client(), ADA, slot=taken)
    path = f"/admin/calls/{phone_call['booking']}/move"
    data = {**hidden_fields(soup(staff.get(path))), "slot": taken, "action": "move"}
    response = staff.post(path, data=data)
    assert response.status_code == 409
    assert "That time was just taken" in field_error(response, "slot")
    offered = [i["value"] for i in soup(response).select("input[name=slot]")]
    assert offered and taken not in offered
    booking = latest_booking_of(demo, phone_call["lead"])
    assert (booking.starts_at, booking.sequence) == (
        datetime.fromisoformat(phone_call["slot"]).astimezone(UTC),
        0,
    )
    assert audits(demo, "booking_rescheduled") == []


@pytest.mark.parametrize("slot", ["", "garbage", "9999-12-31T23:59:00-23:59"])
def test_moving_to_no_time_is_422(demo, staff, phone_call, slot):
    path = f"/admin/calls/{phone_call['booking']}/move"
    data = {**hidden_fields(soup(staff.get(path))), "slot": slot, "action": "move"}
    response = staff.post(path, data=data)
    assert response.status_code == 422
    assert field_error(response, "slot")
    assert latest_booking_of(demo, phone_call["lead"]).sequence == 0


def test_cancelling_asks_first_then_cancels_and_frees_the_time(demo, staff, phone_call):
    path = f"/admin/calls/{phone_call['booking']}/cancel"
    question = soup(staff.get(path))
    assert question.select_one("main button[type=submit]").get_text() == "Yes, cancel the call"
    assert question.find("a", string="No, keep the call")["href"] == (
        f"/admin/leads/{phone_call['lead']}"
    )
    token = question.select_one("input[name=csrf_token]")["value"]
    asked = staff.post(path, data={"csrf_token": token})
    assert asked.status_code == 200 and "Yes, cancel the call" in asked.get_data(as_text=True)
    assert latest_booking_of(demo, phone_call["lead"]).status == "confirmed"
    response = staff.post(path, data={"csrf_token": token, "confirm": "yes"})
    assert response.status_code == 303
    assert "is cancelled" in flash_text(staff, response)
    with demo.app_context():
        booking = db.session.get(Booking, phone_call["booking"])
        assert booking.status == "cancelled"
        assert [(e.kind, e.actor) for e in booking.lead.events][-1] == ("cancelled", STAFF)
        cancelled = OutboxMessage.subject == "Your discovery call is cancelled"
    assert count(demo, OutboxMessage, cancelled) == 1
    [entry] = audits(demo, "booking_cancelled")
    assert (entry.user_email, entry.target_id) == (STAFF, phone_call["booking"])
    free = staff.get(f"/book/slots?clinic=london&date={phone_call['slot'][:10]}").json["slots"]
    assert phone_call["slot"] in [s["start"] for s in free]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"status": "cancelled"}, "already marked “Cancelled”"),
        ({"status": "done"}, "already marked “Call done”"),
        ({"starts_at": "past"}, "A call that has begun can no longer be moved or cancelled"),
    ],
)
def test_past_or_closed_calls_cannot_be_moved_or_cancelled(
    demo, staff, phone_call, change, message
):
    if change.get("starts_at") == "past":
        change = {"starts_at": utcnow().replace(second=0, microsecond=0) - timedelta(hours=2)}
    update(demo, Booking, phone_call["booking"], **change)
    assert actions_on_lead_page(staff, phone_call["lead"]) == []
    before = latest_booking_of(demo, phone_call["lead"])
    token = csrf_token(staff, "/admin/account/password")
    path = f"/admin/calls/{phone_call['booking']}"
    slot = first_free_slot(staff)
    move = staff.post(f"{path}/move", data={"csrf_token": token, "slot": slot, "action": "move"})
    cancel = staff.post(f"{path}/cancel", data={"csrf_token": token, "confirm": "yes"})
    for response in (move, cancel, staff.get(f"{path}/move")):
        assert response.status_code == 409
        assert message in response.get_data(as_text=True)
    after = latest_booking_of(demo, phone_call["lead"])
    assert (after.status, after.starts_at, after.sequence) == (
        before.status,
        before.starts_at,
        before.sequence,
    )
    assert audits(demo, "booking_rescheduled") == audits(demo, "booking_cancelled") == []


def test_a_call_may_change_until_it_begins():
    class Call:
        status, starts_at = "confirmed", datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        is_active = True
        lead = type("Lead", (), {"erased_at": None})()

    call = Call()
    assert services.can_change(call, now=call.starts_at - timedelta(minutes=1))
    assert not services.can_change(call, now=call.starts_at)
    call.lead.erased_at = call.starts_at
    assert not services.can_change(call, now=call.starts_at - timedelta(days=1))


def test_unknown_calls_are_404(demo, staff):
    for action in ("move", "cancel"):
        assert staff.get(f"/admin/calls/999999/{action}").status_code == 404


# ---- The dashboard ----


def test_phone_bookings_are_not_counted_for_an_article(demo, staff):
    """A lead who came from an article and later phoned: only the web booking is the
    article's; the phone bookings have a row of their own, apart from "(direct)" visits."""
    book(demo, staff, {**ADA, "email": "web@example.com"}, "manchester")  # came to /book directly
    lead_id = book(demo, staff, ADA, "london", **{"from": ARTICLE})
    booked_by_phone(staff, lead_id, first_free_slot(staff, "bedford"), clinic="bedford")
    booked_by_phone(
        staff, added_lead(staff), first_free_slot(staff, "manchester"), clinic="manchester"
    )
    assert count(demo, Booking) == 4
    assert article_table(soup(staff.get("/admin/"))) == {
        article_title(demo): ["1", "0", "0"],
        "(booked by staff on the phone)": ["2", "0", "0"],
        "(direct)": ["1", "0", "0"],
    }


class TableLock:
    """Another connection writing to the bookings for `seconds`: SQLite's write lock, or
    PostgreSQL's EXCLUSIVE lock on the table (reads go on, writes wait)."""

    def __init__(self, app, seconds: float):
        self.app, self.seconds = app, seconds

    def __enter__(self):
        import threading

        with self.app.app_context():
            self.connection = db.engine.raw_connection()
        cursor = self.connection.cursor()
        if self.connection.dbapi_connection.__class__.__module__.startswith("sqlite3"):
            self.connection.dbapi_connection.isolation_level = None
            cursor.execute("BEGIN IMMEDIATE")
        else:
            cursor.execute("LOCK TABLE booking IN EXCLUSIVE MODE")
        self.timer = threading.Timer(self.seconds, self.connection.rollback)
        self.timer.start()
        return self

    def __exit__(self, *_exc):
        self.timer.join()
        self.connection.close()


@pytest.mark.parametrize(("held", "status", "booked"), [(0.25, 303, 1), (2.0, 503, 0)])
@pytest.mark.parametrize("path", ["public", "staff"])
def test_a_lock_held_past_the_timeout_is_waited_out_by_both_forms(
    demo, users, migrated, path, held, status, booked
):
    """The first try gives up on the lock (OperationalError), a later one books: the staff form
    retries as the public one does, through the one booking service. A lock held past every
    try is the 503 page (try again, or phone), with nothing half-written."""
    impatient = create_app(app_config(migrated, CLINIC_LOCK_TIMEOUT_MS=150))
    client = impatient.test_client()
    slot = first_free_slot(client)
    if path == "staff":
        signed_in(client, "staff")
        lead_id = added_lead(client)
        data, url = (
            {**call_form(client, lead_id), "clinic": "london", "slot": slot, "action": "book"},
            f"/admin/leads/{lead_id}/calls/new",
        )
    else:
        data, url = booking_data(client, slot=slot), "/book"
    with TableLock(impatient, seconds=held):
        response = client.post(url, data=data)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert count(demo, Booking) == booked
    assert count(demo, Lead) == (1 if path == "staff" else booked)
    with impatient.app_context():
        db.engine.dispose()
