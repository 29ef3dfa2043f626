"""Patients' data rights: erasure leaves no personal data in any table; retention purge."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from clinic.booking import availability, catalogue, tokens
from clinic.booking.models import Booking
from clinic.content.models import Clinic
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.leads.models import Lead, LeadEvent
from clinic.leads_admin import privacy
from clinic.notifications.models import OutboxMessage
from tests.auth_helpers import csrf_token
from tests.booking_helpers import first_free_slot
from tests.helpers import soup
from tests.test_leads_admin import (
    ADA,
    GRACE,
    TOKEN_PAGE,
    audits,
    book,
    form_token,
    listed_names,
    make_leads,
    prepare_users,
    signed_in,
    update,
)

MESSAGE = "Lower back pain for two years."
LANDING = "/articles/amitriptyline-for-back-pain?ref=ada-lovelace-newsletter"
REFERRER = "https://mail.example.com/inbox/ada.lovelace"
NOTE = "Spoke to Ada Lovelace on 07911 100001, call back Friday."


def personal_data_in_tables(needles: list[str]) -> list[str]:
    """Return 'table.column' for every stored value (text, JSON, anything) holding a needle."""
    found = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)).mappings():
            for column, value in row.items():
                text = json.dumps(value) if isinstance(value, list | dict) else str(value)
                if any(needle.lower() in text.lower() for needle in needles):
                    found.append(f"{table.name}.{column}")
    return sorted(set(found))


def counts() -> dict[str, int]:
    models = (Lead, Booking, LeadEvent, OutboxMessage)
    return {
        m.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in models
    }


@pytest.fixture
def users(demo):
    return prepare_users(demo)


@pytest.fixture
def staff(users, client):
    return signed_in(client, "staff")


@pytest.fixture
def ada(demo, staff, users):
    """Ada, with a call three days ahead, a note, a status change and a failed e-mail."""
    lead_id = book(
        demo,
        staff,
        ADA,
        slot=first_free_slot(staff, days_ahead=3),
        utm_source="newsletter",
        utm_campaign="spring",
        landing_page=LANDING,
        referrer=REFERRER,
        **{"from": "amitriptyline-for-back-pain"},
    )
    staff.post(
        f"/admin/leads/{lead_id}/notes",
        data={"csrf_token": form_token(staff, lead_id, "notes"), "note": NOTE},
    )
    staff.post(
        f"/admin/leads/{lead_id}/status",
        data={
            "csrf_token": form_token(staff, lead_id, "status"),
            "status": "contacted",
            "owner": str(users["staff"]),
        },
    )
    staff.get("/admin/leads?q=Ada+Lovelace")  # the search words must not reach the audit trail
    with demo.app_context():
        first = db.session.scalar(sa.select(OutboxMessage.id).order_by(OutboxMessage.id))
    update(
        demo,
        OutboxMessage,
        first,
        status="failed",
        last_error="SMTPRecipientsRefused: {'ada@example.com': (550, 'no')}",
    )
    return lead_id


NEEDLES = [
    "Ada Lovelace",
    "ada@example.com",
    "+447911100001",
    "07911 100001",
    "7911100001",
    MESSAGE,
    "ada-lovelace-newsletter",
    "ada.lovelace",
    "call back Friday",
]


def erase_as_admin(app, lead_id: int):
    admin = signed_in(app.test_client(), "admin")
    data = {"csrf_token": form_token(admin, lead_id, "erase"), "confirm": "y"}
    return admin, admin.post(f"/admin/leads/{lead_id}/erase", data=data)


def test_erase_leaves_no_personal_data_anywhere_and_keeps_counts(demo, staff, users, ada):
    manage = soup(staff.get(_confirmation(demo, staff))).select_one('a[href^="/book/manage/"]')
    with demo.app_context():
        assert personal_data_in_tables(NEEDLES), "the scan finds the data before erasure"
        before = counts()
        pending = db.session.scalar(
            sa.select(sa.func.count()).where(OutboxMessage.status == "pending")
        )
        assert pending == 2
    admin, response = erase_as_admin(demo, ada)
    assert response.status_code == 303
    with demo.app_context():
        assert personal_data_in_tables(NEEDLES) == []
        assert counts() == {**before, "LeadEvent": before["LeadEvent"] + 1}  # + the cancellation
        lead = db.session.get(Lead, ada)
        assert lead.erased_at is not None and lead.status == "contacted"
        assert lead.owner_id == users["staff"]
        assert (lead.utm_source, lead.utm_campaign, lead.source_article) == (
            "newsletter",
            "spring",
            "amitriptyline-for-back-pain",
        )
        assert lead.consent_at is not None and "privacy notice" in lead.consent_text
        booking = db.session.scalar(sa.select(Booking))
        # The call three days ahead is cancelled: nobody can phone the person, and the time
        # goes back to others.
        assert (booking.clinic.slug, booking.status, booking.message) == (
            "london",
            "cancelled",
            None,
        )
        assert availability.is_free(catalogue.by_slug("london"), booking.starts_at, utcnow())
        assert booking.source_article == "amitriptyline-for-back-pain"
        assert [e.kind for e in lead.events] == ["booked", "note", "status", "cancelled"]
        assert lead.events[-1].actor == "system"
        messages = list(db.session.scalars(sa.select(OutboxMessage)))
        assert {m.status for m in messages} == {"failed", "cancelled"}
        assert all(m.recipients == [] and m.attachments == [] for m in messages)
        assert all(m.subject == "[erased]" and m.text_body == "[erased]" for m in messages)
    assert staff.get(manage["href"]).status_code == 404
    [erased] = audits(demo, "lead_erased")
    assert (erased.user_id, erased.target_id, erased.ip_address) == (
        users["admin"],
        ada,
        "127.0.0.1",
    )
    page = soup(admin.get(response.headers["Location"]))
    assert page.h1.get_text(strip=True) == f"Erased lead #{ada}"
    assert not page.select("form[action$='/notes']") and not page.select("form[action$='/erase']")
    assert listed_names(staff.get("/admin/leads")) == [f"Erased lead #{ada}"]
    assert listed_names(staff.get("/admin/leads?q=ada")) == []


def _confirmation(app, client) -> str:
    with app.app_context():
        booking_id = db.session.scalar(sa.select(Booking.id))
        return f"/book/confirmed/{tokens.make_token('confirm', booking_id)}"


def test_erase_needs_the_confirmation_box(demo, users, ada):
    admin = signed_in(demo.test_client(), "admin")
    data = {"csrf_token": form_token(admin, ada, "erase")}
    response = admin.post(f"/admin/leads/{ada}/erase", data=data)
    assert response.status_code == 422
    assert "Tick the box" in soup(response).select_one("#confirm-error").get_text()
    with demo.app_context():
        assert db.session.get(Lead, ada).erased_at is None
    assert audits(demo, "lead_erased") == []


def test_staff_may_not_erase(demo, staff, ada):
    page = soup(staff.get(f"/admin/leads/{ada}"))
    assert not page.select("form[action$='/erase']")
    token = form_token(staff, ada, "notes")
    response = staff.post(f"/admin/leads/{ada}/erase", data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 403
    with demo.app_context():
        assert db.session.get(Lead, ada).erased_at is None


def test_an_erased_lead_cannot_change(demo, staff, ada):
    token = form_token(staff, ada, "notes")
    erase_as_admin(demo, ada)
    response = staff.post(f"/admin/leads/{ada}/notes", data={"csrf_token": token, "note": NOTE})
    assert response.status_code == 303
    with demo.app_context():
        kinds = [e.kind for e in db.session.get(Lead, ada).events]
        assert kinds == ["booked", "note", "status", "cancelled"]  # no note after erasure
        assert personal_data_in_tables(NEEDLES) == []


def test_erase_keeps_past_calls_as_they_were(demo, ada):
    """Only calls still to come are cancelled: a past call stays in the reports as it went."""
    with demo.app_context():
        booking = db.session.scalar(sa.select(Booking))
        later = booking.starts_at + timedelta(hours=1)  # erased after the call took place
        summary = privacy.erase_lead(db.session.get(Lead, ada), now=later)
        db.session.commit()
        assert db.session.get(Booking, booking.id).status == "confirmed"
        assert "calls_cancelled=0" in summary
        kinds = db.session.scalars(sa.select(LeadEvent.kind).where(LeadEvent.lead_id == ada))
        assert "cancelled" not in list(kinds)


def test_erase_is_idempotent(demo, ada):
    with demo.app_context():
        lead = db.session.get(Lead, ada)
        privacy.erase_lead(lead)
        first = lead.erased_at
        db.session.commit()
    admin = signed_in(demo.test_client(), "admin")
    data = {"csrf_token": csrf_token(admin, TOKEN_PAGE), "confirm": "y"}
    response = admin.post(f"/admin/leads/{ada}/erase", data=data)
    assert response.status_code == 303
    assert "already erased" in admin.get(response.headers["Location"]).get_data(as_text=True)
    with demo.app_context():
        assert db.session.get(Lead, ada).erased_at == first
    assert len(audits(demo, "lead_erased")) == 1  # the first erase only: nothing twice


# ---- retention purge ----


@pytest.fixture
def retention(demo, staff):
    """Leads old and new, converted or not, with and without a call ahead."""
    old = utcnow() - timedelta(days=400)
    now = utcnow()
    ids = {}
    ids["old_new"] = book(demo, staff, ADA)  # booked through the form, the call long past
    ids["old_lost_cancelled"] = book(demo, staff, GRACE, "manchester")
    ids["old_call_ahead"] = make_leads(demo, 1, prefix="ahead")[0]
    with demo.app_context():
        bookings = {b.lead_id: b for b in db.session.scalars(sa.select(Booking))}
        past = bookings[ids["old_new"]]
        past.starts_at = now - timedelta(days=380)
        bookings[ids["old_lost_cancelled"]].status = "cancelled"
        db.session.add(
            Booking(
                lead_id=ids["old_call_ahead"],
                clinic_id=past.clinic_id,
                starts_at=now + timedelta(days=30, minutes=7),
            )
        )
        db.session.commit()
    for name, status in (
        ("old_qualified", "qualified"),
        ("old_treatment", "treatment_booked"),
        ("old_erased", "new"),
    ):
        ids[name] = make_leads(demo, 1, prefix=name, status=status)[0]
    update(demo, Lead, ids["old_erased"], erased_at=old, name=None, email=None, phone=None)
    update(demo, Lead, ids["old_lost_cancelled"], status="lost")
    ids["old_but_active"] = make_leads(demo, 1, prefix="active")[0]
    for name in ids:
        update(demo, Lead, ids[name], created_at=old)
    with demo.app_context():
        events = sa.update(LeadEvent).where(LeadEvent.lead_id.in_(ids.values()))
        db.session.execute(events.values(created_at=old))
        # First seen long ago, but staff spoke to them ten days ago: the clock starts again.
        db.session.add(
            LeadEvent(
                lead_id=ids["old_but_active"],
                kind="note",
                detail="Called back",
                actor="staff",
                created_at=now - timedelta(days=10),
            )
        )
        db.session.commit()
    ids["recent"] = make_leads(demo, 1, prefix="recent")[0]
    update(demo, Lead, ids["recent"], created_at=now - timedelta(days=29))
    return ids


def test_purge_erases_only_old_unconverted_leads_and_audits(demo, runner, retention):
    result = runner.invoke(args=["leads", "purge", "--older-than", "30"])
    assert result.exit_code == 0, result.output
    assert "Erased 2 lead(s)" in result.output
    with demo.app_context():
        erased = {
            name
            for name, lead_id in retention.items()
            if db.session.get(Lead, lead_id).erased_at is not None
        }
        assert erased == {"old_new", "old_lost_cancelled", "old_erased"}
        assert (
            personal_data_in_tables(
                [
                    "Ada Lovelace",
                    "ada@example.com",
                    "Grace Hopper",
                    "grace@example.org",
                    "+447911100002",
                ]
            )
            == []
        )
        assert db.session.get(Lead, retention["recent"]).name is not None
    entries = audits(demo, "lead_erased")
    assert sorted(e.target_id for e in entries) == sorted(
        [retention["old_new"], retention["old_lost_cancelled"]]
    )
    assert all(e.user_email == "system" and e.user_id is None for e in entries)
    assert all("older than 30 days" in e.detail for e in entries)
    again = runner.invoke(args=["leads", "purge", "--older-than", "30"])
    assert "Erased 0 lead(s)" in again.output


def test_purge_dry_run_only_counts(demo, runner, retention):
    result = runner.invoke(args=["leads", "purge", "--older-than", "30", "--dry-run"])
    assert result.exit_code == 0 and "Would erase 2 lead(s)" in result.output
    assert audits(demo, "lead_erased") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Missing option '--older-than'"),
        (["--older-than", "0"], "0 is not in the range x>=1"),
        (["--older-than", "soon"], "'soon' is not a valid integer"),
    ],
)
def test_purge_needs_a_number_of_days(demo, runner, args, message):
    result = runner.invoke(args=["leads", "purge", *args])
    assert result.exit_code == 2 and message in result.output


def test_purge_help_has_the_cron_line(demo, runner):
    result = runner.invoke(args=["leads", "purge", "--help"])
    assert "flask --app clinic leads purge --older-than 365" in result.output


def test_purge_service_refuses_zero_days(demo):
    with demo.app_context(), pytest.raises(ValueError):
        privacy.purge(0)


# ---- the purge in batches ----


def _with_history(app, lead_ids: list[int], at) -> None:
    """Give each lead a past call with a message, a note, a booked line and two e-mails."""
    with app.app_context():
        clinic_id = db.session.scalar(sa.select(Clinic.id).order_by(Clinic.id))
        for lead in db.session.scalars(sa.select(Lead).where(Lead.id.in_(lead_ids))):
            starts = at + timedelta(minutes=15 * lead.id)
            db.session.add(
                Booking(lead_id=lead.id, clinic_id=clinic_id, starts_at=starts, status="done")
            )
            db.session.add(LeadEvent(lead_id=lead.id, kind="note", detail="Knee", created_at=at))
            line = f"Booked by {lead.name}"
            db.session.add(LeadEvent(lead_id=lead.id, kind="booked", detail=line, created_at=at))
            for status in ("sent", "pending"):
                db.session.add(
                    OutboxMessage(
                        kind="booking.confirmation",
                        recipients=[lead.email],
                        subject=f"Your call, {lead.name}",
                        text_body=f"Dear {lead.name}",
                        lead_id=lead.id,
                        status=status,
                        created_at=at,
                    )
                )
            lead.created_at = at
        db.session.execute(
            sa.update(Booking).where(Booking.lead_id.in_(lead_ids)).values(message="My knee")
        )
        db.session.commit()


def test_purge_in_batches_erases_exactly_the_old_leads_and_their_rows(demo):
    old = utcnow() - timedelta(days=400)
    doomed = make_leads(demo, 10, prefix="old")
    recent = make_leads(demo, 2, prefix="recent")
    won = make_leads(demo, 1, prefix="won", status="qualified")
    _with_history(demo, doomed + won, old)
    _with_history(demo, recent, utcnow() - timedelta(days=2))
    with demo.app_context():
        batches = []
        for erased in privacy.purge_in_batches(30, batch_size=3):
            db.session.commit()  # as the command does: one transaction per batch
            batches.append(erased)
        assert batches == [3, 3, 3, 1]
        leads = {lead.id: lead for lead in db.session.scalars(sa.select(Lead))}
        assert {i for i, lead in leads.items() if lead.erased_at} == set(doomed)
        assert all(leads[i].name is None and leads[i].email is None for i in doomed)
        assert all(leads[i].name for i in recent + won)
        messages = dict(db.session.execute(sa.select(Booking.lead_id, Booking.message)).all())
        assert {messages[i] for i in doomed} == {None}
        assert {messages[i] for i in recent + won} == {"My knee"}
        details = db.session.execute(sa.select(LeadEvent.lead_id, LeadEvent.detail)).all()
        assert {d for i, d in details if i in doomed} == {privacy.ERASED}
        assert {d for i, d in details if i not in doomed} >= {"Knee"}
        emails = db.session.execute(
            sa.select(OutboxMessage.lead_id, OutboxMessage.subject, OutboxMessage.status)
        ).all()
        assert {(s, st) for i, s, st in emails if i in doomed} == {
            (privacy.ERASED, "sent"),
            (privacy.ERASED, "cancelled"),
        }
        assert all(s.startswith("Your call") for i, s, _st in emails if i not in doomed)
        assert personal_data_in_tables(["old3@example.test"]) == []
    entries = audits(demo, "lead_erased")
    assert sorted(e.target_id for e in entries) == sorted(doomed)
    assert all("bookings=1 calls_cancelled=0 events_erased=2 emails=2" in e.detail for e in entries)


def test_purge_leaves_a_lead_that_booked_after_it_was_chosen(demo):
    """The batch's first statement checks the rules again on the rows it changes."""
    old = utcnow() - timedelta(days=400)
    ids = make_leads(demo, 2, prefix="old")
    _with_history(demo, ids, old)
    with demo.app_context():
        rules = privacy.purgeable(timedelta(days=30), utcnow())
        chosen = list(db.session.scalars(rules.with_only_columns(Lead.id)))
        clinic_id = db.session.scalar(sa.select(Clinic.id).order_by(Clinic.id))
        ahead = utcnow() + timedelta(days=3)
        db.session.add(Booking(lead_id=ids[0], clinic_id=clinic_id, starts_at=ahead))
        db.session.flush()
        assert chosen == sorted(ids) and privacy._claim(rules, chosen) == [ids[1]]


def test_purge_command_takes_a_batch_size(demo, runner):
    doomed = make_leads(demo, 3, prefix="old")
    _with_history(demo, doomed, utcnow() - timedelta(days=400))
    result = runner.invoke(args=["leads", "purge", "--older-than", "30", "--batch-size", "2"])
    assert result.exit_code == 0 and "Erased 3 lead(s)" in result.output, result.output
    refused = runner.invoke(args=["leads", "purge", "--older-than", "30", "--batch-size", "0"])
    assert refused.exit_code == 2 and "0 is not in the range x>=1" in refused.output
