"""Bank holidays close every clinic unless its editor reopens one; the calendar files follow
iTIP per method; a booking across the summer-time change keeps the clinic's wall-clock time."""

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from icalendar import Calendar

from clinic import create_app, uktime
from clinic.booking.models import Booking
from clinic.content import bank_holidays
from clinic.content.models import Clinic as ClinicRecord
from clinic.content.models import Closure, HolidayOpening, Revision
from clinic.extensions import db
from clinic.notifications import outbox
from clinic.notifications.models import OutboxMessage
from tests.auth_helpers import login, make_users
from tests.booking_helpers import booking_data
from tests.conftest import app_config
from tests.helpers import json_ld, of_type, soup
from tests.test_cli import _fresh_postgres_database
from tests.test_content_admin import editor_post, form_data
from tests.test_staff_booking import added_lead, book_by_phone, field_error

# Friday 4 December 2026, three weeks before Christmas: the 28-day horizon covers it.
DECEMBER = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
CHRISTMAS, SUBSTITUTE_BOXING_DAY = "2026-12-25", "2026-12-28"
# Saturday 20 March 2027: the clocks go forward on Sunday the 28th, Good Friday is the 26th and
# Easter Monday the 29th.
BEFORE_SUMMER_TIME = datetime(2027, 3, 20, 10, 0, tzinfo=UTC)
MIGRATION = "e3b5d7f9a1c2"


@pytest.fixture
def december(demo, clock):
    clock(DECEMBER)
    demo.config["BOOKING_RATE_LIMIT"] = "1000 per minute"
    return demo


def clinic_id(app, slug: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(ClinicRecord.id).where(ClinicRecord.slug == slug))


def day_list(client, path: str = "/book?clinic=london") -> list[str]:
    return [o["value"] for o in soup(client.get(path)).select("select#date option")]


def slots_on(client, day: str, clinic: str = "london") -> list[dict]:
    return client.get(f"/book/slots?clinic={clinic}&date={day}").json["slots"]


def closed_days(response, clinic: str) -> list[tuple[str, str]]:
    """The (validFrom, validThrough) of a clinic's closed-all-day entries in a page's JSON-LD."""
    blocks = json_ld(response)
    clinics = of_type(blocks, "MedicalOrganization")["subOrganization"] if clinic == "*" else None
    entity = clinics[0] if clinics else of_type(blocks, "MedicalClinic")
    return [
        (spec["validFrom"], spec["validThrough"])
        for spec in entity["openingHoursSpecification"]
        if "validFrom" in spec and spec["opens"] == spec["closes"] == "00:00"
    ]


def test_the_library_names_england_and_wales_bank_holidays_offline():
    found = dict(bank_holidays.between(date(2026, 12, 1), date(2027, 1, 31)))
    assert found[date(2026, 12, 25)] == "Christmas Day"
    assert found[date(2026, 12, 28)] == "Boxing Day (substitute day)"
    assert found[date(2027, 1, 1)] == "New Year's Day"
    assert bank_holidays.name_of(date(2026, 12, 24)) is None
    assert bank_holidays.name_of(date(2027, 3, 29)) == "Easter Monday"
    # England and Wales, not Scotland (2 January) nor Northern Ireland (17 March).
    assert bank_holidays.name_of(date(2027, 1, 4)) is None
    assert bank_holidays.name_of(date(2027, 3, 17)) is None


def test_christmas_and_the_substitute_boxing_day_are_not_offered(december, client):
    days = day_list(client)
    assert "2026-12-24" in days and "2026-12-29" in days
    assert CHRISTMAS not in days and SUBSTITUTE_BOXING_DAY not in days
    for slug in ("london", "manchester", "bedford"):
        assert slots_on(client, "2026-12-24", slug)
        assert slots_on(client, CHRISTMAS, slug) == []
        assert slots_on(client, SUBSTITUTE_BOXING_DAY, slug) == []
    # Without JavaScript: "Show free times" for Christmas Day shows another day's times.
    data = {**booking_data(client, slot=None), "date": CHRISTMAS, "action": "times"}
    page = soup(client.post("/book", data=data))
    shown = [i["value"][:10] for i in page.select("input[name=slot]")]
    assert shown and CHRISTMAS not in shown
    assert CHRISTMAS not in [o["value"] for o in page.select("select#date option")]


