"""Watching the site: /metrics, JSON logs with request ids, /readyz, stalled e-mail incidents."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic.command import downgrade, upgrade
from alembic.script import ScriptDirectory
from prometheus_client.parser import text_string_to_metric_families

from clinic import create_app
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.monitoring import incidents
from clinic.monitoring.logs import new_request_id
from clinic.monitoring.models import OutboxIncident
from clinic.notifications import outbox
from clinic.notifications.models import OutboxMessage
from tests.auth_helpers import login, make_users
from tests.booking_helpers import GOOD, booking_data
from tests.conftest import app_config

OUTSIDE = "203.0.113.9"


def scrape(client, **request) -> dict[tuple, float]:
    """Read /metrics with Prometheus's own parser: {(sample name, labels...): value}."""
    response = client.get("/metrics", **request)
    assert response.status_code == 200, response.status_code
    assert response.content_type.startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, *sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    """Sum the samples of `name` whose labels include `labels` (0 when there are none)."""
    wanted = set(labels.items())
    return sum(v for (n, *pairs), v in samples.items() if n == name and wanted <= set(pairs))


@pytest.fixture
def make_app(migrated):
    """Build apps with other settings on the test database; close their connections after."""
    made = []

    def make(**overrides):
        made.append(create_app(app_config(migrated, **overrides)))
        return made[-1]

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def late_email(minutes: int = 30, **fields) -> OutboxMessage:
    """An e-mail that fell due `minutes` ago and was never sent (flushed)."""
    due = utcnow() - timedelta(minutes=minutes)
    message = outbox.queue("patient@example.test", "Your call", "Text", kind="test", not_before=due)
    message.created_at = due
    for name, value in fields.items():
        setattr(message, name, value)
    db.session.flush()
    return message


# /metrics


def test_metrics_parse_and_count_bookings_made_and_refused(demo, client):
    before = scrape(client)
    data = booking_data(client)
    assert client.post("/book", data=data).status_code == 303
    other = demo.test_client()  # another person, a moment too late for the same time
    again = booking_data(other, slot=data["slot"], name="Grace Hopper", email="grace@example.com")
    assert other.post("/book", data=again).status_code == 409
    assert client.post("/book", data=booking_data(client, email="nope")).status_code == 422
    after = scrape(client)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("clinic_bookings_made_total", by="patient") == 1
    assert moved("clinic_bookings_refused_total", reason="taken") == 1
    assert moved("clinic_bookings_refused_total", reason="invalid") == 1
    posts = {"endpoint": "booking.submit", "method": "POST"}
    assert moved("clinic_http_requests_total", **posts, status="303") == 1
    assert moved("clinic_http_requests_total", **posts, status="409") == 1
    assert moved("clinic_http_request_duration_seconds_count", endpoint="booking.submit") == 3
    assert value(after, "clinic_outbox_queue_depth") >= 1  # the confirmation e-mails


def test_metrics_label_endpoints_never_paths(demo, client):
    before = scrape(client)
    for n in range(5):
        client.get(f"/no-such-page-{n}")
        client.open("/", method=f"BREW{n}")
    after = scrape(client)
    assert not any("no-such-page" in str(key) or "BREW" in str(key) for key in after)
    assert (
        value(after, "clinic_http_requests_total", method="other")
        - value(before, "clinic_http_requests_total", method="other")
        == 5
    )
    grew = value(after, "clinic_http_requests_total", endpoint="none", status="404")
    assert grew - value(before, "clinic_http_requests_total", endpoint="none", status="404") == 5


def test_page_cache_hits_and_misses_are_counted(demo, client):
    before = scrape(client)
    first, second = (client.get("/clinics/london") for _ in range(2))
    after = scrape(client)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("clinic_page_cache_misses_total") == 1
    assert moved("clinic_page_cache_hits_total") == 1
    # A page served from memory is still counted under its endpoint, with its own request id.
    assert moved("clinic_http_requests_total", endpoint="content.clinic") == 2
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


def test_outbox_gauges_are_read_at_scrape_time(app, client):
    with app.app_context():
        late_email(minutes=40)
        failed = late_email(minutes=5)
        failed.status = "failed"
        db.session.commit()
    samples = scrape(client)
    assert value(samples, "clinic_outbox_queue_depth") == 1
    assert 39 * 60 < value(samples, "clinic_outbox_oldest_unsent_age_seconds") < 41 * 60
    assert value(samples, "clinic_outbox_late") == 1
    assert value(samples, "clinic_outbox_failed") == 1
    assert value(samples, "clinic_outbox_stalled") == 1


@pytest.mark.parametrize(
    ("peer", "forwarded"),
    [
        (OUTSIDE, None),  # straight from the internet
        ("127.0.0.1", OUTSIDE),  # through the local proxy, for a client on the internet
        (OUTSIDE, "127.0.0.1"),  # a forged X-Forwarded-For, sent straight to the app
    ],
)
def test_metrics_are_404_to_addresses_not_allowed(make_app, peer, forwarded):
    app = make_app(CLINIC_TRUSTED_PROXIES=1)
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    response = app.test_client().get(
        "/metrics", environ_base={"REMOTE_ADDR": peer}, headers=headers
    )
    assert response.status_code == 404
    assert b"clinic_" not in response.data


