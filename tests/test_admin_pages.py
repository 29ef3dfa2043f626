"""Staff admin, part 2: calls, e-mail log, audit log, users, and the dashboard's charts."""

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from clinic.accounts import services
from clinic.accounts.models import User
from clinic.admin import charts, dashboard
from clinic.audit.models import AuditEntry
from clinic.booking.models import Booking
from clinic.booking.services import can_take_outcome
from clinic.content.models import Article, Redirect
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.leads.models import Lead, LeadEvent
from clinic.notifications import outbox
from clinic.notifications.models import OutboxMessage
from clinic.uktime import UK
from tests.auth_helpers import ROLE_EMAILS, csrf_token, login, make_user, make_users
from tests.booking_helpers import GOOD, booking_data, first_free_slot
from tests.helpers import soup

ARTICLE = "amitriptyline-for-back-pain"
CHART_BY_ARTICLE = "New leads per week by the article of their first visit"
PHONE_E164 = "+447911123456"


@pytest.fixture
def users(demo):
    return make_users(demo)


@pytest.fixture
def staff(demo, users):
    client = demo.test_client()
    assert login(client, "staff").status_code == 303
    return client


@pytest.fixture
def admin(demo, users):
    client = demo.test_client()
    assert login(client, "admin").status_code == 303
    return client


def book(app, at: str = "london", **overrides) -> int:
    """Book a call through the public form, as a patient does; return the booking's id."""
    client = app.test_client()
    response = client.post("/book", data=booking_data(client, at=at, **overrides))
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    email = overrides.get("email", GOOD["email"]).lower()
    with app.app_context():
        return db.session.scalar(
            sa.select(sa.func.max(Booking.id)).join(Lead).where(Lead.email == email)
        )


def move(app, booking_id: int, starts_at: datetime) -> None:
    with app.app_context():
        db.session.get(Booking, booking_id).starts_at = starts_at
        db.session.commit()


