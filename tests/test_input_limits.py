"""Values past what a date or a database integer can hold: a 4xx or a safe default, never a 500.

9999-12-31 overflows Python's date arithmetic a day (or a UTC offset) later; an id above
2**31 - 1 overflows PostgreSQL's INTEGER ("integer out of range") and one of 25 digits SQLite's.
Also: the pages that list patients record which leads they showed."""

import re

import pytest
import sqlalchemy as sa
from werkzeug.routing import IntegerConverter

from clinic import create_app
from clinic.audit.models import AuditEntry
from clinic.booking import tokens
from clinic.booking.models import Booking
from clinic.booking.picker import parse_slot
from clinic.content import revisions
from clinic.content.models import Article
from clinic.dbtypes import MAX_ID
from clinic.extensions import db
from tests.auth_helpers import csrf_token, login, make_users
from tests.booking_helpers import booking_data, first_free_slot
from tests.conftest import app_config
from tests.helpers import soup

FAR_DAY = "9999-12-31"
FAR_SLOT = "9999-12-31T23:59:00-23:59"  # in UTC this is in the year 10000
HUGE = "1" * 25
JUST_TOO_BIG = str(MAX_ID + 1)  # 2147483648: PostgreSQL's "integer out of range"
OVERSIZED = [HUGE, JUST_TOO_BIG, "9" * 5000]  # the last is more digits than int() will read


@pytest.fixture
def users(demo):
    demo.config["BOOKING_RATE_LIMIT"] = "1000 per minute"
    return make_users(demo)


def signed_in(app, role: str):
    client = app.test_client()
    assert login(client, role).status_code == 303
    return client


def book(app, at: str = "london", **fields) -> int:
    """Book through the public form; return the booking's id."""
    client = app.test_client()
    response = client.post("/book", data=booking_data(client, at=at, **fields))
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.max(Booking.id)))


def lead_of(app, booking_id: int) -> int:
    with app.app_context():
        return db.session.get(Booking, booking_id).lead_id


