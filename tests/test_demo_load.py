"""demo-load: counts and spreads of the made-up data, its refusal of real leads, and every
admin page the benchmark times answering on it."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from clinic.audit.models import AuditEntry
from clinic.booking.models import Booking
from clinic.demo import services, volume
from clinic.extensions import db
from clinic.leads.models import Lead, LeadEvent
from clinic.notifications.models import OutboxMessage
from tests.auth_helpers import make_users
from tests.bench.admin_scale import admin_pages, signed_in_client, time_export

LEADS = 300


@pytest.fixture
def loaded(demo, runner):
    result = runner.invoke(args=["demo-load", "--leads", str(LEADS), "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert f"Made {LEADS} lead" in result.output
    return demo


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _values(column) -> dict:
    return dict(db.session.execute(sa.select(column, sa.func.count()).group_by(column)).all())


def test_demo_load_makes_each_table_in_proportion(loaded):
    with loaded.app_context():
        assert _count(Lead) == LEADS
        calls = _count(Booking)
        assert 1.1 * LEADS <= calls <= 1.45 * LEADS
        assert 3 * LEADS <= _count(LeadEvent) <= 6 * LEADS
        assert 6 * LEADS <= _count(AuditEntry) <= 11 * LEADS
        assert _count(OutboxMessage) == calls


def test_demo_load_spreads_dates_statuses_clinics_and_sources(loaded):
    with loaded.app_context():
        first, last = db.session.execute(
            sa.select(sa.func.min(Lead.created_at), sa.func.max(Lead.created_at))
        ).one()
        now = datetime.now(UTC)
        assert now - timedelta(days=5 * 366) < first < now - timedelta(days=4 * 365)
        assert now - timedelta(days=60) < last < now
        assert set(_values(Lead.status)) == set(volume.STATUS_WEIGHTS.values)
        assert {"done", "no_show", "cancelled"} <= set(_values(Booking.status))
        assert len(_values(Booking.clinic_id)) == 3
        assert {"google", "facebook", "phone"} <= set(_values(Lead.utm_source))
        assert len(_values(Lead.source_article)) >= 3
        assert 0 < _count(Lead, Lead.erased_at.is_not(None)) < LEADS / 2


def test_demo_load_marks_its_people_and_never_doubles_a_slot(loaded):
    with loaded.app_context():
        assert _count(Lead, Lead.email.not_like(f"%@{volume.DOMAIN}")) == 0
        assert services.real_leads() == 0
        doubled = (
            sa.select(Booking.clinic_id, Booking.starts_at)
            .where(Booking.status != "cancelled")
            .group_by(Booking.clinic_id, Booking.starts_at)
            .having(sa.func.count() > 1)
        )
        assert db.session.execute(doubled).all() == []


def test_demo_load_adds_to_its_own_data_and_new_rows_get_new_ids(loaded, runner):
    again = runner.invoke(args=["demo-load", "--leads", "20"])
    assert again.exit_code == 0, again.output
    with loaded.app_context():
        lead = Lead(email="after@example.test", name="After", status="new")
        db.session.add(lead)
        db.session.commit()
        assert lead.id == LEADS + 21
        assert _count(Lead) == LEADS + 21


def test_demo_load_refuses_a_database_with_real_leads(demo, runner):
    with demo.app_context():
        db.session.add(Lead(email="ada@example.com", name="Ada Lovelace", status="new"))
        db.session.commit()
    refused = runner.invoke(args=["demo-load", "--leads", "5"])
    assert refused.exit_code == 1
    assert "holds 1 lead(s) demo-load did not make" in refused.output
    with demo.app_context():
        assert _count(Lead) == 1
    forced = runner.invoke(args=["demo-load", "--leads", "5", "--force"])
    assert forced.exit_code == 0, forced.output
    with demo.app_context():
        assert _count(Lead) == 6


def test_sqlite_times_are_written_as_sqlalchemy_writes_them(app):
    with app.app_context():
        dialect = db.engine.dialect
    column = Lead.__table__.c.created_at
    own = column.type.dialect_impl(dialect).bind_processor(dialect) or (lambda v: v)
    quick = services._converter(column, dialect)
    moment = datetime(2024, 3, 31, 1, 30, 5, 7, tzinfo=UTC)
    assert quick(moment) == own(moment)
    assert quick(None) is None


def test_every_admin_page_the_benchmark_times_answers_on_demo_data(loaded):
    make_users(loaded)
    client = signed_in_client(loaded)
    for label, url in admin_pages(loaded):
        assert client.get(url).status_code == 200, label
    export = time_export(client, repeat=1)
    assert export["rows"] == LEADS