def audit_entries(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        query = sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list(db.session.scalars(query))


def text_of(node) -> str:
    return " ".join(node.get_text(" ").split())


# Calls


def test_agenda_lists_a_booked_call_under_its_day_and_clinic(demo, staff):
    slot = first_free_slot(demo.test_client(), "manchester")
    booking_id = book(demo, "manchester", slot=slot)
    response = staff.get("/admin/bookings")
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    day = soup(response).select_one(f"section[aria-labelledby='day-{slot[:10]}']")
    assert day is not None, f"no section for {slot[:10]}"
    table = day.select_one("table")
    assert "ProHealth Clinic Manchester" in text_of(table.caption)
    row = text_of(table.select_one("tbody tr"))
    assert slot[11:16] in row and "Manchester" in row and "Booked" in row
    assert GOOD["message"] in row
    with demo.app_context():
        lead_id = db.session.get(Booking, booking_id).lead_id
    assert table.select_one(f'a[href="/admin/leads/{lead_id}"]').get_text() == GOOD["name"]
    assert table.select_one(f'a[href="tel:{PHONE_E164}"]').get_text() == "07911 123456"
    actions = [a["href"] for a in table.select(".call-actions a")]  # an upcoming call can change
    assert actions == [f"/admin/calls/{booking_id}/move", f"/admin/calls/{booking_id}/cancel"]
    [viewed] = audit_entries(demo, "agenda_viewed")
    assert viewed.user_email == ROLE_EMAILS["staff"]
    assert viewed.detail.startswith("clinic=all from=")
    assert GOOD["name"] not in viewed.detail and "example" not in viewed.detail.lower()


def test_agenda_filters_by_clinic_and_days(demo, staff):
    london = first_free_slot(demo.test_client(), "london")
    later = first_free_slot(demo.test_client(), "bedford", days_ahead=2)
    book(demo, "london", slot=london, name="Lena London", email="lena@example.com")
    bea = book(demo, "bedford", slot=later, name="Bea Bedford", email="bea@example.com")
    page = text_of(soup(staff.get("/admin/bookings?clinic=bedford")))
    assert "Bea Bedford" in page and "Lena London" not in page
    only_later = f"/admin/bookings?from={later[:10]}&to={later[:10]}"
    page = text_of(soup(staff.get(only_later)))
    assert "Bea Bedford" in page and "Lena London" not in page
    with demo.app_context():
        bea_lead = db.session.get(Booking, bea).lead_id
    assert audit_entries(demo, "agenda_viewed")[-1].detail == (
        f"clinic=all from={later[:10]} to={later[:10]} leads={bea_lead}"
    )


@pytest.mark.parametrize(
    "query",
    ["from=2026-01-10&to=2026-01-09", "from=2026-01-01&to=2026-06-01", "to=soon", "clinic=paris"],
)
def test_agenda_refuses_a_bad_filter(demo, staff, query):
    response = staff.get(f"/admin/bookings?{query}")
    assert response.status_code == 422
    assert soup(response).select_one(".error-summary")


@pytest.mark.parametrize(("outcome", "event"), [("done", "call_done"), ("no_show", "no_show")])
def test_outcome_updates_booking_timeline_and_audit(demo, staff, outcome, event):
    booking_id = book(demo)
    move(demo, booking_id, utcnow().replace(second=0, microsecond=0) - timedelta(days=1))
    yesterday = (utcnow() - timedelta(days=1)).astimezone(UK).date().isoformat()
    agenda = f"/admin/bookings?from={yesterday}"
    form = soup(staff.get(agenda)).select_one(
        f'form[action="/admin/bookings/{booking_id}/outcome"]'
    )
    assert form is not None, "a past confirmed call offers the outcome buttons"
    assert {b["value"] for b in form.select("button[name=outcome]")} == {"done", "no_show"}
    data = {i["name"]: i["value"] for i in form.select("input[type=hidden]")}
    response = staff.post(form["action"], data={**data, "outcome": outcome})
    assert response.status_code == 303
    assert response.headers["Location"] == agenda
    with demo.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.status == outcome
        [entry] = [e for e in booking.lead.events if e.kind == event]
        assert entry.actor == ROLE_EMAILS["staff"] and entry.booking_id == booking_id
    [audit] = audit_entries(demo, "booking_outcome")
    assert (audit.target_type, audit.target_id, audit.detail) == ("booking", booking_id, outcome)
    again = staff.post(f"/admin/bookings/{booking_id}/outcome", data={**data, "outcome": "done"})
    assert again.status_code == 409
    assert "already marked" in again.get_data(as_text=True)


def test_outcome_refuses_future_calls_and_unknown_outcomes(demo, staff):
    booking_id = book(demo)
    move(demo, booking_id, utcnow().replace(second=0, microsecond=0) + timedelta(days=2))
    token = csrf_token(staff, "/admin/bookings")
    path = f"/admin/bookings/{booking_id}/outcome"
    future = staff.post(path, data={"csrf_token": token, "outcome": "done"})
    assert future.status_code == 409
    assert "You can record its outcome from that day on" in future.get_data(as_text=True)
    assert staff.post(path, data={"csrf_token": token, "outcome": "cured"}).status_code == 422
    assert staff.post("/admin/bookings/999999/outcome", data={"csrf_token": token}).status_code == (
        404
    )
    with demo.app_context():
        assert db.session.get(Booking, booking_id).status == "confirmed"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LeadEvent)) == 1
    assert audit_entries(demo, "booking_outcome") == []


def test_a_call_may_take_an_outcome_from_its_uk_day_on():
    now = datetime(2026, 6, 1, 8, 0, tzinfo=UK)  # Monday 08:00 BST

    def call(local: datetime, status: str = "confirmed") -> Booking:
        return Booking(starts_at=local.astimezone(UTC), status=status)

    assert can_take_outcome(call(datetime(2026, 6, 1, 17, 0, tzinfo=UK)), now)
    assert can_take_outcome(call(datetime(2026, 5, 29, 9, 0, tzinfo=UK)), now)
    assert not can_take_outcome(call(datetime(2026, 6, 2, 0, 15, tzinfo=UK)), now)
    assert not can_take_outcome(call(datetime(2026, 5, 29, 9, 0, tzinfo=UK), "cancelled"), now)


# E-mail log


def test_email_log_lists_messages_and_filters_by_status(demo, staff):
    book(demo)
    response = staff.get("/admin/emails")
    assert response.status_code == 200
    rows = soup(response).select("table.email-log tbody tr")
    with demo.app_context():
        assert len(rows) == db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) >= 2
    text = text_of(soup(response))
    assert "ada@example.com" in text and "staff@example.test" in text
    assert "booking.patient" in text and "0 of 8" in text
    with demo.app_context():
        message = db.session.scalar(
            sa.select(OutboxMessage).where(OutboxMessage.kind == "booking.patient")
        )
        message.status, message.attempts = "failed", 8
        message.last_error = "SMTPRecipientsRefused: " + "x" * 500
        db.session.commit()
    failed = soup(staff.get("/admin/emails?status=failed"))
    [row] = failed.select("table.email-log tbody tr")
    assert "Failed" in text_of(row) and "8 of 8" in text_of(row)
    error = text_of(row.select_one(".email-error"))
    assert error.startswith("SMTPRecipientsRefused") and len(error) <= 160
    with demo.app_context():
        lead_id = db.session.scalar(sa.select(Lead.id))
    assert [e.detail for e in audit_entries(demo, "emails_viewed")] == [
        f"status=any page=1 leads={lead_id}",
        f"status=failed page=1 leads={lead_id}",
    ]


