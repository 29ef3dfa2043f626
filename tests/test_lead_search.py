"""Staff search of leads on its index: partial names, e-mails and phone numbers; the index kept
in step through booking, correction, erasure, purge, demo-load and restore; hostile queries;
the migration up and down on both databases."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.leads import search
from clinic.leads.models import Lead
from clinic.leads_admin import queries
from tests.test_leads_admin import (
    book,
    form_token,
    listed_names,
    prepare_users,
    signed_in,
    update,
)

BEFORE = "c4e8f2a6b1d9"  # the revision before the search index
ADA = {"name": "Ada Lovelace", "email": "ada.lovelace@gmail.com", "phone": "07911 123456"}
PEOPLE = {
    "grace": ("Grace Hopper", "grace.hopper@navy.example.org", "+441614960000"),
    "alan": ("Alan Turing", "alan@bletchley.example", "+447700900123"),
}
TRIGGERS = {"lead_search_insert", "lead_search_update", "lead_search_delete"}


@pytest.fixture
def users(demo):
    return prepare_users(demo)


@pytest.fixture
def staff(users, client):
    return signed_in(client, "staff")


def add_lead(app, name: str, email: str, phone: str, days_ago: int = 0) -> int:
    with app.app_context():
        lead = Lead(
            name=name, email=email, phone=phone, created_at=utcnow() - timedelta(days=days_ago)
        )
        db.session.add(lead)
        db.session.commit()
        return lead.id


@pytest.fixture
def people(demo, staff):
    """Ada booked through the form (book_call made her lead); Grace and Alan were added."""
    ids = {"ada": book(demo, staff, ADA)}
    for days, (key, person) in enumerate(PEOPLE.items(), start=1):
        ids[key] = add_lead(demo, *person, days_ago=days)
    return ids


def found(client, q: str) -> list[str]:
    return listed_names(client.get("/admin/leads", query_string={"q": q}))


def assert_index_in_step(app) -> None:
    """SQLite: FTS5's own check that the index holds exactly what `lead` holds."""
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            check = "INSERT INTO lead_search(lead_search, rank) VALUES ('integrity-check', 1)"
            db.session.execute(sa.text(check))
        db.session.rollback()


# One fixture for them all: each search is a GET, each set-up a booking and sign-ins.
SEARCHES = dict(
    [
        ("lovel", ["Ada Lovelace"]),
        ("LOVELACE", ["Ada Lovelace"]),
        ("hop", ["Grace Hopper"]),
        ("lovelace ada", ["Ada Lovelace"]),
        ("grace turing", []),
        ("al", ["Alan Turing"]),
        ("ng al", ["Alan Turing"]),
        ("gmail", ["Ada Lovelace"]),
        ("smi", []),
        ("hopper@navy", ["Grace Hopper"]),
        ("bletchley.ex", ["Alan Turing"]),
        ("07911 123456", ["Ada Lovelace"]),
        ("07911123456", ["Ada Lovelace"]),
        ("+44 7911 123456", ["Ada Lovelace"]),
        ("+447911123456", ["Ada Lovelace"]),
        ("(07911) 123-456", ["Ada Lovelace"]),
        ("0044 7911 123 456", ["Ada Lovelace"]),
        ("+44 (0)7911 123456", ["Ada Lovelace"]),
        ("3456", ["Ada Lovelace"]),
        ("0161 496 0000", ["Grace Hopper"]),
        ("7700 900", ["Alan Turing"]),
        ("900123", ["Alan Turing"]),
        ("example", ["Grace Hopper", "Alan Turing"]),
        ("zzqx", []),
    ]
)


def test_finds_partial_names_emails_and_numbers_in_any_uk_form(staff, people):
    assert {q: found(staff, q) for q in SEARCHES} == SEARCHES


def test_correcting_contact_details_moves_them_in_the_index(demo, staff, people):
    ada = people["ada"]
    fixed = {"csrf_token": form_token(staff, ada, "contact"), "name": "Ada King"}
    fixed["phone"] = "07911 100009"
    assert staff.post(f"/admin/leads/{ada}/contact", data=fixed).status_code == 303
    # Staff have no e-mail form: any writer of `lead` keeps the index right (triggers, index).
    update(demo, Lead, ada, email="ada.king@example.net")
    assert found(staff, "king") == ["Ada King"]
    assert found(staff, "100009") == ["Ada King"]
    assert found(staff, "ada.king@") == ["Ada King"]
    for old in ("lovelace", "07911 123456", "gmail"):
        assert found(staff, old) == [], old
    assert_index_in_step(demo)