def test_a_worker_that_runs_for_months_still_closes_the_next_holidays(december, clock, client):
    assert slots_on(client, "2026-12-24") and slots_on(client, CHRISTMAS) == []
    clock(datetime(2027, 3, 1, 10, 0, tzinfo=UTC))  # the clinics were kept from December
    assert slots_on(client, "2027-03-25") and slots_on(client, "2027-03-26") == []  # Good Friday
    assert "2027-03-26" not in day_list(client)


@pytest.mark.parametrize(
    "slot, message",
    [
        ("2026-12-25T10:00:00+00:00", "closed on Friday 25 December, Christmas Day, so no calls"),
        ("2026-12-28T09:00:00+00:00", "closed on Monday 28 December, Boxing Day (substitute day)"),
    ],
)
def test_a_time_posted_on_a_bank_holiday_is_refused_with_its_name(december, client, slot, message):
    response = client.post("/book", data=booking_data(client, slot=slot))
    assert response.status_code == 409
    assert message in field_error(response, "slot")
    offered = [i["value"] for i in soup(response).select("input[name=slot]")]
    assert offered and all(o[:10] not in (CHRISTMAS, SUBSTITUTE_BOXING_DAY) for o in offered)
    with december.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_the_staff_booking_form_offers_no_bank_holiday(december, client):
    make_users(december)
    assert login(client, "staff").status_code == 303
    lead_id = added_lead(client)
    path = f"/admin/leads/{lead_id}/calls/new"
    assert CHRISTMAS not in day_list(client, path)
    page = soup(client.get(path))
    data = {
        i["name"]: i.get("value", "") for i in page.select("form.booking-form input[type=hidden]")
    }
    shown = soup(
        client.post(path, data={**data, "clinic": "london", "date": CHRISTMAS, "action": "times"})
    )
    days = [o["value"] for o in shown.select("select#date option")]
    assert "2026-12-24" in days and CHRISTMAS not in days and SUBSTITUTE_BOXING_DAY not in days
    times = [i["value"][:10] for i in shown.select("input[name=slot]")]
    assert times and CHRISTMAS not in times
    response = book_by_phone(client, lead_id, "2026-12-28T11:00:00+00:00")
    assert response.status_code == 409
    assert "closed on Monday 28 December, Boxing Day" in field_error(response, "slot")


def test_reopening_the_28th_offers_it_at_that_clinic_only(december, client):
    make_users(december)
    assert login(client, "admin").status_code == 303
    london = f"/admin/content/clinics/{clinic_id(december, 'london')}"
    editor = soup(client.get(london))
    box = editor.select_one(f'input[name=holiday_openings][value="{SUBSTITUTE_BOXING_DAY}"]')
    assert not box.has_attr("checked")
    label = editor.select_one(f'label[for="{box["id"]}"]').get_text()
    assert label == "Open on Monday 28 December 2026: Boxing Day (substitute day)"

    response = editor_post(client, london, "save", holiday_openings=SUBSTITUTE_BOXING_DAY)
    assert response.status_code == 303
    assert [s["label"] for s in slots_on(client, SUBSTITUTE_BOXING_DAY)][:1] == ["09:00"]
    assert slots_on(client, SUBSTITUTE_BOXING_DAY, "manchester") == []
    assert slots_on(client, CHRISTMAS) == []
    assert SUBSTITUTE_BOXING_DAY in day_list(client)
    assert SUBSTITUTE_BOXING_DAY not in day_list(client, "/book?clinic=bedford")
    pair = (SUBSTITUTE_BOXING_DAY, SUBSTITUTE_BOXING_DAY)
    assert pair not in closed_days(client.get("/clinics/london"), "london")
    assert pair in closed_days(client.get("/clinics/manchester"), "manchester")
    box = soup(client.get(london)).select_one(f'input[value="{SUBSTITUTE_BOXING_DAY}"]')
    assert box.has_attr("checked")
    with december.app_context():
        revision = db.session.scalars(sa.select(Revision).order_by(Revision.id.desc())).first()
        assert revision.snapshot["holiday_openings"] == [SUBSTITUTE_BOXING_DAY]

    # The reopened day really books, at London; and unticking it closes the day again.
    slot = slots_on(client, SUBSTITUTE_BOXING_DAY)[0]["start"]
    assert client.post("/book", data=booking_data(client, slot=slot)).status_code == 303
    data = {**form_data(client.get(london)), "action": "save"}
    data.pop("holiday_openings")
    assert client.post(london, data=data).status_code == 303
    assert slots_on(client, SUBSTITUTE_BOXING_DAY) == []


