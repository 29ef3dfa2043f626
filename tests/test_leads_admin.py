"""Staff leads pipeline: list, filters, search, sort, pages, detail, changes, exports, audit."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from clinic.accounts.models import User
from clinic.audit.models import AuditEntry
from clinic.booking import services as booking_services
from clinic.booking.models import Booking
from clinic.content.models import Clinic
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.leads.models import Lead, LeadEvent
from clinic.leads_admin import exports, queries
from clinic.notifications.models import OutboxMessage
from clinic.uktime import to_local
from tests.auth_helpers import csrf_token, login, make_users
from tests.booking_helpers import booking_data, first_free_slot
from tests.helpers import soup

ADA = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "07911 100001"}
GRACE = {"name": "Grace Hopper", "email": "Grace@Example.org", "phone": "07911 100002"}
# Any signed-in user may open this page: a CSRF token that depends on no other feature.
TOKEN_PAGE = "/admin/account/password"
ALAN = {"name": "Alan Turing", "email": "alan@example.net", "phone": "07911 100003"}


# ---- helpers shared with test_privacy.py ----


def prepare_users(app) -> dict[str, int]:
    """Create a user per role, and let one test book many calls."""
    app.config["BOOKING_RATE_LIMIT"] = "1000 per minute"
    return make_users(app)


def signed_in(client, role: str):
    assert login(client, role).status_code == 303
    return client


@pytest.fixture
def users(demo):
    return prepare_users(demo)


@pytest.fixture
def staff(users, client):
    """The test client, signed in as staff."""
    return signed_in(client, "staff")


@pytest.fixture
def exporter(demo, users, staff):
    """The test client, signed in as staff an admin allowed to export."""
    update(demo, User, users["staff"], may_export=True)
    return staff


def book(app, client, person: dict, at: str = "london", **fields) -> int:
    """Book a call through the public form; return the lead's id."""
    data = booking_data(client, at=at, **person, **fields)
    response = client.post("/book", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    with app.app_context():
        email = person["email"].lower()
        return db.session.scalar(sa.select(Lead.id).where(Lead.email == email))


def update(app, model, row_id: int, **values) -> None:
    with app.app_context():
        db.session.execute(sa.update(model).where(model.id == row_id).values(**values))
        db.session.commit()


def make_leads(app, count: int, prefix: str = "lead", **fields) -> list[int]:
    """Insert `count` leads directly, one minute apart, the first the newest."""
    newest = utcnow() - timedelta(hours=1)
    with app.app_context():
        leads = [
            Lead(
                name=f"Lead {n:03}",
                email=f"{prefix}{n}@example.test",
                phone=f"+4479111{n:05}",
                created_at=newest - timedelta(minutes=n),
                **fields,
            )
            for n in range(count)
        ]
        db.session.add_all(leads)
        db.session.commit()
        return [lead.id for lead in leads]


def audits(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        query = sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list(db.session.scalars(query))


def listed_names(response) -> list[str]:
    assert response.status_code == 200
    cells = soup(response).select("table.leads-table tbody th[scope=row] > a")
    return [cell.get_text(strip=True) for cell in cells]


def form_token(client, lead_id: int, action: str) -> str:
    page = soup(client.get(f"/admin/leads/{lead_id}"))
    return page.select_one(f"form[action$='/{action}'] input[name=csrf_token]")["value"]


def at_uk(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02}:00:00").replace(tzinfo=UTC)


@pytest.fixture
def three(demo, staff):
    """Three leads from the booking form, at three clinics, created on known days."""
    ada = book(
        demo, staff, ADA, "london", **{"from": "amitriptyline-for-back-pain"}, utm_source="google"
    )
    grace = book(demo, staff, GRACE, "manchester", utm_source="facebook")
    alan = book(demo, staff, ALAN, "bedford", **{"from": "does-amitriptyline-relax-muscles"})
    update(demo, Lead, ada, created_at=at_uk("2026-01-10"))
    update(demo, Lead, grace, created_at=at_uk("2026-02-15"), status="contacted")
    update(demo, Lead, alan, created_at=at_uk("2026-03-20"), status="qualified")
    return {"ada": ada, "grace": grace, "alan": alan}


# ---- the list ----


def test_list_is_newest_first_with_counts_per_status(demo, staff, three):
    response = staff.get("/admin/leads")
    assert "no-store" in response.headers["Cache-Control"]
    assert listed_names(response) == ["Alan Turing", "Grace Hopper", "Ada Lovelace"]
    phones = soup(response).select("table.leads-table tbody th[scope=row] a[href^='tel:']")
    assert phones[-1]["href"] == "tel:+447911100001"  # staff call back from the list
    assert phones[-1].get_text() == "07911 100001"
    pipeline = soup(response).select(".pipeline a")
    counts = {" ".join(a.get_text().split()[1:]): a.get_text().split()[0] for a in pipeline}
    assert counts == {
        "All": "3",
        "New": "1",
        "Contacted": "1",
        "Qualified": "1",
        "Treatment booked": "0",
        "Not suitable": "0",
        "Lost": "0",
    }
    contacted = next(a for a in pipeline if "Contacted" in a.get_text())
    assert listed_names(staff.get(contacted["href"])) == ["Grace Hopper"]
    assert soup(staff.get(contacted["href"])).select_one(".pipeline a[aria-current]") is not None


def test_every_filter_has_a_label(demo, staff, three):
    page = soup(staff.get("/admin/leads"))
    form = page.select_one("form.filters")
    assert form["method"] == "get"
    for control in form.select("input, select"):
        assert page.select_one(f"label[for={control['id']}]"), control["name"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=contacted", ["Grace Hopper"]),
        ("clinic=manchester", ["Grace Hopper"]),
        ("clinic=london&status=new", ["Ada Lovelace"]),
        ("from=2026-02-01&to=2026-02-28", ["Grace Hopper"]),
        ("from=01/03/2026", ["Alan Turing"]),
        ("to=10/01/2026", ["Ada Lovelace"]),
        ("article=amitriptyline-for-back-pain", ["Ada Lovelace"]),
        ("utm_source=facebook", ["Grace Hopper"]),
        ("q=hopper", ["Grace Hopper"]),
        ("q=GRACE%40example", ["Grace Hopper"]),
        ("q=07911+100003", ["Alan Turing"]),
        ("q=%2B447911100001", ["Ada Lovelace"]),
        ("q=100002", ["Grace Hopper"]),
        ("q=example", ["Alan Turing", "Grace Hopper", "Ada Lovelace"]),
        ("q=%25", []),
        ("q=_", []),
        ("q=a%25e", []),
    ],
)
def test_filters_and_search(demo, staff, three, query, expected):
    assert listed_names(staff.get(f"/admin/leads?{query}")) == expected


def test_created_dates_are_uk_days(demo, staff, three):
    # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST).
    update(demo, Lead, three["ada"], created_at=datetime(2026, 6, 30, 23, 30, tzinfo=UTC))
    assert listed_names(staff.get("/admin/leads?from=2026-07-01&to=2026-07-01")) == ["Ada Lovelace"]
    assert listed_names(staff.get("/admin/leads?to=2026-06-30&status=new")) == []


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("oldest", ["Ada Lovelace", "Grace Hopper", "Alan Turing"]),
        ("name", ["Ada Lovelace", "Alan Turing", "Grace Hopper"]),
        ("status", ["Ada Lovelace", "Grace Hopper", "Alan Turing"]),
        ("next_call", ["Alan Turing", "Grace Hopper", "Ada Lovelace"]),
        ("newest", ["Alan Turing", "Grace Hopper", "Ada Lovelace"]),
    ],
)
def test_sort(demo, staff, three, sort, expected):
    soon = (utcnow() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    with demo.app_context():
        bookings = {b.lead_id: b.id for b in db.session.scalars(sa.select(Booking))}
    update(demo, Booking, bookings[three["alan"]], starts_at=soon)
    update(demo, Booking, bookings[three["grace"]], starts_at=soon + timedelta(days=1))
    update(demo, Booking, bookings[three["ada"]], status="cancelled")
    assert listed_names(staff.get(f"/admin/leads?sort={sort}")) == expected


def add_call(app, lead_id: int, starts_at: datetime, status: str = "confirmed") -> int:
    with app.app_context():
        clinic_id = db.session.scalar(sa.select(Clinic.id).order_by(Clinic.id))
        booking = Booking(lead_id=lead_id, clinic_id=clinic_id, starts_at=starts_at, status=status)
        db.session.add(booking)
        db.session.commit()
        return booking.id


def test_next_call_sort_pages_through_calls_then_the_rest(demo, staff):
    ids = make_leads(demo, 30)
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    add_call(demo, ids[20], hour + timedelta(days=2))
    soonest = add_call(demo, ids[10], hour + timedelta(days=1))
    add_call(demo, ids[5], hour - timedelta(hours=2))  # past and never marked done: not ahead
    add_call(demo, ids[3], hour + timedelta(hours=5), status="cancelled")
    rest = [f"Lead {n:03}" for n in range(30) if n not in (10, 20)]  # newest first
    first = listed_names(staff.get("/admin/leads?sort=next_call"))
    second = listed_names(staff.get("/admin/leads?sort=next_call&page=2"))
    assert first + second == ["Lead 010", "Lead 020", *rest], "no lead skipped or repeated"
    assert len(first) == 25
    assert listed_names(staff.get("/admin/leads?sort=next_call&status=lost")) == []
    with demo.test_request_context():  # cancelled through the service: no call ahead now
        booking_services.cancel_call(db.session.get(Booking, soonest), actor="staff@example.test")
    first = listed_names(staff.get("/admin/leads?sort=next_call"))
    assert first[:2] == ["Lead 020", "Lead 000"]


def test_name_sort_pages_through_names_in_any_case_then_the_erased(demo, staff):
    ids = make_leads(demo, 30)
    with demo.app_context():
        leads = {lead.id: lead for lead in db.session.scalars(sa.select(Lead))}
        leads[ids[7]].name = "aaron lower-case"  # sorted as A, not after every capital
        leads[ids[12]].name = "Zoe Last"
        for n in (2, 3):  # erased: no name, shown last, oldest id first
            leads[ids[n]].name = None
            leads[ids[n]].erased_at = utcnow()
        db.session.commit()
        keys = dict(db.session.execute(sa.select(Lead.id, Lead.name_key)).all())
    assert keys[ids[7]] == "aaron lower-case" and keys[ids[12]] == "zoe last"
    assert keys[ids[2]] is None, "the database keeps the key with the name"
    first = soup(staff.get("/admin/leads?sort=name"))
    second = soup(staff.get("/admin/leads?sort=name&page=2"))
    rows = [
        row.select_one("th[scope=row] > a")["href"]
        for page in (first, second)
        for row in page.select("table.leads-table tbody tr")
    ]
    named = sorted((n for n in range(30) if n not in (2, 3, 7, 12)), key=lambda n: f"{n:03}")
    expected = [ids[7], *(ids[n] for n in named), ids[12], ids[2], ids[3]]
    assert rows == [f"/admin/leads/{lead_id}" for lead_id in expected], "none skipped or repeated"
    lost = listed_names(staff.get("/admin/leads?sort=name&status=lost"))
    assert lost == []
    update(demo, Lead, ids[12], name="Abigail Renamed")
    renamed = listed_names(staff.get("/admin/leads?sort=name"))
    assert renamed[:2] == ["aaron lower-case", "Abigail Renamed"], "the key follows the name"


def test_a_broad_search_is_counted_only_up_to_the_limit(demo, staff, monkeypatch):
    monkeypatch.setattr(queries, "SEARCH_COUNT_LIMIT", 25)
    ids = make_leads(demo, 30)
    for lead_id in ids[:3]:
        update(demo, Lead, lead_id, status="lost")
    page = soup(staff.get("/admin/leads?q=example"))
    assert page.select(".pipeline .stat") == [], "not counted per status"
    assert "more than 25 leads match" in page.select_one(".pipeline-summary").get_text()
    shown = " ".join(page.select_one("#results-count").get_text().split())
    assert shown.startswith("Showing 1 to 25 of more than 25 matches (page 1 of 1")
    assert len(listed_names(staff.get("/admin/leads?q=example"))) == 25
    lost = soup(staff.get("/admin/leads?q=example&status=lost"))
    shown = " ".join(lost.select_one("#results-count").get_text().split())
    assert shown == "Showing 1 to 3 of 3 leads.", "a status within the limit is counted exactly"
    assert listed_names(staff.get("/admin/leads?q=example&status=lost")) == [
        "Lead 000",
        "Lead 001",
        "Lead 002",
    ]
    one = soup(staff.get("/admin/leads?q=lead7%40"))
    assert [stat.get_text() for stat in one.select(".pipeline .stat")] == ["1", "1", *"00000"]


def test_status_sort_pages_through_each_status_in_turn(demo, staff):
    ids = make_leads(demo, 30)
    statuses = {0: "lost", 1: "contacted", 2: "new"}
    for n, lead_id in enumerate(ids):
        update(demo, Lead, lead_id, status=statuses[n % 3])
    order = ["new", "contacted", "lost"]  # pipeline order, newest first within each
    expected = [f"Lead {n:03}" for s in order for n in range(30) if statuses[n % 3] == s]
    first = listed_names(staff.get("/admin/leads?sort=status"))
    second = listed_names(staff.get("/admin/leads?sort=status&page=2"))
    assert first + second == expected and len(first) == 25
    contacted = listed_names(staff.get("/admin/leads?sort=status&status=contacted"))
    assert contacted == [name for name in expected if int(name[-3:]) % 3 == 1]


def test_large_counts_are_kept_a_minute_and_say_when(demo, staff):
    demo.config["CLINIC_FIGURES_CACHE_SECONDS"] = 60
    demo.extensions["figure_cache"].seconds = 60
    with demo.app_context():
        demo.extensions["figure_cache"].clear()
    queries.FRESH_BELOW, before = 10, queries.FRESH_BELOW
    try:
        make_leads(demo, 12)
        page = soup(staff.get("/admin/leads"))
        assert "Counts as of" in page.select_one(".counts-as-of").get_text()
        assert page.select_one(".counts-as-of time")["datetime"]
        make_leads(demo, 1, prefix="later")
        response = staff.get("/admin/leads")
        all_count = soup(response).select_one(".pipeline a .stat").get_text()
        assert all_count == "12", "the kept count, with its time shown"
        assert len(listed_names(response)) == 13, "the list itself is current"
        searched = soup(staff.get("/admin/leads?q=later"))
        assert not searched.select_one(".counts-as-of"), "searches are counted afresh"
        assert searched.select_one(".pipeline a .stat").get_text() == "1"
    finally:
        queries.FRESH_BELOW = before


def test_pagination(demo, staff):
    make_leads(demo, 60)
    first = staff.get("/admin/leads")
    names = listed_names(first)
    assert len(names) == 25 and names[0] == "Lead 000" and names[-1] == "Lead 024"
    page = soup(first)
    current = page.select_one(".pagination a[aria-current=page]")
    assert " ".join(current.get_text().split()) == "Page 1"
    links = {" ".join(a.get_text().split()): a["href"] for a in page.select(".pagination a")}
    assert set(links) == {"Page 1", "Page 2", "Page 3", "Next page"}
    third = staff.get(links["Page 3"])
    assert listed_names(third)[0] == "Lead 050" and len(listed_names(third)) == 10
    assert "Showing 51 to 60 of 60 leads" in " ".join(soup(third).get_text().split())
    filtered = soup(staff.get("/admin/leads?q=Lead+0&sort=oldest"))
    next_link = filtered.select_one(".pagination a[rel=next]")["href"]
    last_shown = filtered.select("table.leads-table tbody th[scope=row] > a")[-1]["href"]
    assert parse_qs(urlsplit(next_link).query) == {
        "q": ["Lead 0"],
        "sort": ["oldest"],
        "page": ["2"],
        "after": [last_shown.rsplit("/", 1)[1]],  # the page after the last lead shown
    }


def lead_ids(response) -> list[int]:
    cells = soup(response).select("table.leads-table tbody th[scope=row] > a")
    return [int(cell["href"].rsplit("/", 1)[1]) for cell in cells]


def follow(staff, url: str, rel: str) -> str | None:
    link = soup(staff.get(url)).select_one(f".pagination a[rel={rel}]")
    return link["href"] if link else None


@pytest.mark.parametrize("sort", ["newest", "oldest", "name", "status", "next_call"])
def test_next_and_previous_page_from_a_lead_as_numbered_pages_do(demo, staff, sort):
    ids = make_leads(demo, 70)
    statuses = ("new", "lost", "contacted", "qualified")
    for n, lead_id in enumerate(ids):
        update(demo, Lead, lead_id, status=statuses[n % 4])
    update(demo, Lead, ids[9], name=None, erased_at=utcnow())
    update(demo, Lead, ids[40], name=None, erased_at=utcnow())
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    for i, n in enumerate((33, 3, 66)):  # soonest first: 33, 3, 66
        add_call(demo, ids[n], hour + timedelta(days=1 + i, hours=i))
    numbered = [lead_ids(staff.get(f"/admin/leads?sort={sort}&page={page}")) for page in (1, 2, 3)]
    assert [len(page) for page in numbered] == [25, 25, 20]
    url, walked, links = f"/admin/leads?sort={sort}", [], []
    while url:
        walked.append(lead_ids(staff.get(url)))
        url = follow(staff, url, "next")
        links += [url] if url else []
    assert walked == numbered, "Next reads the same pages, none skipped or repeated"
    assert len(links) == 2 and all("after=" in link for link in links)
    back = follow(staff, follow(staff, f"/admin/leads?sort={sort}&page=3", "prev"), "prev")
    assert "before=" in back and lead_ids(staff.get(back)) == numbered[0]
    # One more lead that sorts first: numbered pages move down one, Next pages do not.
    (first,) = make_leads(demo, 1, prefix="first")
    early = utcnow() - timedelta(days=3000)
    update(
        demo, Lead, first, name="Aaron First", **({"created_at": early} if sort == "oldest" else {})
    )
    if sort == "next_call":
        add_call(demo, first, hour + timedelta(hours=20))
    assert lead_ids(staff.get(f"/admin/leads?sort={sort}"))[0] == first
    assert [lead_ids(staff.get(link)) for link in links] == numbered[1:]
    # A link from a lead the list no longer holds (here: not lost) shows the page by number.
    lost = f"/admin/leads?sort={sort}&status=lost"
    assert lead_ids(staff.get(f"{lost}&after={ids[0]}")) == lead_ids(staff.get(lost)) != []


def test_next_goes_on_from_the_lead_shown_when_new_leads_arrive(demo, staff):
    ids = make_leads(demo, 30)
    first = staff.get("/admin/leads")
    assert lead_ids(first) == ids[:25]
    next_url = soup(first).select_one(".pagination a[rel=next]")["href"]
    make_leads(demo, 3, prefix="newer")  # three more at the top: every row moves down three
    assert lead_ids(staff.get(next_url)) == ids[25:], "the rest, none shown twice"
    assert lead_ids(staff.get("/admin/leads?page=2"))[:3] == ids[22:25], "as an offset would"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=bogus", "There is no status"),
        ("clinic=atlantis", "There is no clinic"),
        ("from=31/02/2026", "must be a date"),
        ("to=yesterday", "must be a date"),
        ("from=0001-01-01", "must be a date"),
        ("to=9999-12-31", "must be a date"),
        ("from=2026-03-01&to=2026-01-01", "swapped"),
        ("page=abc", None),
        ("page=-3", None),
        ("page=%C2%B2", None),
        ("page=99999999999999999999999999999999", None),
        ("after=abc", None),
        ("before=99999999999999999999999999999999&page=2", None),
        ("after=-1&sort=next_call", None),
        ("sort=name;drop+table+lead", None),
        ("q=" + "x" * 5000, None),
        ("q=%27%22%25_", None),
    ],
)
def test_bad_query_values_never_fail(demo, exporter, three, query, message):
    response = exporter.get(f"/admin/leads?{query}")
    assert response.status_code == 200
    notice = soup(response).select_one(".notice")
    if message:
        assert message in notice.get_text()
    else:
        assert notice is None
    assert exporter.get(f"/admin/leads.csv?{query}").status_code == 200


