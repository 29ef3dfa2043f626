"""backup and restore: a consistent copy taken while patients keep booking, restored whole
into a fresh database (a new SQLite file, or a new PostgreSQL database)."""

import threading
import time

import pytest
import sqlalchemy as sa

from clinic.booking.models import Booking
from clinic.extensions import db
from clinic.leads.models import Lead
from tests.booking_helpers import booking_data


class Booker(threading.Thread):
    """Book calls through the public form, one after another, until told to stop."""

    def __init__(self, app):
        super().__init__(daemon=True)
        self.app, self.stopping, self.failure = app, threading.Event(), None
        self.confirmed: list[tuple[float, str]] = []  # when the 303 arrived, whose booking

    def run(self):
        client = self.app.test_client()
        try:
            for number in range(10_000):
                if self.stopping.is_set():
                    return
                email = f"patient{number}@example.com"
                response = client.post("/book", data=booking_data(client, email=email))
                if response.status_code == 303:
                    self.confirmed.append((time.monotonic(), email))
        except Exception as error:  # shown by the test, not lost in the thread
            self.failure = error

    def wait_for(self, count: int, after: float = 0.0, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while sum(at > after for at, _ in self.confirmed) < count:
            assert self.failure is None, self.failure
            assert time.monotonic() < deadline, f"fewer than {count} bookings in {timeout} s"
            time.sleep(0.05)


def _booked_emails(app) -> set[str]:
    with app.app_context():
        query = sa.select(Lead.email).join(Booking, Booking.lead_id == Lead.id)
        return set(db.session.scalars(query.where(Booking.status == "confirmed")))


def test_a_backup_taken_while_booking_restores_every_confirmed_booking(
    demo, runner, fresh, tmp_path
):
    demo.config["BOOKING_RATE_LIMIT"] = "10000 per minute"
    backup = tmp_path / "clinic.backup"
    booker = Booker(demo)
    booker.start()
    try:
        booker.wait_for(3)
        began = time.monotonic()
        result = runner.invoke(args=["backup", str(backup)])
        booker.wait_for(2, after=time.monotonic())  # the site kept booking during and after
    finally:
        booker.stopping.set()
        booker.join(timeout=60)
    assert result.exit_code == 0, result.output
    assert "Backed up to" in result.output
    shown_before = {email for at, email in booker.confirmed if at < began}
    restored = fresh.test_cli_runner().invoke(args=["restore", str(backup)])
    assert restored.exit_code == 0, restored.output
    assert shown_before <= _booked_emails(fresh)
    assert len(_booked_emails(fresh)) <= len(booker.confirmed)


def test_restore_refuses_a_database_that_holds_data_unless_forced(demo, runner, fresh, tmp_path):
    backup = tmp_path / "clinic.backup"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    refused = runner.invoke(args=["restore", str(backup)])
    assert refused.exit_code == 1
    assert "This database is not empty (rows in" in refused.output
    fresh_runner = fresh.test_cli_runner()
    assert fresh_runner.invoke(args=["restore", str(backup)]).exit_code == 0
    again = fresh_runner.invoke(args=["restore", str(backup)])
    assert again.exit_code == 1
    forced = fresh_runner.invoke(args=["restore", "--force", str(backup)])
    assert forced.exit_code == 0, forced.output
    with fresh.app_context():
        assert db.session.scalar(sa.text("SELECT count(*) FROM clinic")) == 3


def test_restore_refuses_a_file_that_is_not_a_backup(fresh, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database")
    result = fresh.test_cli_runner().invoke(args=["restore", str(junk)])
    assert result.exit_code == 1
    assert "not a SQLite backup" in result.output or "pg_restore failed" in result.output
    missing = fresh.test_cli_runner().invoke(args=["restore", str(tmp_path / "none.dump")])
    assert "There is no backup file at" in missing.output


def test_backup_without_pg_dump_on_path_says_what_to_install(
    database_url, app, runner, tmp_path, monkeypatch
):
    if database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL only: SQLite backs up with Python's own sqlite3")
    monkeypatch.setenv("PATH", "")
    result = runner.invoke(args=["backup", str(tmp_path / "clinic.dump")])
    assert result.exit_code == 1
    assert "pg_dump was not found on PATH" in result.output
    assert "postgresql-client" in result.output
    assert not list(tmp_path.iterdir())