def test_the_editor_refuses_a_day_that_is_no_bank_holiday(december, client):
    make_users(december)
    assert login(client, "admin").status_code == 303
    london = f"/admin/content/clinics/{clinic_id(december, 'london')}"
    response = editor_post(client, london, "save", holiday_openings="2026-12-24")
    assert response.status_code == 422
    assert "Tick bank holidays from the list only." in response.get_data(as_text=True)
    assert soup(response).select_one('.error-summary a[href="#holiday_openings"]')


def test_json_ld_and_the_clinic_page_list_the_closures(december, client):
    with december.app_context():
        london = db.session.get(ClinicRecord, clinic_id(december, "london"))
        reason = "Staff training"
        london.closures.append(
            Closure(starts_on=date(2027, 1, 4), ends_on=date(2027, 1, 5), reason=reason)
        )
        db.session.commit()
    response = client.get("/clinics/london")
    closed = closed_days(response, "london")
    assert closed[:4] == [
        (CHRISTMAS, CHRISTMAS),
        ("2026-12-26", "2026-12-26"),
        (SUBSTITUTE_BOXING_DAY, SUBSTITUTE_BOXING_DAY),
        ("2027-01-01", "2027-01-01"),
    ]
    assert ("2027-01-04", "2027-01-05") in closed
    assert ("2027-03-26", "2027-03-26") in closed and ("2027-12-27", "2027-12-27") not in closed
    assert all(first >= "2026-12-04" for first, _ in closed)  # nothing past, a year ahead
    # The organisation's JSON-LD on the home page says the same of each clinic.
    assert closed_days(client.get("/"), "*") == closed
    items = [li.get_text() for li in soup(response).select("#hours-title ~ ul li")]
    assert "25 December 2026: Christmas Day, bank holiday" in items
    assert "4 January 2027 to 5 January 2027: Staff training" in items


def test_the_clinic_page_says_closed_today_on_christmas_day(demo, clock, client):
    clock(datetime(2026, 12, 25, 11, 0, tzinfo=UTC))
    status = soup(client.get("/clinics/london")).select_one("p.status").get_text()
    assert status == "Closed today"


# -- calendar files: iTIP (RFC 5546) per method ----------------------------------------------


def _event(ics: str | bytes):
    calendar = Calendar.from_ical(ics)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return str(calendar["method"]), events[0]


def _patient_invites(app) -> list[str]:
    with app.app_context():
        query = sa.select(OutboxMessage).where(OutboxMessage.kind == "booking.patient")
        return [
            m.attachments[0]["data"] for m in db.session.scalars(query.order_by(OutboxMessage.id))
        ]


def _manage_and_cancel(client, confirmation: str) -> None:
    manage = soup(client.get(confirmation)).select_one('a[href^="/book/manage/"]')["href"]
    token = soup(client.get(manage)).select_one("form[action$='/cancel'] input[name=csrf_token]")
    data = {"csrf_token": token["value"], "confirm": "yes"}
    assert client.post(manage + "/cancel", data=data).status_code == 303