def test_a_nul_byte_in_the_search_is_a_clear_400(demo, staff):
    """PostgreSQL text cannot hold NUL: the app refuses it before any query, on every route."""
    assert staff.get("/admin/leads?q=%00%27%22").status_code == 400


def test_a_page_past_the_end_shows_the_last_page(demo, staff):
    make_leads(demo, 30)
    names = listed_names(staff.get("/admin/leads?page=99999999999"))
    assert names == [f"Lead {n:03}" for n in range(25, 30)]


def test_listing_is_audited_without_personal_data(demo, staff, three, users):
    staff.get("/admin/leads?q=Ada+Lovelace&status=new&clinic=london&sort=name")
    [entry] = audits(demo, "leads_listed")
    assert entry.user_id == users["staff"] and entry.ip_address == "127.0.0.1"
    assert entry.detail == f"status=new clinic=london sort=name search=yes leads={three['ada']}"
    assert "Ada" not in entry.detail


def test_erased_leads_show_as_erased(demo, staff, three):
    update(demo, Lead, three["ada"], name=None, email=None, phone=None, erased_at=utcnow())
    assert f"Erased lead #{three['ada']}" in listed_names(staff.get("/admin/leads"))


# ---- one lead ----


def test_detail_shows_contact_calls_attribution_consent_and_timeline(demo, staff, users):
    lead_id = book(
        demo,
        staff,
        ADA,
        "manchester",
        slot=first_free_slot(staff, "manchester", days_ahead=3),
        marketing_opt_in="y",
        utm_source="google",
        utm_medium="cpc",
        utm_campaign="backpain",
        utm_term="amitriptyline",
        utm_content="ad-1",
        landing_page="/articles/amitriptyline-for-back-pain?utm_source=google",
        referrer="https://www.google.com/",
        **{"from": "amitriptyline-for-back-pain"},
    )
    with demo.app_context():
        messages = list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))
        booking = db.session.scalar(sa.select(Booking))
        starts = booking.starts_at
    update(demo, OutboxMessage, messages[0].id, status="sent", sent_at=utcnow())
    update(demo, OutboxMessage, messages[1].id, status="failed")
    response = staff.get(f"/admin/leads/{lead_id}")
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    page = soup(response)
    text = " ".join(page.get_text().split())
    assert page.h1.get_text(strip=True) == "Ada Lovelace"
    assert page.select_one('a[href="tel:+447911100001"]')
    assert page.select_one('a[href="mailto:ada@example.com"]')
    local = to_local(starts)
    assert f"{local:%A} {local.day} {local:%B %Y}, {local:%H:%M}" in text
    assert "ProHealth Clinic Manchester" in text and "Booked" in text
    assert "Lower back pain for two years." in text
    for value in (
        "amitriptyline-for-back-pain",
        "https://www.google.com/",
        "cpc",
        "backpain",
        "amitriptyline",
        "ad-1",
        "/articles/amitriptyline-for-back-pain?utm_source",
    ):
        assert value in text, value
    assert "privacy notice" in text and "Yes, opted in" in text
    timeline = [" ".join(li.get_text().split()) for li in page.select(".timeline li")]
    assert timeline[0].startswith("Booked a call")
    emails = [line for line in timeline if line.startswith("E-mail to")]
    assert len(emails) == 3
    assert any("sent." in line for line in emails) and any("failed" in line for line in emails)
    assert any("waiting to be sent" in line for line in emails)
    labels = [o.get_text() for o in page.select("select#status option")]
    assert labels == ["New", "Contacted", "Qualified", "Treatment booked", "Not suitable", "Lost"]
    [viewed] = audits(demo, "lead_viewed")
    assert (viewed.user_id, viewed.target_type, viewed.target_id) == (
        users["staff"],
        "lead",
        lead_id,
    )
    assert viewed.user_email == "staff@example.test" and viewed.ip_address == "127.0.0.1"