def test_email_retry_requeues_and_is_audited(demo, staff):
    book(demo)
    with demo.app_context():
        message = db.session.scalar(
            sa.select(OutboxMessage).where(OutboxMessage.kind == "booking.staff")
        )
        message.status, message.attempts, message.last_error = "failed", 8, "Timeout"
        sent = db.session.scalar(
            sa.select(OutboxMessage).where(OutboxMessage.kind == "booking.patient")
        )
        sent.status = "sent"
        db.session.commit()
        message_id, sent_id = message.id, sent.id
    page = soup(staff.get("/admin/emails?status=failed"))
    form = page.select_one(f'form[action="/admin/emails/{message_id}/retry"]')
    data = {i["name"]: i["value"] for i in form.select("input[type=hidden]")}
    response = staff.post(form["action"], data=data)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/emails?status=failed"
    assert f"E-mail #{message_id} is queued" in staff.get("/admin/emails").get_data(as_text=True)
    with demo.app_context():
        assert db.session.get(OutboxMessage, message_id).status == "pending"
    [audit] = audit_entries(demo, "email_retry")
    assert (audit.target_type, audit.target_id) == ("outbox_message", message_id)
    refused = staff.post(f"/admin/emails/{sent_id}/retry", data=data)
    assert refused.status_code == 409
    assert staff.post("/admin/emails/999999/retry", data=data).status_code == 404


def test_a_reminder_waiting_for_its_time_cannot_be_sent_early(demo, staff):
    """Only failed e-mails, or ones waiting after a failed try, have "Send again"."""
    book(demo, slot=first_free_slot(demo.test_client(), days_ahead=3))
    with demo.app_context():
        reminder = db.session.scalar(
            sa.select(OutboxMessage).where(OutboxMessage.kind == "booking.reminder")
        )
        waiting = db.session.scalar(
            sa.select(OutboxMessage).where(OutboxMessage.kind == "booking.staff")
        )
        waiting.attempts, waiting.last_error = 1, "Timeout"  # pending again after a failed try
        db.session.commit()
        reminder_id, due, waiting_id = reminder.id, reminder.not_before, waiting.id
    page = soup(staff.get("/admin/emails"))
    assert not page.select_one(f'form[action="/admin/emails/{reminder_id}/retry"]')
    form = page.select_one(f'form[action="/admin/emails/{waiting_id}/retry"]')
    data = {i["name"]: i["value"] for i in form.select("input[type=hidden]")}
    refused = staff.post(f"/admin/emails/{reminder_id}/retry", data=data)
    assert refused.status_code == 409
    assert "waits for its time" in refused.get_data(as_text=True)
    assert staff.post(form["action"], data=data).status_code == 303
    with demo.app_context():
        assert db.session.get(OutboxMessage, reminder_id).not_before == due  # not moved forward
    assert [e.target_id for e in audit_entries(demo, "email_retry")] == [waiting_id]


def email_subjects(page) -> list[str]:
    return [text_of(r.select("td")[3]) for r in page.select("table.email-log tbody tr")]


def queue_messages(app, numbers) -> None:
    with app.app_context():
        for n in numbers:
            outbox.queue(f"p{n}@example.test", f"Message {n}", "Body", kind="test")
        db.session.commit()