def test_metrics_open_to_the_networks_the_operator_allows(make_app):
    app = make_app(CLINIC_METRICS_ALLOW="10.0.0.0/8, 192.0.2.7")
    client = app.test_client()
    assert scrape(client, environ_base={"REMOTE_ADDR": "10.20.30.40"})
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.8"}).status_code == 404
    assert client.get("/metrics").status_code == 404  # loopback is no longer in the list


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def test_metrics_add_up_every_gunicorn_worker(migrated, tmp_path):
    """Two workers, each counting into its own file; any one of them answers the sum."""
    port = _free_port()
    metrics_dir = tmp_path / "metrics"
    env = {**os.environ, "DATABASE_URL": migrated, "SECRET_KEY": "metrics-test"}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"counts of an earlier run")  # emptied at start
    command = [sys.executable, "-m", "gunicorn", "--config", "python:clinic.gunicorn_conf"]
    command += ["--workers", "2", "--bind", f"127.0.0.1:{port}", "--no-control-socket"]
    server = subprocess.Popen(
        [*command, "clinic:create_app()"], env=env, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(base + "/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.2)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: _get(base + "/healthz"), range(60)))
        pids = {p.stem.rsplit("_", 1)[1] for p in metrics_dir.glob("counter_*.db")}
        assert len(pids) == 2 and "1" not in pids, pids  # both workers answered some
        for _ in range(4):  # whichever worker answers, the total is the same
            families = text_string_to_metric_families(_get(base + "/metrics").decode())
            counts = {
                s.labels.get("endpoint"): s.value
                for f in families
                for s in f.samples
                if s.name == "clinic_http_requests_total"
            }
            assert counts["health.healthz"] == 61
    finally:
        server.terminate()
        logs = server.communicate(timeout=30)[1]
    assert server.returncode == 0, logs
    starting = [json.loads(line) for line in logs.splitlines() if "Starting gunicorn" in line]
    assert starting and starting[0]["logger"] == "gunicorn.error"  # gunicorn's lines are JSON


# Logs and request ids


def _log_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_a_booking_is_logged_as_json_without_the_patients_details(demo, client, capsys):
    data = booking_data(client)
    capsys.readouterr()
    response = client.post("/book", data=data)
    assert response.status_code == 303
    client.get(response.headers["Location"])  # the confirmation page shows the details
    err = capsys.readouterr().err
    lines = _log_lines(err)
    (booking,) = [line for line in lines if line.get("endpoint") == "booking.submit"]
    assert booking["request_id"] == response.headers["X-Request-ID"]
    assert booking["method"] == "POST" and booking["status"] == 303
    assert booking["level"] == "info" and booking["duration_ms"] > 0 and booking["time"]
    assert "user_id" not in booking
    for secret in ("Ada", "Lovelace", "ada@example.com", "07911", "123456", "back pain"):
        assert secret.lower() not in err.lower(), secret
    assert GOOD["name"] not in err and "/book/confirmed" not in err


def test_admin_requests_log_the_user_id(app, client, capsys):
    ids = make_users(app)
    login(client, "staff")
    capsys.readouterr()
    response = client.get("/admin/")
    assert response.status_code == 200
    lines = _log_lines(capsys.readouterr().err)
    (line,) = [line for line in lines if line.get("endpoint") == "admin.dashboard"]
    assert line["user_id"] == ids["staff"]
    assert line["request_id"] == response.headers["X-Request-ID"]


def test_request_id_is_made_or_taken_only_from_a_trusted_proxy(make_app):
    direct = make_app().test_client()
    behind = make_app(CLINIC_TRUSTED_PROXIES=1).test_client()
    sent = {"X-Request-ID": "0123456789abcdef0123456789abcdef"}
    made = direct.get("/healthz", headers=sent).headers["X-Request-ID"]
    assert made != sent["X-Request-ID"] and len(made) == 32
    assert behind.get("/healthz", headers=sent).headers["X-Request-ID"] == sent["X-Request-ID"]
    forged = behind.get("/healthz", headers={"X-Request-ID": "x" * 65}).headers["X-Request-ID"]
    assert forged != "x" * 65


@pytest.mark.parametrize("header", ["a b c d e f g h", "<script>alert(1)</script>", "short", ""])
def test_request_ids_from_a_proxy_are_checked(header):
    assert new_request_id(header, trusted=True) != header


def test_error_pages_show_the_request_id(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    for path, status in (("/boom", 500), ("/no-such-page", 404)):
        response = client.get(path)
        assert response.status_code == status
        assert response.headers["X-Request-ID"] in response.get_data(as_text=True)


def test_the_static_500_fallback_shows_the_request_id(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    def broken_500_page(_error):
        raise RuntimeError("the 500 page broke too")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.register_error_handler(500, broken_500_page)
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "Sorry, something went wrong" in response.get_data(as_text=True)
    assert response.headers["X-Request-ID"] in response.get_data(as_text=True)


# /readyz


def test_readyz_ok(app, client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    expected_redis = "ok" if app.config["REDIS_URL"] else "not configured"
    assert response.json["status"] == "ok" and response.json["redis"] == expected_redis
    assert (response.json["database"], response.json["outbox"]) == ("ok", "ok")


def test_readyz_503_when_the_outbox_is_stalled(app, client):
    with app.app_context():
        late_email(minutes=16)
        db.session.commit()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["outbox"] == "stalled" and response.json["database"] == "ok"
    assert client.get("/healthz").status_code == 200  # still alive: liveness is not readiness


def test_readyz_503_when_redis_does_not_answer(make_app):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{_free_port()}/0")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["redis"] == "down" and response.json["database"] == "ok"


def test_readyz_503_and_metrics_still_served_when_the_database_is_down(tmp_path):
    app = create_app(app_config(f"sqlite:///{tmp_path}/missing/dir/db.sqlite"))
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["database"] == "down"
    samples = scrape(client)
    assert value(samples, "clinic_database_up") == 0
    assert value(samples, "clinic_http_requests_total", endpoint="monitoring.readyz") >= 1
    assert not any(name.startswith("clinic_outbox") for name, *_ in samples)


# Stalled e-mail: incidents, the alert, the dashboard


def _alerts(smtp_server) -> list:
    return [m for m in smtp_server.messages if m["Subject"] == incidents.ALERT_SUBJECT]


def test_one_alert_per_incident_straight_over_smtp(mail_app, smtp_server):
    make_users(mail_app)
    with mail_app.app_context():
        for _ in range(3):
            late_email()
        db.session.commit()
        for _ in range(3):  # three worker passes while it lasts: one incident, one e-mail
            incident = incidents.check()
        assert incident is not None and incident.alerted_at is not None
        assert incident.alerted_to == "admin@example.test"
        assert "3 e-mails have waited more than 15 minutes" in incident.reason
        assert len(smtp_server.wait_for(1)) == 1
        (alert,) = _alerts(smtp_server)
        assert alert["To"] == "admin@example.test"
        assert "/admin/emails" in alert.get_payload()
        # The queue drains: the incident closes.
        outbox.send_due()
        assert incidents.check() is None
        closed = db.session.scalar(sa.select(OutboxIncident))
        assert closed.closed_at is not None and closed.open_flag is None
        # A new stall is a new incident, with its own one alert.
        failed = late_email(minutes=1)
        failed.status = "failed"
        db.session.commit()
        incidents.check()
        incidents.check()
        smtp_server.wait_for(5)  # 3 patients' e-mails, 2 alerts
        assert len(_alerts(smtp_server)) == 2
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxIncident)) == 2


def test_the_alert_waits_for_smtp_and_still_goes_once(mail_app, smtp_server):
    make_users(mail_app)
    smtp_server.stop()
    with mail_app.app_context():
        late_email()
        db.session.commit()
        incident = incidents.check()
        assert incident.alerted_at is None and "ConnectionRefusedError" in incident.alert_error
        smtp_server.start()
        incidents.check()  # too soon to try again
        assert smtp_server.messages == []
        later = utcnow() + incidents.ALERT_RETRY + timedelta(seconds=1)
        assert incidents.check(later).alerted_at is not None
        incidents.check(later + timedelta(minutes=30))
    smtp_server.wait_for(1)
    assert len(_alerts(smtp_server)) == 1


def test_the_worker_loop_opens_the_incident(mail_app, smtp_server):
    make_users(mail_app)
    with mail_app.app_context():
        late_email(status="sending", claimed_until=utcnow() + timedelta(minutes=5))
        db.session.commit()
        outbox.work(once=True)  # a message held by a stuck worker: nothing this pass sends
        assert incidents.open_incident() is not None
    assert len(_alerts(smtp_server)) == 1


def test_a_second_worker_finds_the_incident_already_open(app):
    with app.app_context():
        first = incidents._open("seen by host A", utcnow())
        db.session.commit()
        assert incidents._open("seen by host B", utcnow()).id == first.id
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxIncident)) == 1


@pytest.mark.parametrize(("role", "shown"), [("admin", True), ("staff", True), ("marketer", False)])
def test_dashboard_says_email_is_stalled_to_admins_and_staff(app, client, role, shown):
    make_users(app)
    with app.app_context():
        late_email()
        db.session.commit()
    login(client, role)
    page = client.get("/admin/").get_data(as_text=True)
    assert ("E-mail is not going out" in page) is shown
    assert ("1 e-mail has waited more than 15 minutes" in page) is shown


def test_dashboard_is_quiet_when_email_flows(app, client):
    make_users(app)
    login(client, "admin")
    assert "E-mail is not going out" not in client.get("/admin/").get_data(as_text=True)


def test_the_incident_migration_downgrades_and_upgrades(make_app):
    app = make_app()
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        below = ScriptDirectory.from_config(config).get_revision("e7f3a1c9d2b5").down_revision
        downgrade(config, below)
        assert "outbox_incident" not in sa.inspect(db.engine).get_table_names()
        upgrade(config, "head")
        assert "outbox_incident" in sa.inspect(db.engine).get_table_names()
        db.engine.dispose()