def test_unknown_lead_is_404(demo, exporter):
    assert exporter.get("/admin/leads/999").status_code == 404
    assert exporter.get("/admin/leads/999/export.json").status_code == 404
    token = csrf_token(exporter, TOKEN_PAGE)
    assert (
        exporter.post("/admin/leads/999/notes", data={"csrf_token": token, "note": "x"}).status_code
        == 404
    )


def test_owner_choices_are_active_staff_and_admins(demo, staff, users, runner):
    runner.invoke(args=["users", "deactivate", "admin@example.test"])
    lead_id = make_leads(demo, 1)[0]
    options = soup(staff.get(f"/admin/leads/{lead_id}")).select("select#owner option")
    assert [(o["value"], o.get_text()) for o in options] == [
        ("", "Nobody"),
        (str(users["staff"]), "staff@example.test"),
    ]


def test_status_owner_and_note_create_events_and_audit(demo, staff, users):
    lead_id = book(demo, staff, ADA)
    data = {
        "csrf_token": form_token(staff, lead_id, "status"),
        "status": "contacted",
        "owner": str(users["staff"]),
    }
    response = staff.post(f"/admin/leads/{lead_id}/status", data=data)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/leads/{lead_id}#pipeline"
    note = "Called back: wants the Manchester clinic.\nTry again Friday."
    data = {"csrf_token": form_token(staff, lead_id, "notes"), "note": f"  {note}  "}
    response = staff.post(f"/admin/leads/{lead_id}/notes", data=data)
    assert response.status_code == 303
    with demo.app_context():
        lead = db.session.get(Lead, lead_id)
        assert (lead.status, lead.owner_id) == ("contacted", users["staff"])
        events = [(e.kind, e.detail, e.actor) for e in lead.events]
    assert events[1:] == [
        (
            "status",
            "Status: New → Contacted; Owner: nobody → staff@example.test",
            "staff@example.test",
        ),
        ("note", note, "staff@example.test"),
    ]
    changed = audits(demo, "lead_changed")
    assert [e.detail for e in changed] == [
        f"status new→contacted; owner_id none→{users['staff']}",
        f"note added ({len(note)} characters)",
    ]
    assert all(e.target_id == lead_id and e.user_id == users["staff"] for e in changed)
    assert all(e.ip_address == "127.0.0.1" for e in changed)
    page = soup(staff.get(f"/admin/leads/{lead_id}"))
    timeline = " ".join(page.select_one(".timeline").get_text().split())
    assert "Try again Friday." in timeline and "by staff@example.test" in timeline
    assert page.select_one("select#status option[selected]")["value"] == "contacted"
    same = {
        "csrf_token": form_token(staff, lead_id, "status"),
        "status": "contacted",
        "owner": str(users["staff"]),
    }
    staff.post(f"/admin/leads/{lead_id}/status", data=same)
    assert len(audits(demo, "lead_changed")) == 2, "no change, no event"