def test_email_log_pages(demo, staff):
    queue_messages(demo, range(30))
    first = soup(staff.get("/admin/emails"))
    assert email_subjects(first) == [f"Message {n}" for n in range(29, 4, -1)], "25 a page"
    assert not first.select_one("a[rel=prev]") and not first.select_one("a[rel=first]")
    second = soup(staff.get(first.select_one("a[rel=next]")["href"]))
    assert email_subjects(second) == [f"Message {n}" for n in range(4, -1, -1)]
    assert not second.select_one("a[rel=next]") and not second.select_one("a[rel=last]")
    oldest = soup(staff.get(first.select_one("a[rel=last]")["href"]))
    assert email_subjects(oldest) == [f"Message {n}" for n in range(24, -1, -1)], "oldest 25"
    assert oldest.select_one("a[rel=prev]") and not oldest.select_one("a[rel=next]")
    # E-mails queued between two page loads shift nothing: the page before the second
    # is still the 25 e-mails just newer than it, and the newest page shows the new ones.
    queue_messages(demo, range(30, 33))
    back = soup(staff.get(second.select_one("a[rel=prev]")["href"]))
    assert email_subjects(back) == [f"Message {n}" for n in range(29, 4, -1)]
    newest = soup(staff.get(back.select_one("a[rel=first]")["href"]))
    assert email_subjects(newest)[:4] == ["Message 32", "Message 31", "Message 30", "Message 29"]
    details = [e.detail.split(" leads=")[0] for e in audit_entries(demo, "emails_viewed")]
    assert details[0] == "status=any page=1" and details[1].startswith("status=any page=older:")


def test_email_log_pages_keep_the_filter(demo, staff):
    queue_messages(demo, range(60))
    with demo.app_context():
        for message in db.session.scalars(sa.select(OutboxMessage)):
            message.status = "failed" if int(message.subject.split()[1]) % 2 else "sent"
        db.session.commit()
    first = soup(staff.get("/admin/emails?status=failed"))
    assert email_subjects(first) == [f"Message {n}" for n in range(59, 9, -2)]
    older = first.select_one("a[rel=next]")["href"]
    assert "status=failed" in older
    second = soup(staff.get(older))
    assert email_subjects(second) == [f"Message {n}" for n in range(9, 0, -2)]
    for junk in ("older=abc", "older=0", "newer=99999999", "older=99999999999999999999"):
        assert email_subjects(soup(staff.get(f"/admin/emails?{junk}")))[0] == "Message 59", junk


# Audit log


def test_audit_log_lists_and_filters_entries(demo, admin, users):
    login(demo.test_client(), email="staff@example.test", password="wrong password!")
    response = admin.get("/admin/audit")
    assert response.status_code == 200
    rows = soup(response).select("table.audit-log tbody tr")
    assert [text_of(r.select("td")[2]) for r in rows] == ["login_failed", "login"], "newest first"
    failed = soup(admin.get("/admin/audit?action=login_failed"))
    assert len(failed.select("table.audit-log tbody tr")) == 1
    mine = soup(admin.get("/admin/audit?user=ADMIN@"))
    assert {text_of(r.select("td")[1]) for r in mine.select("tbody tr")} == {"admin@example.test"}
    target = soup(admin.get(f"/admin/audit?target={users['admin']}"))
    assert [text_of(r.select("td")[2]) for r in target.select("tbody tr")] == ["login"]
    assert admin.get("/admin/audit?target=abc").status_code == 422


def audit_actions(page) -> list[str]:
    return [text_of(r.select("td")[4]) for r in page.select("table.audit-log tbody tr")]


def add_audit(app, numbers) -> None:
    with app.app_context():
        db.session.add_all(
            AuditEntry(action="test_entry", detail=f"entry {n}", user_email="x@example.test")
            for n in numbers
        )
        db.session.commit()


def test_audit_log_pages_never_skip_or_repeat_an_entry(demo, admin):
    add_audit(demo, range(120))
    seen: list[str] = []
    page = soup(admin.get("/admin/audit?action=test_entry"))
    while True:
        seen += audit_actions(page)
        add_audit(demo, range(1000, 1003))  # others keep working while we read
        link = page.select_one("a[rel=next]")
        if not link:
            break
        assert "action=test_entry" in link["href"]
        page = soup(admin.get(link["href"]))
    assert seen == [f"entry {n}" for n in range(119, -1, -1)], "each entry once, newest first"
    back = soup(admin.get(page.select_one("a[rel=prev]")["href"]))
    assert audit_actions(back) == [f"entry {n}" for n in range(69, 19, -1)]


def test_audit_log_is_read_only_and_for_admins(app, demo, staff, admin):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("audit_admin.")]
    assert rules and all(r.methods <= {"GET", "HEAD", "OPTIONS"} for r in rules)
    token = csrf_token(admin, "/admin/audit")
    assert admin.post("/admin/audit", data={"csrf_token": token}).status_code == 405
    assert not soup(admin.get("/admin/audit")).select("main form[method=post]")
    assert staff.get("/admin/audit").status_code == 403


# Users


def user_by_email(app, email: str) -> User:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        db.session.expunge(user)
        return user


