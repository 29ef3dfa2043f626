"""The e-mail outbox: queued in the caller's transaction, delivered over real SMTP with retries."""

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from jinja2 import ChoiceLoader, DictLoader

from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.notifications import outbox
from clinic.notifications.models import OutboxMessage

NOTHING = {"sent": 0, "failed": 0, "retry": 0}
INVITE = "BEGIN:VCALENDAR\r\nSUMMARY:Discovery call with Zoë – café\r\nEND:VCALENDAR\r\n"


def queued(subject="Hello", recipients=("patient@example.test",), **fields) -> OutboxMessage:
    """Queue a plain e-mail of kind "test" unless told otherwise."""
    return outbox.queue(list(recipients), subject, "Text body", **{"kind": "test", **fields})


def reload(message_id: int) -> OutboxMessage:
    return db.session.get(OutboxMessage, message_id, populate_existing=True)


def subjects(messages) -> Counter:
    return Counter(message["Subject"] for message in messages)


def test_send_due_delivers_text_html_and_attachment(mail_app, smtp_server):
    with mail_app.app_context():
        message = outbox.queue(
            ["patient@example.test", "staff@example.test"],
            "Your call is booked",
            "Plain text: café",
            "<p>HTML: café</p>",
            kind="booking.patient",
            booking_id=7,
            attachments=[
                {
                    "filename": "invite.ics",
                    "content_type": "text/calendar; method=REQUEST",
                    "data": INVITE,
                }
            ],
        )
        db.session.commit()
        assert outbox.send_due() == {**NOTHING, "sent": 1}
        stored = reload(message.id)
        assert (stored.status, stored.attempts, stored.claimed_until) == ("sent", 1, None)
        assert stored.sent_at is not None
        message_id = stored.id
    (received,) = smtp_server.wait_for(1)
    assert received["Subject"] == "Your call is booked"
    assert received["Message-ID"].startswith(f"<outbox.{message_id}.")
    assert set(received["X-RcptTo"].split(", ")) == {"patient@example.test", "staff@example.test"}
    parts = {part.get_content_type(): part for part in received.walk()}
    assert "café" in _text(parts["text/plain"])
    assert _text(parts["text/html"]) == "<p>HTML: café</p>"
    invite = parts["text/calendar"]
    assert invite.get_filename() == "invite.ics"
    assert _text(invite) == INVITE


def _text(part) -> str:
    return part.get_payload(decode=True).decode(part.get_content_charset())


def test_future_and_cancelled_messages_wait(mail_app, smtp_server):
    with mail_app.app_context():
        queued("Tomorrow", not_before=utcnow() + timedelta(hours=1))
        dropped = queued("Dropped reminder", kind="booking.reminder", booking_id=5)
        queued("Other booking's reminder", kind="booking.reminder", booking_id=6)
        queued("Same booking, other kind", kind="booking.patient", booking_id=5)
        assert outbox.cancel_pending(booking_id=5, kind="booking.reminder") == 1
        db.session.commit()
        assert outbox.send_due() == {**NOTHING, "sent": 2}
        assert outbox.send_due(now=utcnow() + timedelta(hours=2)) == {**NOTHING, "sent": 1}
        assert outbox.send_due(now=utcnow() + timedelta(days=9)) == NOTHING
        assert reload(dropped.id).status == "cancelled"
    assert subjects(smtp_server.wait_for(3)) == {
        "Other booking's reminder": 1,
        "Same booking, other kind": 1,
        "Tomorrow": 1,
    }


def test_cancel_pending_needs_a_filter(app):
    with app.app_context(), pytest.raises(ValueError):
        outbox.cancel_pending()


def test_smtp_down_backs_off_then_delivers_each_once(mail_app, smtp_server):
    smtp_server.stop()
    with mail_app.app_context():
        ids = [queued(f"Message {n}").id for n in range(3)]
        db.session.commit()
        start = utcnow()
        assert outbox.send_due(now=start) == {**NOTHING, "retry": 3}
        first = [reload(i) for i in ids]
        assert {(m.status, m.attempts, m.not_before - start) for m in first} == {
            ("pending", 1, timedelta(seconds=30))
        }
        assert all("ConnectionRefusedError" in m.last_error for m in first)
        assert outbox.send_due(now=start + timedelta(seconds=29)) == NOTHING
        later = start + timedelta(seconds=31)
        assert outbox.send_due(now=later) == {**NOTHING, "retry": 3}
        waits = {(m.attempts, m.not_before - later) for m in (reload(i) for i in ids)}
        assert waits == {(2, timedelta(minutes=2))}
        smtp_server.start()
        assert outbox.send_due(now=later + timedelta(hours=1)) == {**NOTHING, "sent": 3}
        assert outbox.send_due(now=later + timedelta(days=1)) == NOTHING
        assert {reload(i).status for i in ids} == {"sent"}
    received = smtp_server.wait_for(3)
    assert subjects(received) == {"Message 0": 1, "Message 1": 1, "Message 2": 1}
    assert len({m["Message-ID"] for m in received}) == 3