@pytest.mark.parametrize(
    ("action", "fields", "field_id", "message"),
    [
        ("status", {"status": "won", "owner": ""}, "status", "Choose a status from the list."),
        ("status", {"status": "new", "owner": "9999"}, "owner", "Choose an owner from the list."),
        ("status", {"status": "new", "owner": "marketer"}, "owner", "Choose an owner"),
        ("notes", {"note": ""}, "note", "Write the note before saving it."),
        ("notes", {"note": "   \n "}, "note", "Write the note before saving it."),
        ("notes", {"note": "x" * 5001}, "note", "5,000 characters or fewer"),
    ],
)
def test_bad_input_is_422_with_the_message_next_to_the_field(
    demo, staff, users, action, fields, field_id, message
):
    lead_id = make_leads(demo, 1)[0]
    if fields.get("owner") == "marketer":
        fields = {**fields, "owner": str(users["marketer"])}
    data = {"csrf_token": form_token(staff, lead_id, action), **fields}
    response = staff.post(f"/admin/leads/{lead_id}/{action}", data=data)
    assert response.status_code == 422
    page = soup(response)
    assert message in page.select_one(f"#{field_id}-error").get_text()
    assert page.select_one(f"#{field_id}")["aria-invalid"] == "true"
    assert page.select_one(f".error-summary a[href='#{field_id}']")
    assert page.title.get_text().startswith("Error:")
    with demo.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LeadEvent)) == 0
    assert audits(demo, "lead_changed") == []