def test_users_page_lists_accounts(demo, admin):
    page = soup(admin.get("/admin/users"))
    rows = {text_of(r.th): text_of(r) for r in page.select("table.user-list tbody tr")}
    assert set(rows) == {"admin@example.test (you)", "marketer@example.test", "staff@example.test"}
    assert "Staff" in rows["staff@example.test"] and "Never" in rows["staff@example.test"]
    assert "Active" in rows["marketer@example.test"]


def test_admin_invites_a_user_and_never_types_a_password(demo, admin):
    form_page = admin.get("/admin/users/new")
    assert form_page.status_code == 200
    assert not soup(form_page).select("input[type=password]")
    token = soup(form_page).select_one("input[name=csrf_token]")["value"]
    data = {"csrf_token": token, "email": "New.Person@Example.com", "role": "marketer"}
    response = admin.post("/admin/users/new", data=data)
    assert response.status_code == 303
    with demo.app_context():
        assert services.find_user("new.person@example.com") is None, "made when accepted"
        [message] = db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind == "invitation")
        ).all()
    assert message.recipients == ["new.person@example.com"]
    assert "/admin/invitation/" in message.text_body and message.html_body
    [audit] = audit_entries(demo, "invitation_sent")
    assert (audit.user_email, audit.detail) == (
        "admin@example.test",
        "new.person@example.com as marketer",
    )
    page = soup(admin.get("/admin/users"))
    assert "new.person@example.com" in text_of(page.select_one("table.invitation-list"))
    assert "Invitations" not in page.title.get_text(), "the page's sections stay out of <title>"
    assert len(page.select("table.invitation-list")) == 1
    with demo.app_context():
        make_user("taken@example.com", "staff")
        db.session.commit()
    taken = admin.post("/admin/users/new", data={**data, "email": "Taken@example.com"})
    assert taken.status_code == 422 and "already an account" in taken.get_data(as_text=True)


def test_admin_changes_a_role_and_deactivates_and_reactivates(demo, admin, users):
    token = csrf_token(admin, "/admin/users")
    staff_id = users["staff"]
    staff_client = demo.test_client()
    login(staff_client, "staff")
    role = admin.post(
        f"/admin/users/{staff_id}/role", data={"csrf_token": token, "role": "marketer"}
    )
    assert role.status_code == 303
    assert user_by_email(demo, "staff@example.test").role == "marketer"
    assert staff_client.get("/admin/bookings").status_code == 403, "the new role applies at once"
    off = admin.post(f"/admin/users/{staff_id}/deactivate", data={"csrf_token": token})
    assert off.status_code == 303
    assert not user_by_email(demo, "staff@example.test").active
    assert staff_client.get("/admin/").status_code == 302, "a deactivated user's session ends"
    assert login(demo.test_client(), "staff").status_code == 401
    on = admin.post(f"/admin/users/{staff_id}/reactivate", data={"csrf_token": token})
    assert on.status_code == 303
    assert login(demo.test_client(), "staff").status_code == 303
    details = [e.detail for e in audit_entries(demo, "user_changed")]
    assert details == ["role staff → marketer", "deactivated", "reactivated"]
    assert {e.target_id for e in audit_entries(demo, "user_changed")} == {staff_id}


def test_an_admin_cannot_lock_themselves_out(demo, admin, users):
    token = csrf_token(admin, "/admin/users")
    me = users["admin"]
    assert (
        admin.post(f"/admin/users/{me}/deactivate", data={"csrf_token": token}).status_code == 409
    )
    demote = admin.post(f"/admin/users/{me}/role", data={"csrf_token": token, "role": "staff"})
    assert demote.status_code == 409
    assert "your own role" in demote.get_data(as_text=True)
    me_now = user_by_email(demo, "admin@example.test")
    assert me_now.active and me_now.role == "admin"
    assert audit_entries(demo, "user_changed") == []
    assert admin.post("/admin/users/999999/deactivate", data={"csrf_token": token}).status_code == (
        404
    )


def export_button(page, email: str):
    """The users page's exports button in `email`'s row, or None."""
    row = next(r for r in page.select("table.user-list tbody tr") if email in text_of(r.th))
    return row.select_one("form[action$='-export'] button")