def test_an_erased_person_is_not_found_by_their_old_details(demo, staff, people):
    admin = signed_in(demo.test_client(), "admin")
    data = {"csrf_token": form_token(admin, people["ada"], "erase"), "confirm": "y"}
    assert admin.post(f"/admin/leads/{people['ada']}/erase", data=data).status_code == 303
    for old in ("ada", "lovelace", "ada.lovelace@gmail.com", "gmail", "07911 123456", "3456"):
        assert found(staff, old) == [], old
    assert found(staff, "hopper") == ["Grace Hopper"]
    assert_index_in_step(demo)


def test_purged_leads_are_not_found(demo, staff, runner):
    old = add_lead(demo, "Mary Somerville", "mary@example.com", "+447700900555", days_ago=400)
    add_lead(demo, "Mary Anning", "anning@example.com", "+447700900666")
    assert found(staff, "mary") == ["Mary Anning", "Mary Somerville"]
    result = runner.invoke(args=["leads", "purge", "--older-than", "365"])
    assert "Erased 1 lead(s)" in result.output, result.output
    assert found(staff, "mary") == ["Mary Anning"]
    assert found(staff, "somerville") == found(staff, "900555") == []
    with demo.app_context():
        assert db.session.get(Lead, old).erased_at is not None
    assert_index_in_step(demo)


def test_deleted_leads_leave_the_index(demo, staff, people):
    with demo.app_context():
        db.session.execute(sa.delete(Lead).where(Lead.id == people["alan"]))
        db.session.commit()
    assert found(staff, "turing") == []
    assert_index_in_step(demo)


def test_demo_load_fills_the_index(demo, staff, runner):
    result = runner.invoke(args=["demo-load", "--leads", "60", "--seed", "5"])
    assert result.exit_code == 0, result.output
    with demo.app_context():
        lead = db.session.scalar(sa.select(Lead).where(Lead.name.is_not(None)).limit(1))
        surname, phone, email = lead.name.split()[-1], lead.phone, lead.email
    assert lead.name in found(staff, surname[:4])
    assert lead.name in found(staff, phone[-7:])
    assert found(staff, email) == [lead.name]
    assert_index_in_step(demo)


HOSTILE = [
    '"',
    '""',
    "'",
    "*",
    "smi*",
    "-",
    "-ada",
    "%",
    "_",
    "a%e",
    "NEAR",
    "NEAR(ada lovelace)",
    "ada NEAR/2 lovelace",
    "ada OR 1=1",
    "AND",
    "NOT ada",
    "^ada",
    "phone:",
    "name : ada",
    "{name email}: ada",
    "(ada",
    "ada)",
    "\\",
    "+",
    "++44",
    "0" * 40,
    "x" * 5000,
    "é" * 300,
    "😀 ada",
    "\u202e",
    "ＡＤＡ",
]


def _search_answers(client, q: str) -> None:
    response = client.get("/admin/leads", query_string={"q": q})
    assert response.status_code in (200, 400), (q, response.status_code)


def test_hostile_queries_never_fail(staff, people):
    answers = {q: staff.get("/admin/leads", query_string={"q": q}).status_code for q in HOSTILE}
    assert answers == dict.fromkeys(HOSTILE, 200)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(q=st.one_of(st.text(max_size=60), st.text(alphabet='"*-^:(){}%_+ NEARORAND', max_size=30)))
def test_any_query_answers(staff, people, q):
    """NUL is refused with a 400 before any query (test_leads_admin); anything else lists."""
    _search_answers(staff, q)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_piece_of_a_name_or_email_finds_its_lead(demo, people, data):
    """Against a plain substring check in Python: the index finds what it should, no more."""
    person = data.draw(st.sampled_from(list(PEOPLE.values())))
    field = data.draw(st.sampled_from(person[:2])).lower()
    start = data.draw(st.integers(0, len(field) - 1))
    piece = field[start : data.draw(st.integers(start + 1, len(field)))].strip()
    if piece:
        with demo.app_context():
            where = queries.conditions(queries.LeadFilter(q=piece))
            names = set(db.session.scalars(sa.select(Lead.name).where(*where)))
        everyone = [*PEOPLE.values(), tuple(ADA.values())]
        expected = {
            name
            for name, email, _phone in everyone
            if all(word in f"{name} {email}".lower() for word in piece.split())
        }
        assert names == expected, piece