@pytest.mark.parametrize(
    ("attempts", "wait"),
    [
        (1, timedelta(seconds=30)),
        (2, timedelta(minutes=2)),
        (3, timedelta(minutes=8)),
        (4, timedelta(minutes=32)),
        (5, timedelta(minutes=128)),
        (6, timedelta(hours=6)),
        (60, timedelta(hours=6)),
    ],
)
def test_backoff_grows_and_is_capped(attempts, wait):
    assert outbox.backoff(attempts) == wait


def test_spent_attempts_fail_and_retry_sends_again(mail_app, smtp_server):
    smtp_server.stop()
    with mail_app.app_context():
        message = queued("Stubborn")
        message.max_attempts = 2
        db.session.commit()
        start = utcnow()
        assert outbox.send_due(now=start) == {**NOTHING, "retry": 1}
        assert outbox.send_due(now=start + timedelta(hours=1)) == {**NOTHING, "failed": 1}
        failed = reload(message.id)
        assert (failed.status, failed.attempts) == ("failed", 2)
        assert failed.last_error.startswith("ConnectionRefusedError")
        assert outbox.send_due(now=start + timedelta(days=30)) == NOTHING
        retried = outbox.retry(message.id)
        db.session.commit()
        assert (retried.status, retried.attempts) == ("pending", 2)
        smtp_server.start()
        assert outbox.send_due() == {**NOTHING, "sent": 1}
        assert reload(message.id).attempts == 3
        with pytest.raises(ValueError):
            outbox.retry(message.id)  # sent: nothing to retry
    assert subjects(smtp_server.wait_for(1)) == {"Stubborn": 1}


def test_two_workers_send_each_message_once(mail_app, smtp_server):
    with mail_app.app_context():
        ids = [queued(f"Message {n:02}").id for n in range(30)]
        db.session.commit()
    start_together = threading.Barrier(2)
    sent: list[int] = []
    errors: list[BaseException] = []

    def worker():
        try:
            with mail_app.app_context():
                start_together.wait()
                while any((counts := outbox.send_due(limit=3)).values()):
                    sent.append(counts["sent"])
        except BaseException as error:  # reported below, from the test's thread
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert sum(sent) == 30
    received = smtp_server.wait_for(30)
    assert subjects(received) == {f"Message {n:02}": 1 for n in range(30)}
    with mail_app.app_context():
        rows = db.session.execute(sa.select(OutboxMessage.status, OutboxMessage.attempts)).all()
        assert set(rows) == {("sent", 1)} and len(rows) == len(ids)


def test_expired_lease_is_claimed_again(mail_app, smtp_server):
    with mail_app.app_context():
        abandoned, in_flight = queued("Worker died"), queued("Being sent")
        for message, lease in ((abandoned, -1), (in_flight, 60)):
            message.status, message.attempts = "sending", 1
            message.claimed_until = utcnow() + timedelta(seconds=lease)
        db.session.commit()
        assert outbox.send_due() == {**NOTHING, "sent": 1}
        assert (reload(abandoned.id).status, reload(abandoned.id).attempts) == ("sent", 2)
        assert reload(in_flight.id).status == "sending"
    assert subjects(smtp_server.wait_for(1)) == {"Worker died": 1}


def test_a_lapsed_lease_cannot_record_an_outcome(app):
    """A worker whose lease ran out must not overwrite the state of the one that took over."""
    with app.app_context():
        message_id = queued().id
        db.session.commit()
        now = utcnow()
        assert outbox._claim_next(now) == (message_id, 1)
        assert outbox._claim_next(now) is None
        assert outbox._claim_next(now + timedelta(minutes=2)) == (message_id, 2)
        outbox._finish(message_id, 1, status="sent")
        assert (reload(message_id).status, reload(message_id).attempts) == ("sending", 2)


def test_queue_writes_in_the_callers_transaction(app):
    with app.app_context():
        message = outbox.queue("one@example.test", "Two\nlines " + "x" * 300, "Body", kind="test")
        assert message.recipients == ["one@example.test"]
        assert message.subject.startswith("Two lines x") and len(message.subject) == 255
        assert (message.status, message.attempts, message.max_attempts) == ("pending", 0, 8)
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0


@pytest.mark.parametrize(
    ("recipients", "attachments", "error"),
    [
        ([], (), ValueError),
        (
            ["a@example.test"],
            [{"filename": "x.pdf", "content_type": "application/pdf", "data": b"%"}],
            TypeError,
        ),
    ],
)
def test_queue_refuses_what_could_never_be_sent(app, recipients, attachments, error):
    with app.app_context(), pytest.raises(error):
        outbox.queue(recipients, "Subject", "Body", kind="test", attachments=attachments)