def test_admin_allows_and_stops_a_staff_accounts_exports(demo, admin, staff, users):
    staff_id = users["staff"]
    assert staff.get("/admin/leads.csv").status_code == 403
    page = soup(admin.get("/admin/users"))
    button = export_button(page, "staff@example.test")
    assert text_of(button) == "Allow exports for staff@example.test"
    form = button.find_parent("form")
    assert form["method"] == "post" and form.select_one("input[name=csrf_token]")["value"]
    assert export_button(page, "marketer@example.test") is None
    token = csrf_token(admin, "/admin/users")
    granted = admin.post(form["action"], data={"csrf_token": token})
    assert granted.status_code == 303
    assert user_by_email(demo, "staff@example.test").may_export
    assert staff.get("/admin/leads.csv").status_code == 200, "the grant applies at once"
    page = soup(admin.get("/admin/users"))
    assert "Allowed" in text_of(page.find("th", string="staff@example.test").parent)
    assert text_of(export_button(page, "staff@example.test")).startswith("Stop exports")
    stopped = admin.post(f"/admin/users/{staff_id}/withdraw-export", data={"csrf_token": token})
    assert stopped.status_code == 303
    assert staff.get("/admin/leads.csv").status_code == 403
    entries = audit_entries(demo, "user_changed")
    assert [(e.detail, e.target_id, e.user_email) for e in entries] == [
        ("may export granted to staff@example.test", staff_id, "admin@example.test"),
        ("may export withdrawn from staff@example.test", staff_id, "admin@example.test"),
    ]


@pytest.mark.parametrize(
    ("role", "message"),
    [("marketer", "Marketers can never export"), ("admin", "Admins may always export")],
)
def test_only_staff_accounts_are_granted_exports(demo, admin, users, role, message):
    token = csrf_token(admin, "/admin/users")
    response = admin.post(f"/admin/users/{users[role]}/grant-export", data={"csrf_token": token})
    assert response.status_code == 409 and message in response.get_data(as_text=True)
    assert not user_by_email(demo, ROLE_EMAILS[role]).may_export
    assert audit_entries(demo, "user_changed") == []


def test_a_new_role_withdraws_the_grant(demo, admin, users):
    token = csrf_token(admin, "/admin/users")
    admin.post(f"/admin/users/{users['staff']}/grant-export", data={"csrf_token": token})
    data = {"csrf_token": token, "role": "marketer"}
    assert admin.post(f"/admin/users/{users['staff']}/role", data=data).status_code == 303
    assert not user_by_email(demo, "staff@example.test").may_export
    last = audit_entries(demo, "user_changed")[-1]
    assert last.detail == "role staff → marketer; may export withdrawn"


# Dashboard


def book_three(demo) -> list[int]:
    """One call at each clinic: two from the same article, one with no article."""
    return [
        book(demo, "london", name="Lena London", email="lena@example.com", **{"from": ARTICLE}),
        book(
            demo,
            "manchester",
            name="Max Manchester",
            email="max@example.com",
            phone="07912 111222",
            **{"from": ARTICLE},
        ),
        book(demo, "bedford", name="Bea Bedford", email="bea@example.com", phone="07912 333444"),
    ]


def chart_table(page, title: str) -> dict[str, dict[str, str]]:
    """Read a chart's data table: {week: {column: value}}."""
    section = next(s for s in page.select("section.chart") if text_of(s.h2) == title)
    table = section.select_one("table")
    columns = [text_of(th) for th in table.select("thead th")][1:]
    return {
        text_of(row.th): dict(zip(columns, (text_of(td) for td in row.select("td")), strict=True))
        for row in table.select("tbody tr")
    }


def test_dashboard_shows_figures_and_charts_to_staff(demo, staff):
    booking_ids = book_three(demo)
    page = soup(staff.get("/admin/"))
    stats = [text_of(s) for s in page.select(".stat-list .stat")]
    assert stats == ["3", "3"], "three new leads today and this week"
    with demo.app_context():
        lead_ids = [db.session.get(Booking, b).lead_id for b in booking_ids]
    for lead_id in lead_ids:
        assert page.select_one(
            f'section[aria-labelledby=calls-title] a[href="/admin/leads/{lead_id}"]'
        )
    svgs = page.select("svg.chart-svg")
    assert len(svgs) == 2
    for svg in svgs:
        assert svg["role"] == "img"
        title_id, desc_id = svg["aria-labelledby"].split()
        assert svg.select_one(f"title#{title_id}") and svg.select_one(f"desc#{desc_id}")
        assert not svg.has_attr("style")
    this_week = list(chart_table(page, "New leads per week by clinic").values())[-1]
    assert this_week == {"London": "1", "Manchester": "1", "Bedford": "1", "All": "3"}
    by_article = list(chart_table(page, CHART_BY_ARTICLE).values())[-1]
    assert by_article == {ARTICLE: "2", "(direct)": "1", "All": "3"}
    clinic_svg = svgs[0]
    assert "3 leads in the 12 weeks" in text_of(clinic_svg.desc)
    assert len(clinic_svg.select("g.chart-bars rect")) == 3
    assert article_table(page) == {
        article_title(demo): ["2", "0", "0"],
        "(direct)": ["1", "0", "0"],
    }