def test_forms_need_a_csrf_token(demo, staff):
    lead_id = make_leads(demo, 1)[0]
    response = staff.post(f"/admin/leads/{lead_id}/notes", data={"note": "hello"})
    assert response.status_code == 400


# ---- exports ----

EVIL_NAMES = ["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(1)", '=HYPERLINK("http://evil")']


def read_csv(response) -> list[dict]:
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_csv_respects_the_filter_and_neutralises_formulas(demo, exporter, users):
    for n, name in enumerate(EVIL_NAMES):
        person = {"name": name, "email": f"evil{n}@example.com", "phone": f"07911 20000{n}"}
        book(demo, exporter, person, utm_source="evil")
    book(demo, exporter, GRACE, "manchester", utm_source="facebook")
    response = exporter.get("/admin/leads.csv?utm_source=evil&sort=oldest")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="leads-')
    assert "no-store" in response.headers["Cache-Control"]
    rows = read_csv(response)
    assert [row["name"] for row in rows] == ["'" + name for name in EVIL_NAMES]
    assert [row["phone"] for row in rows] == [f"07911 20000{n}" for n in range(len(EVIL_NAMES))]
    assert {row["calls"] for row in rows} == {"Booked 1"}
    assert list(rows[0]) == list(exports.CSV_COLUMNS)
    assert {row["utm_source"] for row in rows} == {"evil"}
    assert {row["clinic"] for row in rows} == {"ProHealth Clinic London"}
    [grace] = read_csv(exporter.get("/admin/leads.csv?q=grace"))
    assert (grace["email"], grace["status"], grace["marketing opt-in"]) == (
        "grace@example.org",
        "new",
        "no",
    )
    assert grace["next call (UK time)"] and grace["created (UK time)"][:4] == "2026"
    [exported, _grace] = audits(demo, "leads_exported")
    assert exported.detail == "utm_source=evil sort=oldest rows=5"
    assert exported.user_id == users["staff"] and exported.ip_address == "127.0.0.1"