def test_calendar_files_follow_itip_for_each_method(demo, client):
    confirmation = client.post("/book", data=booking_data(client)).headers["Location"]
    method, published = _event(client.get(confirmation + "/invite.ics").data)
    assert method == "PUBLISH"
    assert "ATTENDEE" not in published  # RFC 5546 3.2.1: no ATTENDEE in a PUBLISH
    for name in ("ORGANIZER", "DTSTAMP", "UID", "DTSTART", "SUMMARY"):
        assert name in published, name

    [request] = _patient_invites(demo)
    method, invited = _event(request)
    assert method == "REQUEST"
    assert "ada@example.com" in str(invited["attendee"]) and "ORGANIZER" in invited
    assert int(invited["sequence"]) == 0 and invited["uid"] == published["uid"]

    _manage_and_cancel(client, confirmation)
    method, cancelled = _event(_patient_invites(demo)[-1])
    assert method == "CANCEL" and str(cancelled["status"]) == "CANCELLED"
    assert cancelled["uid"] == invited["uid"]
    assert int(cancelled["sequence"]) > int(invited["sequence"])
    assert "ada@example.com" in str(cancelled["attendee"]) and "ORGANIZER" in cancelled
    # The download of a cancelled call is the CANCEL too, with its attendee.
    method, downloaded = _event(client.get(confirmation + "/invite.ics").data)
    assert method == "CANCEL" and "ATTENDEE" in downloaded


# -- the summer-time change ------------------------------------------------------------------


def test_booking_across_the_summer_time_change(demo, clock, mail_app, smtp_server, client):
    clock(BEFORE_SUMMER_TIME)
    with demo.app_context():  # London opens on Easter Monday, the day after the change
        db.session.add(HolidayOpening(clinic_id=clinic_id(demo, "london"), day=date(2027, 3, 29)))
        db.session.commit()
    days = day_list(client)
    assert {"2027-03-25", "2027-03-27", "2027-03-29", "2027-03-30"} <= set(days)
    assert "2027-03-26" not in days and "2027-03-28" not in days  # Good Friday, a Sunday
    assert "2027-03-29" not in day_list(client, "/book?clinic=manchester")

    before, after = slots_on(client, "2027-03-27"), slots_on(client, "2027-03-29")
    assert before[0] == {"start": "2027-03-27T09:00:00+00:00", "label": "09:00"}
    assert after[0] == {"start": "2027-03-29T09:00:00+01:00", "label": "09:00"}
    assert before[-1]["label"] == after[-1]["label"] == "17:45"
    assert len(before) == len(after) == 36

    confirmation = client.post("/book", data=booking_data(client, slot=after[0]["start"]))
    assert confirmation.status_code == 303
    with demo.app_context():
        assert db.session.scalar(sa.select(Booking.starts_at)) == datetime(
            2027, 3, 29, 8, 0, tzinfo=UTC
        )
    when = "Monday 29 March 2027, 09:00"
    assert (
        when in soup(client.get(confirmation.headers["Location"])).select_one("p.lead").get_text()
    )
    _, event = _event(client.get(confirmation.headers["Location"] + "/invite.ics").data)
    start = event.decoded("dtstart")
    assert start == datetime(2027, 3, 29, 8, 0, tzinfo=UTC)
    assert start.astimezone(uktime.UK).strftime("%H:%M") == "09:00"

    with mail_app.test_request_context():
        assert outbox.send_due()["sent"] == 2  # the staff's and the patient's; the reminder waits
    patient = next(m for m in smtp_server.wait_for(2) if m["To"] == "ada@example.com")
    parts = {part.get_content_type(): part for part in patient.walk()}
    assert f"{when} (UK time)" in parts["text/plain"].get_payload(decode=True).decode()
    _, mailed = _event(parts["text/calendar"].get_payload(decode=True))
    assert mailed.decoded("dtstart") == datetime(2027, 3, 29, 8, 0, tzinfo=UTC)


# -- the migration -----------------------------------------------------------------------------


def test_the_migration_upgrades_and_downgrades(database_url, tmp_path):
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path}/migration.db"
    else:
        url = _fresh_postgres_database(database_url)
    app = create_app(app_config(url))
    with app.app_context():
        upgrade(revision=MIGRATION)
        assert "holiday_opening" in sa.inspect(db.engine).get_table_names()
        downgrade(revision=f"{MIGRATION}-1")
        assert "holiday_opening" not in sa.inspect(db.engine).get_table_names()
        upgrade()
        assert "holiday_opening" in sa.inspect(db.engine).get_table_names()
        db.engine.dispose()
    if not url.startswith("sqlite"):
        admin = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            name = sa.engine.make_url(url).database
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