def audits(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        query = sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list(db.session.scalars(query))


def listed_leads(entry: AuditEntry) -> list[int]:
    found = re.search(r"\bleads=(\S+)", entry.detail)
    assert found, entry.detail
    return [] if found[1] == "none" else [int(n) for n in found[1].split(",")]


def error_text(response) -> str:
    return " ".join(soup(response).select_one(".error-summary").get_text(" ").split())


# ---- public booking ----


@pytest.mark.parametrize(
    "value",
    [FAR_SLOT, "0001-01-01T00:00:00+23:59", "9999-12-31T23:00:00+00:00", "3000-01-06T09:00+00:00"],
)
def test_parse_slot_refuses_times_no_booking_can_have(value):
    assert parse_slot(value) is None


def test_parse_slot_still_reads_a_real_time():
    assert parse_slot("2026-01-05T09:00:00+00:00").isoformat() == "2026-01-05T09:00:00+00:00"


@pytest.mark.parametrize("day", [FAR_DAY, "0001-01-01", "2999-12-31"])
def test_slots_for_a_day_outside_the_horizon_are_none(demo, client, day):
    """The script asks only for days in the picker; any other day simply has no free times
    (as the day after the horizon always had), so the page says so instead of failing."""
    response = client.get(f"/book/slots?clinic=london&date={day}")
    assert response.status_code == 200
    assert response.json == {"slots": []}


def test_slots_json_still_refuses_a_date_it_cannot_read(demo, client):
    response = client.get("/book/slots?clinic=london&date=10000-01-01")
    assert response.status_code == 400
    assert "error" in response.json


@pytest.mark.parametrize("slot", [FAR_SLOT, "9999-12-31T23:00:00+00:00"])
def test_booking_a_time_past_year_9999_is_a_422(demo, client, slot):
    response = client.post("/book", data=booking_data(client, slot=slot))
    assert response.status_code == 422
    assert "Choose a time from the list." in response.get_data(as_text=True)
    with demo.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_moving_a_call_to_a_time_past_year_9999_is_a_422(demo, client):
    booking_id = book(demo, slot=first_free_slot(client, days_ahead=3))
    with demo.app_context():
        manage = f"/book/manage/{tokens.make_token('manage', booking_id)}"
        starts_at = db.session.get(Booking, booking_id).starts_at
    page = soup(client.get(manage))
    token = page.select_one("form[action$='/reschedule'] input[name=csrf_token]")["value"]
    response = client.post(
        manage + "/reschedule", data={"csrf_token": token, "slot": FAR_SLOT, "action": "move"}
    )
    assert response.status_code == 422
    assert "Choose a time from the list." in response.get_data(as_text=True)
    with demo.app_context():
        assert db.session.get(Booking, booking_id).starts_at == starts_at


# ---- ids in URLs ----


def test_every_int_rule_uses_the_bounded_converter(app):
    rules = [r for r in app.url_map.iter_rules() if "<int:" in r.rule]
    assert len(rules) > 10
    for rule in rules:
        numbers = [c for c in rule._converters.values() if isinstance(c, IntegerConverter)]
        assert numbers and all(c.max == MAX_ID for c in numbers), rule.rule


def test_the_converter_is_in_place_before_blueprints_register(migrated):
    """A rule keeps the converter it was added with: a later swap would not reach it."""
    fresh = create_app(app_config(migrated))
    assert fresh.url_map.converters["int"].__name__ == "IdConverter"
    assert fresh.url_map.bind("x").match("/admin/leads/" + str(MAX_ID))[1] == {"lead_id": MAX_ID}


@pytest.mark.parametrize(
    "path",
    [
        "/admin/leads/{}",
        "/admin/leads/{}/export.json",
        "/admin/content/articles/{}",
        "/admin/content/pages/{}",
        "/admin/content/clinics/{}",
        "/admin/content/people/{}",
        "/admin/content/articles/{}/revisions",
        "/admin/content/redirects/{}",
        "/admin/content/images/{}",
    ],
)
def test_a_big_id_in_a_page_url_is_a_404(demo, users, path):
    admin = signed_in(demo, "admin")
    for number in OVERSIZED:
        assert admin.get(path.format(number)).status_code == 404, number


@pytest.mark.parametrize(
    "path",
    [
        "/admin/users/{}/role",
        "/admin/users/{}/deactivate",
        "/admin/leads/{}/status",
        "/admin/leads/{}/erase",
        "/admin/emails/{}/retry",
        "/admin/bookings/{}/outcome",
        "/admin/content/articles/{}/delete",
        "/admin/content/redirects/{}/delete",
    ],
)
def test_a_big_id_in_a_form_url_is_a_404(demo, users, path):
    admin = signed_in(demo, "admin")
    token = csrf_token(admin, "/admin/account/password")
    for number in OVERSIZED:
        response = admin.post(path.format(number), data={"csrf_token": token, "role": "staff"})
        assert response.status_code == 404, number


def test_the_largest_id_still_reaches_the_view(demo, users):
    admin = signed_in(demo, "admin")
    response = admin.get(f"/admin/leads/{MAX_ID}")
    assert response.status_code == 404  # no such lead: the view ran and found nothing
    assert audits(demo, "lead_viewed") == []


def test_a_big_revision_to_compare_is_a_404(demo, users):
    admin = signed_in(demo, "admin")
    with demo.app_context():
        article = db.session.scalar(sa.select(Article).order_by(Article.id).limit(1))
        item, revision = article.id, revisions.record("article", article, "test").id
        db.session.commit()
    base = f"/admin/content/articles/{item}/revisions/compare"
    assert admin.get(f"{base}?a={revision}&b={revision}").status_code == 200
    for number in OVERSIZED:
        assert admin.get(f"{base}?a={number}&b={revision}").status_code == 404, number
        assert admin.get(f"{base}?a={revision}&b={number}").status_code == 404, number


# ---- query-string filters and pages ----


@pytest.mark.parametrize("number", OVERSIZED + ["-5", "0"])
def test_audit_log_refuses_a_target_no_id_can_be(demo, users, number):
    admin = signed_in(demo, "admin")
    response = admin.get(f"/admin/audit?target={number}")
    assert response.status_code == 422
    assert error_text(response)


def test_audit_log_still_finds_the_largest_target(demo, users):
    assert signed_in(demo, "admin").get(f"/admin/audit?target={MAX_ID}").status_code == 200


@pytest.mark.parametrize("path", ["/admin/audit", "/admin/emails", "/admin/leads"])
def test_a_huge_page_number_shows_a_real_page(demo, users, path):
    admin = signed_in(demo, "admin")
    book(demo)  # something to list on every page
    for number in [*OVERSIZED, "1000001", "-3", "x"]:
        response = admin.get(f"{path}?page={number}")
        assert response.status_code == 200, number
        assert soup(response).select("main table tbody tr"), "the last (here the only) page"


def test_emails_past_the_end_show_the_last_page(demo, users):
    staff = signed_in(demo, "staff")
    book(demo)
    staff.get(f"/admin/emails?page={HUGE}")
    assert audits(demo, "emails_viewed")[-1].detail.startswith("status=any page=1 ")


@pytest.mark.parametrize(
    ("query", "refused"),
    [
        (f"from={FAR_DAY}", ["from"]),
        (f"to={FAR_DAY}", ["to"]),
        (f"from={FAR_DAY}&to={FAR_DAY}", ["from", "to"]),
        ("from=0001-01-01", ["from"]),
        (f"from=2026-01-01&to={FAR_DAY}", ["to"]),
    ],
)
def test_agenda_refuses_a_date_no_call_can_be_on(demo, users, query, refused):
    staff = signed_in(demo, "staff")
    response = staff.get(f"/admin/bookings?{query}")
    assert response.status_code == 422
    links = soup(response).select(".error-summary a")
    assert [a["href"] for a in links] == [f"#{name}" for name in refused]
    assert all(a.get_text() == "Enter a date from the year 2000 to 2999." for a in links)
    assert audits(demo, "agenda_viewed") == []


def test_leads_list_ignores_a_date_no_lead_can_have(demo, users):
    response = signed_in(demo, "staff").get(f"/admin/leads?from={FAR_DAY}&to={FAR_DAY}")
    assert response.status_code == 200
    assert "was ignored" in response.get_data(as_text=True)


# ---- who saw which leads ----


def test_dashboard_records_the_leads_whose_calls_it_shows(demo, users):
    first = book(demo, "london")
    second = book(demo, "bedford", name="Bea Bedford", email="bea@example.com")
    staff = signed_in(demo, "staff")
    page = soup(staff.get("/admin/"))
    shown = [
        int(a["href"].rsplit("/", 1)[1])
        for a in page.select("section[aria-labelledby=calls-title] a[href^='/admin/leads/']")
    ]
    assert sorted(shown) == sorted([lead_of(demo, first), lead_of(demo, second)])
    [entry] = audits(demo, "dashboard_viewed")
    assert entry.user_email == "staff@example.test" and entry.target_type == "lead"
    assert listed_leads(entry) == shown
    assert "Ada" not in entry.detail and "example" not in entry.detail


def test_dashboard_records_nothing_for_marketers(demo, users):
    book(demo)
    response = signed_in(demo, "marketer").get("/admin/")
    assert response.status_code == 200
    assert "/admin/leads/" not in response.get_data(as_text=True)  # aggregates only
    assert audits(demo, "dashboard_viewed") == []


def test_dashboard_without_calls_records_nothing(demo, users):
    assert signed_in(demo, "staff").get("/admin/").status_code == 200
    assert audits(demo, "dashboard_viewed") == []


def test_agenda_records_the_leads_it_shows(demo, users):
    client = demo.test_client()
    london = book(demo, "london", slot=first_free_slot(client, "london"))
    bedford = book(
        demo,
        "bedford",
        slot=first_free_slot(client, "bedford"),
        name="Bea Bedford",
        email="bea@example.com",
    )
    staff = signed_in(demo, "staff")
    page = soup(staff.get("/admin/bookings"))
    shown = [int(a["href"].rsplit("/", 1)[1]) for a in page.select("a[href^='/admin/leads/']")]
    assert sorted(shown) == sorted([lead_of(demo, london), lead_of(demo, bedford)])
    [entry] = audits(demo, "agenda_viewed")
    assert sorted(listed_leads(entry)) == sorted(shown)
    assert entry.target_type == "lead" and entry.detail.startswith("clinic=all from=")
    assert "Bea" not in entry.detail and "example" not in entry.detail
    staff.get("/admin/bookings?clinic=bedford")
    assert listed_leads(audits(demo, "agenda_viewed")[-1]) == [lead_of(demo, bedford)]
    staff.get("/admin/bookings?from=2030-01-01")
    assert audits(demo, "agenda_viewed")[-1].detail.endswith(" leads=none")


def test_leads_list_records_the_leads_on_the_page(demo, users):
    booked = book(demo)
    staff = signed_in(demo, "staff")
    staff.get("/admin/leads")
    assert listed_leads(audits(demo, "leads_listed")[-1]) == [lead_of(demo, booked)]
    staff.get("/admin/leads?status=lost")
    assert audits(demo, "leads_listed")[-1].detail == "status=lost leads=none"