def test_csv_has_every_page(demo, exporter):
    make_leads(demo, 60)
    rows = read_csv(exporter.get("/admin/leads.csv?page=2"))
    assert [row["name"] for row in rows] == [f"Lead {n:03}" for n in range(60)]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+44 7911", "'+44 7911"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        (None, ""),
        (7, "7"),
    ],
)
def test_neutralise(value, cell):
    assert exports.neutralise(value) == cell


def test_json_export_holds_everything_about_the_person(demo, exporter, users):
    lead_id = book(
        demo, exporter, ADA, slot=first_free_slot(exporter, days_ahead=3), utm_source="google"
    )
    note = {"csrf_token": form_token(exporter, lead_id, "notes"), "note": "Prefers mornings."}
    exporter.post(f"/admin/leads/{lead_id}/notes", data=note)
    response = exporter.get(f"/admin/leads/{lead_id}/export.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == f'attachment; filename="lead-{lead_id}.json"'
    assert "no-store" in response.headers["Cache-Control"]
    data = json.loads(response.get_data(as_text=True))
    lead = data["lead"]
    assert (lead["id"], lead["name"], lead["email"], lead["phone"]) == (
        lead_id,
        "Ada Lovelace",
        "ada@example.com",
        "+447911100001",
    )
    assert lead["utm_source"] == "google" and "privacy notice" in lead["consent_text"]
    [booking] = data["bookings"]
    assert booking["clinic"] == "ProHealth Clinic London"
    assert booking["message"] == "Lower back pain for two years."
    assert datetime.fromisoformat(booking["starts_at"]).tzinfo is not None
    assert [e["kind"] for e in data["events"]] == ["booked", "note"]
    assert data["events"][1]["detail"] == "Prefers mornings."
    assert sorted(m["subject"] for m in data["emails"]) == [
        "Reminder: your free discovery call tomorrow",
        "Your free discovery call is booked",
    ]
    assert all(m["recipients"] == ["ada@example.com"] for m in data["emails"])
    assert {"status", "created_at", "sent_at"} <= set(data["emails"][0])
    [exported] = audits(demo, "lead_exported")
    assert (exported.user_id, exported.target_id, exported.ip_address) == (
        users["staff"],
        lead_id,
        "127.0.0.1",
    )


# ---- who may see leads ----

GET_ROUTES = [
    "/admin/leads",
    "/admin/leads.csv",
    "/admin/leads/{id}",
    "/admin/leads/{id}/export.json",
]
POST_ROUTES = ["/admin/leads/{id}/status", "/admin/leads/{id}/notes", "/admin/leads/{id}/erase"]


@pytest.mark.parametrize("route", GET_ROUTES + POST_ROUTES)
def test_marketers_get_403_everywhere(demo, client, users, route):
    lead_id = make_leads(demo, 1)[0]
    update(demo, User, users["marketer"], may_export=True)  # a flag a marketer cannot use
    login(client, "marketer")
    path = route.format(id=lead_id)
    if route in POST_ROUTES:
        data = {
            "csrf_token": csrf_token(client, TOKEN_PAGE),
            "status": "lost",
            "note": "x",
            "confirm": "y",
        }
        response = client.post(path, data=data)
    else:
        response = client.get(path)
    assert response.status_code == 403
    assert audits(demo, "lead_viewed") == [] and audits(demo, "lead_changed") == []


EXPORT_ROUTES = ["/admin/leads.csv", "/admin/leads/{id}/export.json"]


@pytest.mark.parametrize("route", EXPORT_ROUTES)
def test_staff_need_an_admins_grant_to_export(demo, staff, route):
    lead_id = make_leads(demo, 1)[0]
    response = staff.get(route.format(id=lead_id))
    assert response.status_code == 403
    assert soup(response).h1.get_text() == "Your account cannot open this page"
    assert audits(demo, "leads_exported") == [] and audits(demo, "lead_exported") == []


@pytest.mark.parametrize(
    ("role", "granted", "shown"),
    [("staff", False, False), ("staff", True, True), ("admin", False, True)],
    ids=["staff", "staff-allowed", "admin"],
)
def test_export_links_show_only_to_those_who_may_export(demo, client, users, role, granted, shown):
    lead_id = make_leads(demo, 1)[0]
    update(demo, User, users[role], may_export=granted)
    signed_in(client, role)
    listing = soup(client.get("/admin/leads"))
    assert bool(listing.select('a[href^="/admin/leads.csv"]')) is shown
    page = soup(client.get(f"/admin/leads/{lead_id}"))
    assert bool(page.select(f'a[href="/admin/leads/{lead_id}/export.json"]')) is shown
    assert ("ask an admin" in page.select_one("#rights-title").parent.get_text()) is not shown


@pytest.mark.parametrize("route", GET_ROUTES)
def test_signed_out_users_go_to_the_login_with_next(demo, client, route):
    lead_id = make_leads(demo, 1)[0]
    path = route.format(id=lead_id)
    response = client.get(path)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/admin/login"
    assert parse_qs(location.query)["next"] == [path]


@pytest.mark.parametrize("route", POST_ROUTES)
def test_signed_out_posts_change_nothing(demo, client, route):
    lead_id = make_leads(demo, 1)[0]
    token = soup(client.get("/admin/login")).select_one("input[name=csrf_token]")["value"]
    data = {"csrf_token": token, "status": "lost", "note": "x", "confirm": "y"}
    response = client.post(route.format(id=lead_id), data=data)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/admin/login"
    with demo.app_context():
        lead = db.session.get(Lead, lead_id)
        assert (lead.status, lead.erased_at, lead.events) == ("new", None, [])


def test_staff_correct_a_leads_name_and_phone_on_record(demo, staff, users):
    """The booking form never changes a known person's details; staff do, after a call."""
    lead_id = book(demo, staff, ADA)
    token = form_token(staff, lead_id, "contact")
    bad = staff.post(
        f"/admin/leads/{lead_id}/contact",
        data={"csrf_token": token, "name": "Ada King", "phone": "12"},
    )
    assert bad.status_code == 422
    page = soup(bad)
    assert "Enter a phone number like" in page.select_one("#phone-error").get_text()
    assert page.select_one("details").has_attr("open")
    fixed = {"csrf_token": token, "name": "Ada King", "phone": "07911 100009"}
    response = staff.post(f"/admin/leads/{lead_id}/contact", data=fixed)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/leads/{lead_id}#contact"
    with demo.app_context():
        lead = db.session.get(Lead, lead_id)
        assert (lead.name, lead.phone) == ("Ada King", "+447911100009")
        assert [(e.kind, e.detail, e.actor) for e in lead.events][-1] == (
            "contact",
            "Contact details corrected: name and phone",
            "staff@example.test",
        )
        audit = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "lead_changed")
        ).all()
        assert [a.detail for a in audit] == ["corrected name, phone"]
        assert "+447911100009" not in audit[0].detail