def article_title(app) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(Article.title).where(Article.slug == ARTICLE))


def article_table(page) -> dict[str, list[str]]:
    rows = page.select("section[aria-labelledby=articles-title] tbody tr")
    return {text_of(r.th): [text_of(td) for td in r.select("td")] for r in rows}


def test_article_table_follows_renames_leaves_out_cancelled_calls_and_counts_outcomes(demo, staff):
    done, cancelled, treated = (
        book(demo, "london", name="Dee Done", email="dee@example.com", **{"from": ARTICLE}),
        book(demo, "london", name="Cy Cancel", email="cy@example.com", **{"from": ARTICLE}),
        book(
            demo,
            "bedford",
            name="Tess Treat",
            email="tess@example.com",
            **{"from": "old-name-of-the-article"},
        ),
    )
    with demo.app_context():
        db.session.add(
            Redirect(old_path="/articles/old-name-of-the-article", new_path=f"/articles/{ARTICLE}")
        )
        db.session.get(Booking, done).status = "done"
        db.session.get(Booking, cancelled).status = "cancelled"
        db.session.get(Booking, treated).lead.status = "treatment_booked"
        db.session.commit()
    assert article_table(soup(staff.get("/admin/"))) == {article_title(demo): ["2", "1", "1"]}


def test_marketer_dashboard_shows_aggregates_only(demo, users):
    book_three(demo)
    marketer = demo.test_client()
    login(marketer, "marketer")
    response = marketer.get("/admin/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for personal in (
        "Lena London",
        "Max Manchester",
        "Bea Bedford",
        "lena@example.com",
        "max@example.com",
        "bea@example.com",
        "7911",
        "111222",
        "333444",
        "/admin/leads/",
    ):
        assert personal not in html, personal
    page = soup(response)
    assert [text_of(s.h2) for s in page.select("section.chart")] == [CHART_BY_ARTICLE]
    assert list(chart_table(page, CHART_BY_ARTICLE).values())[-1]["All"] == "3"
    assert page.select_one("section[aria-labelledby=articles-title] table")
    assert not page.select(".stat-list")


def add_lead_now(app, email: str) -> None:
    with app.app_context():
        db.session.add(Lead(email=email, name="New Person", created_at=utcnow()))
        db.session.commit()


def test_dashboard_figures_are_kept_a_minute_and_say_how_fresh(demo, staff):
    note = text_of(soup(staff.get("/admin/")).select_one(".figures-as-of"))
    assert note.startswith("Figures as of ") and "at every visit" in note  # the tests' setting
    demo.extensions["figure_cache"].seconds = 60
    demo.config["CLINIC_FIGURES_CACHE_SECONDS"] = 60
    with demo.app_context():
        demo.extensions["figure_cache"].clear()
    page = soup(staff.get("/admin/"))
    before = [text_of(s) for s in page.select(".stat-list .stat")]
    shown = page.select_one(".figures-as-of time")
    assert datetime.fromisoformat(shown["datetime"]) <= utcnow()
    assert "every 60 seconds" in text_of(page.select_one(".figures-as-of"))
    add_lead_now(demo, "new.person@example.test")
    again = soup(staff.get("/admin/")).select(".stat-list .stat")
    assert [text_of(s) for s in again] == before, "kept: the same figures, as of the same time"
    with demo.app_context():
        demo.extensions["figure_cache"].clear()  # what a minute passing does
    fresh = [text_of(s) for s in soup(staff.get("/admin/")).select(".stat-list .stat")]
    assert int(fresh[0]) == int(before[0]) + 1


def test_dashboard_without_leads_draws_empty_charts(demo, staff):
    page = soup(staff.get("/admin/"))
    assert len(page.select("svg.chart-svg")) == 2
    assert "No leads in the 12 weeks" in text_of(page.select_one("svg.chart-svg desc"))


# Charts and weekly figures (pure functions)


def contrast_with_white(colour: str) -> float:
    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
    return 1.05 / (luminance + 0.05)


@pytest.mark.parametrize("colour", charts.PALETTE)
def test_chart_colours_contrast_with_the_page(colour):
    assert contrast_with_white(colour) >= 4.5


@pytest.mark.parametrize(
    ("maximum", "step"), [(0, 1), (3, 1), (7, 2), (9, 5), (40, 10), (100, 50), (170, 50)]
)
def test_nice_step(maximum, step):
    assert charts.nice_step(maximum) == step