def test_queue_template_renders_text_and_optional_html(app):
    templates = {
        "email/outbox_test.txt": "Hello {{ name }}, see you soon.",
        "email/outbox_test.html": "<p>Hello {{ name }}</p>",
        "email/outbox_plain.txt": "Only text for {{ name }}.",
    }
    app.jinja_loader = ChoiceLoader([DictLoader(templates), app.jinja_loader])
    with app.test_request_context():
        both = outbox.queue_template(
            ["a@example.test"], "Both", "outbox_test", {"name": "<Zoë>"}, kind="test", lead_id=3
        )
        plain = outbox.queue_template(
            ["a@example.test"], "Plain", "outbox_plain", {"name": "Zoë"}, kind="test"
        )
        assert both.text_body == "Hello <Zoë>, see you soon."
        assert both.html_body == "<p>Hello &lt;Zoë&gt;</p>"
        assert (both.lead_id, both.kind) == (3, "test")
        assert (plain.text_body, plain.html_body) == ("Only text for Zoë.", None)


def test_retry_refuses_unknown_messages(app):
    with app.app_context(), pytest.raises(ValueError):
        outbox.retry(12345)


def test_send_command_prints_counts(mail_app, smtp_server):
    with mail_app.app_context():
        queued("First")
        queued("Second")
        db.session.commit()
    result = mail_app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert "Outbox: 2 sent, 0 to retry, 0 failed." in result.output
    assert subjects(smtp_server.wait_for(2)) == {"First": 1, "Second": 1}


def test_work_command_once(mail_app, smtp_server):
    with mail_app.app_context():
        message_id = queued("Once").id
        db.session.commit()
    result = mail_app.test_cli_runner().invoke(args=["outbox", "work", "--once"])
    assert result.exit_code == 0, result.output
    assert subjects(smtp_server.wait_for(1)) == {"Once": 1}
    with mail_app.app_context():
        assert reload(message_id).status == "sent"


def test_work_sends_as_messages_arrive_until_stopped(mail_app, smtp_server):
    stop = threading.Event()

    def run():
        with mail_app.app_context():
            outbox.work(poll_seconds=0.05, stop=stop)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        for subject in ("Early", "Late"):
            with mail_app.app_context():
                queued(subject)
                db.session.commit()
            smtp_server.wait_for(1 if subject == "Early" else 2)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert subjects(smtp_server.messages) == {"Early": 1, "Late": 1}


def test_work_survives_database_errors(app, monkeypatch, caplog):
    stop = threading.Event()
    calls = []

    def database_down_once():
        calls.append(len(calls))
        if len(calls) == 1:
            raise sa.exc.OperationalError("SELECT", {}, ConnectionError("server has gone away"))
        stop.set()
        return NOTHING

    monkeypatch.setattr(outbox, "send_due", database_down_once)
    with app.app_context():
        outbox.work(poll_seconds=0.01, stop=stop)
    assert len(calls) == 2
    assert "database error" in caplog.text


def test_worker_process_delivers_and_stops_on_sigterm(mail_app, smtp_server, database_url):
    """The process `serve` starts beside gunicorn: it sends, and SIGTERM ends it cleanly."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "worker-test",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_server.port),
    }
    command = [sys.executable, "-m", "flask", "--app", "clinic", "outbox", "work", "--poll", "0.2"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        with mail_app.app_context():
            queued("From the worker process")
            db.session.commit()
        smtp_server.wait_for(1, timeout=60)
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
    assert process.returncode == 0, output
    assert "Outbox worker: stopped." in output
    assert subjects(smtp_server.messages) == {"From the worker process": 1}


def _plan(statement) -> str:
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
    rows = db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}"))
    return " | ".join(row[-1] for row in rows)


def test_with_years_of_sent_mail_sqlite_reads_the_unsent_off_an_index(app):
    """The worker's claim and the health figures (every poll, every dashboard) read the few
    unsent messages, not every e-mail sent: with ANALYZE's figures too, which tell SQLite that
    a status is half the table."""
    from clinic.notifications import health

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's planner: PostgreSQL knows the most common values")
        now = utcnow()
        db.session.execute(
            sa.insert(OutboxMessage),
            [
                {
                    "kind": "test",
                    "recipients": ["a@example.test"],
                    "subject": "s",
                    "text_body": "t",
                    "status": "sent" if n % 2 else "failed",
                    "not_before": now,
                    "created_at": now,
                }
                for n in range(400)
            ],
        )
        db.session.execute(sa.text("ANALYZE"))
        claim = sa.select(outbox._oldest_due_sqlite(now))
        assert "SCAN outbox_message" not in _plan(claim), _plan(claim)
        seen: list[tuple] = []

        def listen(_connection, _cursor, statement, parameters, *_args):
            seen.append((statement, parameters))

        sa.event.listen(db.engine, "before_cursor_execute", listen)
        try:
            health.measure(timedelta(minutes=15), timedelta(hours=24), now)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listen)
        connection = db.session.connection()
        for statement, parameters in seen:
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plan = " | ".join(row[-1] for row in rows)
            assert "SCAN outbox_message" not in plan, plan
        db.session.rollback()