def test_a_marketer_cannot_correct_contact_details(demo, staff, users):
    lead_id = book(demo, staff, ADA)
    marketer = demo.test_client()
    signed_in(marketer, "marketer")
    token = csrf_token(marketer, TOKEN_PAGE)
    data = {"csrf_token": token, "name": "X Y", "phone": "07911 100009"}
    response = marketer.post(f"/admin/leads/{lead_id}/contact", data=data)
    assert response.status_code == 403
    with demo.app_context():
        assert db.session.get(Lead, lead_id).name == "Ada Lovelace"


@pytest.mark.parametrize(
    ("stored", "cell"),
    [
        ("+447911123456", "07911 123456"),
        ("+441234380345", "01234 380345"),
        ("+33123456789", "0033 1 23 45 67 89"),
        (None, ""),
        ("not a number", "not a number"),
    ],
)
def test_phones_are_exported_as_dialled_from_the_uk(stored, cell):
    assert exports.dialable(stored) == cell
    assert exports.neutralise(exports.dialable(stored)) == cell


def test_csv_says_how_each_persons_calls_went(demo, exporter, users):
    lead_id = book(demo, exporter, ADA)
    book(demo, exporter, ADA, slot=first_free_slot(exporter, skip=1))
    book(demo, exporter, ADA, slot=first_free_slot(exporter, skip=2))
    with demo.app_context():
        first, second, _third = db.session.scalars(
            sa.select(Booking).where(Booking.lead_id == lead_id).order_by(Booking.id)
        ).all()
        first.status, second.status = "done", "cancelled"
        db.session.commit()
    [row] = read_csv(exporter.get("/admin/leads.csv"))
    assert row["calls"] == "Call done 1; Booked 1; Cancelled 1"