def test_stacked_bars_stack_each_series_in_proportion():
    chart = charts.stacked_bars(
        "Leads", "leads", ["5 Jan", "12 Jan", "19 Jan"], [("A", [1, 0, 2]), ("B", [1, 3, 0])]
    )
    assert chart.totals == (2, 3, 2)
    assert [label.text for label in chart.grid] == ["0", "1", "2", "3"]
    assert len(chart.rects) == 4, "no rectangle for a zero"
    first, second = chart.rects[:2]
    assert first.y == pytest.approx(second.y + second.height), "B sits on top of A"
    full = chart.plot_bottom - charts.TOP
    assert chart.rects[2].height == pytest.approx(full, abs=0.2), "the tallest bar fills the plot"
    assert chart.rows == [("5 Jan", [1, 1], 2), ("12 Jan", [0, 3], 3), ("19 Jan", [2, 0], 2)]
    assert chart.description == (
        "7 leads in the 3 weeks from 5 Jan to 19 Jan: B 4, A 3. "
        "The busiest week began 12 Jan, with 3."
    )
    assert chart.series[0].colour != chart.series[1].colour


def test_weekly_counts_use_uk_weeks(demo):
    mondays = [date(2025, 3, 24), date(2025, 3, 31)]
    rows = [
        (datetime(2025, 3, 30, 22, 30, tzinfo=UTC), "a"),  # Sunday 23:30 BST
        (datetime(2025, 3, 30, 23, 30, tzinfo=UTC), "a"),  # Monday 00:30 BST
        (datetime(2025, 3, 24, 9, 0, tzinfo=UTC), "b"),
        (datetime(2025, 3, 23, 9, 0, tzinfo=UTC), "b"),  # before the first week: left out
    ]
    with demo.app_context():
        db.session.add_all(
            Lead(email=f"week{n}@example.test", created_at=moment, source_article=key)
            for n, (moment, key) in enumerate(rows)
        )
        db.session.commit()
        counts = dashboard.weekly_counts(Lead.source_article, mondays)
    assert counts == {"a": [1, 1], "b": [1, 0]}


def test_week_starts_end_with_this_week():
    mondays = dashboard.week_starts(12, now=datetime(2025, 11, 23, 23, 30, tzinfo=UTC))
    assert len(mondays) == 12 and mondays[-1] == date(2025, 11, 17)
    assert all(m.weekday() == 0 for m in mondays) and mondays[0] == date(2025, 9, 1)


def test_top_series_folds_small_articles_and_puts_direct_last():
    counts = {f"article-{n}": [n, 0] for n in range(1, 8)} | {"(direct)": [0, 4]}
    series = dashboard.top_series(counts, top=5)
    assert [name for name, _ in series] == [
        "article-7",
        "article-6",
        "article-5",
        "article-4",
        "article-3",
        "(other articles)",
        "(direct)",
    ]
    assert series[-2][1] == [3, 0]


def test_an_outcome_from_the_leads_page_moves_a_new_lead_to_contacted(demo, staff):
    booking_id = book(demo)
    move(demo, booking_id, utcnow().replace(second=0, microsecond=0) - timedelta(hours=3))
    with demo.app_context():
        lead_id = db.session.get(Booking, booking_id).lead_id
    page = f"/admin/leads/{lead_id}"
    form = soup(staff.get(page)).select_one(f'form[action="/admin/bookings/{booking_id}/outcome"]')
    assert form is not None, "the lead's page offers the outcome of a call that took place"
    data = {i["name"]: i["value"] for i in form.select("input[type=hidden]")}
    response = staff.post(form["action"], data={**data, "outcome": "done"})
    assert response.headers["Location"] == page
    with demo.app_context():
        lead = db.session.get(Booking, booking_id).lead
        assert lead.status == "contacted"
        assert [e.kind for e in lead.events][-2:] == ["call_done", "status"]
    assert "Call done" in soup(staff.get(page)).select_one("#calls-title").find_next("table").text


def test_a_no_show_leaves_the_lead_new(demo, staff):
    booking_id = book(demo)
    move(demo, booking_id, utcnow().replace(second=0, microsecond=0) - timedelta(hours=3))
    token = csrf_token(staff, "/admin/bookings")
    staff.post(
        f"/admin/bookings/{booking_id}/outcome", data={"csrf_token": token, "outcome": "no_show"}
    )
    with demo.app_context():
        assert db.session.get(Booking, booking_id).lead.status == "new"