def test_a_broad_search_finds_the_same_leads_read_in_the_lists_order(
    demo, staff, people, monkeypatch
):
    """SQLite: past BROAD matches the list walks its own index and checks each lead against
    the matches (`+0`); what is found, and in which order, stays the same."""
    monkeypatch.setattr(search, "BROAD", 1)
    assert {q: found(staff, q) for q in SEARCHES} == SEARCHES
    with demo.app_context():
        where = queries.conditions(queries.LeadFilter(q="example"))
        sql = str(sa.select(Lead.id).where(*where).compile(db.engine))
        db.session.rollback()
        if db.engine.dialect.name == "sqlite":
            assert "lead.id + " in sql, "the broad form"


def test_the_capped_count_counts_what_the_search_finds(demo, people):
    """The count reads the index its own way (from the FTS5 table on SQLite): same leads."""
    with demo.app_context():
        for status in (None, "new", "lost"):
            counted = {
                q: queries.capped_count(queries.LeadFilter(q=q, status=status)) for q in SEARCHES
            }
            listed = {q: queries.count(queries.LeadFilter(q=q, status=status)) for q in SEARCHES}
            assert counted == listed
        assert [queries.capped_count(queries.LeadFilter(q=q)) for q in SEARCHES] == [
            len(names) for names in SEARCHES.values()
        ]
        db.session.rollback()


def test_the_index_serves_the_search(demo, people):
    """The plan reads the index, not every lead (PostgreSQL told to avoid a scan it could use
    on so few rows)."""
    with demo.app_context():
        where = queries.conditions(queries.LeadFilter(q="hopper"))
        query = sa.select(sa.func.count()).select_from(Lead).where(*where)
        sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
        if db.engine.dialect.name == "sqlite":
            rows = db.session.execute(sa.text("EXPLAIN QUERY PLAN " + sql))
            plan = " ".join(row[-1] for row in rows)
            assert "VIRTUAL TABLE" in plan and "lead_search" in plan, plan
        else:
            db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(row[0] for row in db.session.execute(sa.text("EXPLAIN " + sql)))
            assert search.PG_INDEX in plan, plan
        db.session.rollback()


def _index_objects() -> set[str]:
    if db.engine.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE name IN ('lead_search') OR type = 'trigger'"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE tablename = 'lead'"
    return set(db.session.scalars(sa.text(query)))


def test_the_index_and_its_triggers_exist_at_head(app):
    """A later migration that recreates `lead` on SQLite (batch mode) would drop the
    triggers: this says so."""
    with app.app_context():
        wanted = {"lead_search", *TRIGGERS} if db.engine.dialect.name == "sqlite" else set()
        assert (wanted or {search.PG_INDEX}) <= _index_objects()


def _matches(q: str) -> list[str]:
    """Return the names found; end the transaction, so that migrations may change tables."""
    where = queries.conditions(queries.LeadFilter(q=q))
    names = list(db.session.scalars(sa.select(Lead.name).where(*where).order_by(Lead.name)))
    db.session.rollback()
    return names


def test_migration_fills_the_index_from_existing_leads_and_goes_down(fresh):
    with fresh.app_context():
        upgrade(revision=BEFORE)
        # The table as it was then: a Core insert names only the columns given (the ORM would
        # ask for columns added since, such as name_key).
        ada = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+447911123456"}
        db.session.execute(sa.insert(Lead.__table__).values(**ada))
        db.session.commit()
        upgrade()
        assert _matches("lovel") == _matches("07911 123456") == ["Ada Lovelace"]
        downgrade(revision=BEFORE)
        assert not (_index_objects() & ({"lead_search", search.PG_INDEX} | TRIGGERS))
        db.session.rollback()
        upgrade()
        assert _matches("ada@exa") == ["Ada Lovelace"]
        db.session.remove()
    assert_index_in_step(fresh)


def test_a_restored_backup_searches_at_once(demo, staff, people, runner, fresh, tmp_path):
    backup = tmp_path / "clinic.backup"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    restored = fresh.test_cli_runner().invoke(args=["restore", str(backup)])
    assert restored.exit_code == 0, restored.output
    with fresh.app_context():
        assert _matches("hopp") == ["Grace Hopper"]
        lead = Lead(name="Mary Anning", email="mary@example.com", phone="+447700900666")
        db.session.add(lead)
        db.session.commit()
        assert _matches("anning") == ["Mary Anning"]
        db.session.remove()
    assert_index_in_step(fresh)