def test_a_note_sent_after_the_session_ended_is_shown_to_copy(demo, staff):
    """Nothing is saved without a session, but the typed note is not lost with it."""
    lead_id = make_leads(demo, 1)[0]
    note = "Called at 10:15, <b>left a message</b>;\nwill try again after lunch."
    token = form_token(staff, lead_id, "notes")
    staff.delete_cookie("session")
    data = {"csrf_token": token, "note": note, "password": "not shown either"}
    response = staff.post(f"/admin/leads/{lead_id}/notes", data=data)
    assert response.status_code == 400
    page = soup(response)
    assert page.h1.get_text() == "Nothing was saved"
    shown = page.select("main textarea[readonly]")
    assert [box.get_text() for box in shown] == [note]  # escaped, whole, alone
    assert page.find("label", attrs={"for": shown[0]["id"]}).get_text() == "Note"
    assert token not in response.text and "not shown either" not in response.text
    with demo.app_context():
        assert not db.session.scalars(sa.select(LeadEvent).where(LeadEvent.kind == "note")).all()


# ---- the streamed export ----


@pytest.fixture
def varied_leads(demo, exporter, users):
    """Leads with formula names, several clinics and calls, an owner, an erased one."""
    for n, name in enumerate(EVIL_NAMES):
        person = {"name": name, "email": f"evil{n}@example.com", "phone": f"07911 20000{n}"}
        book(demo, exporter, person, utm_source="evil")
    ada = book(demo, exporter, ADA, "manchester", utm_source="facebook")
    book(demo, exporter, ADA, "bedford", slot=first_free_slot(exporter, "bedford", skip=1))
    book(demo, exporter, GRACE, "manchester")
    make_leads(demo, 7, prefix="plain", status="contacted", marketing_opt_in=True)
    update(demo, Lead, ada, owner_id=users["staff"], status="qualified")
    erased = make_leads(demo, 1, prefix="gone")[0]
    update(demo, Lead, erased, name=None, email=None, phone=None, erased_at=utcnow())
    return demo


LEADS_IN_VARIED = 15  # five formula names, Ada, Grace, seven plain, one erased
EXPORT_QUERIES = [
    "",
    "utm_source=evil&sort=oldest",
    "status=contacted",
    "sort=name",
    "sort=next_call",
    "sort=status&clinic=manchester",
    "q=grace",
    "q=nobody-at-all",
]


def test_streamed_csv_is_the_file_the_old_export_wrote(varied_leads, exporter, monkeypatch):
    """Same header, rows, order, escaping and filters as the whole file built in memory."""
    monkeypatch.setattr(exports, "EXPORT_BATCH", 2)  # several batches from a few leads
    for number, query in enumerate(EXPORT_QUERIES, start=1):
        response = exporter.get(f"/admin/leads.csv?{query}")
        assert response.status_code == 200 and response.is_streamed
        args = {key: values[0] for key, values in parse_qs(query).items()}
        with varied_leads.app_context():
            clinics = {slug for slug, _name in queries.clinic_choices()}
            lead_filter, _problems = queries.parse_filter(args, clinics)
            whole_file = exports.leads_csv(queries.all_leads(lead_filter))
        assert response.get_data(as_text=True) == whole_file, query
        entries = audits(varied_leads, "leads_exported")
        assert len(entries) == number, "one entry per export"
        assert entries[-1].detail.endswith(f" rows={whole_file.count(chr(10)) - 1}")


def test_export_is_audited_once_with_its_rows_even_when_the_download_stops(
    varied_leads, exporter, monkeypatch
):
    monkeypatch.setattr(exports, "EXPORT_BATCH", 3)
    response = exporter.get("/admin/leads.csv", buffered=False)
    chunks = iter(response.response)
    assert next(chunks).startswith(b"\xef\xbb\xbfid,")  # the header, before any row
    next(chunks)  # three leads
    response.close()  # the browser went away
    [entry] = audits(varied_leads, "leads_exported")
    assert entry.detail == f"all rows={LEADS_IN_VARIED}"
    with varied_leads.app_context():
        assert db.engine.pool.checkedout() == 0, "the export's connection was given back"
    assert exporter.get("/admin/leads.csv").status_code == 200
    assert [e.detail for e in audits(varied_leads, "leads_exported")] == [
        f"all rows={LEADS_IN_VARIED}"
    ] * 2


def test_export_reads_one_snapshot_whatever_is_written_meanwhile(varied_leads):
    """Rows written after the count (a booking arriving mid-export) stay out of this file,
    so the audited count is the number of rows sent."""
    with varied_leads.app_context():
        export = exports.LeadsExport(queries.LeadFilter(), batch=2)
        make_leads(varied_leads, 3, prefix="later")
        lines = "".join(export.chunks()).splitlines()
    assert export.total == LEADS_IN_VARIED == len(lines) - 1


def test_fast_phone_layouts_equal_the_library(demo):
    """The cached layouts write every number exactly as phonenumbers does."""
    from random import Random

    from clinic.leads_admin import dialling

    rng = Random(7)
    numbers = ["+447911123456", "+442079460000", "+441614960000", "+441234380345"]
    numbers += ["+448001111", "+441387312345", "+44180020123", "+390612345678", "+44", "x"]
    for prefix, digits in (
        ("447", 9),
        ("441", 9),
        ("442", 9),
        ("448", 9),
        ("443", 9),
        ("33", 9),
        ("49", 10),
        ("1", 10),
        ("39", 9),
        ("54", 10),
        ("7", 10),
        ("353", 9),
        ("61", 9),
        ("91", 10),
        ("86", 11),
    ):
        for width in (digits, digits - 1):
            numbers += [f"+{prefix}{rng.randrange(10**width):0{width}d}" for _ in range(60)]
    assert [exports.dialable(n) for n in numbers] == [dialling.library_dialable(n) for n in numbers]
