"""Commands and migrations: seed-demo, serve, secret key, schema = models."""

import gc
import os
import socket
import stat
import subprocess
import sys
import time
import urllib.request

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from clinic import create_app, gunicorn_conf
from clinic.config import ensure_secret_key
from clinic.content.models import Article, Clinic, OpeningHours, Page, Person
from clinic.extensions import db
from clinic.leads import search as lead_search
from clinic.search.models import outside_models
from tests.conftest import app_config


def _snapshot() -> dict:
    def rows(model, *columns):
        return sorted(db.session.execute(sa.select(*[getattr(model, c) for c in columns])).all())

    return {
        "people": rows(Person, "slug", "name", "bio"),
        "clinics": rows(Clinic, "slug", "name", "street", "latitude"),
        "hours": rows(OpeningHours, "clinic_id", "weekday", "opens", "closes"),
        "articles": rows(Article, "slug", "title", "body", "status"),
        "pages": rows(Page, "slug", "title", "body", "kind"),
    }


def test_seed_demo_is_idempotent(app, runner):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    with app.app_context():
        after_once = _snapshot()
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert "0 articles added" in second.output
    with app.app_context():
        assert _snapshot() == after_once
    assert len(after_once["articles"]) == 3
    assert len(after_once["clinics"]) == 3
    assert len(after_once["people"]) == 2
    assert {p[0] for p in after_once["pages"]} == {"prolotherapy", "privacy", "about"}
    assert len(after_once["hours"]) == 18


def test_seed_demo_keeps_edits(app, runner):
    runner.invoke(args=["seed-demo"])
    with app.app_context():
        article = db.session.scalar(sa.select(Article).limit(1))
        article.title = "Edited by a marketer"
        article_id = article.id
        db.session.commit()
    runner.invoke(args=["seed-demo"])
    with app.app_context():
        title = db.session.scalar(sa.select(Article.title).where(Article.id == article_id))
        assert title == "Edited by a marketer"


def test_migrations_match_the_models(app):
    """`db upgrade` on an empty database (done by the session fixture) gives the models' schema."""
    with app.app_context(), db.engine.connect() as connection:
        # The lead search index (clinic/leads/search.py) and the site search index
        # (clinic/search/) are made by their migrations alone, not by models.
        opts = {
            "compare_type": True,
            "include_name": lead_search.include_name,
            "include_object": outside_models,
        }
        context = MigrationContext.configure(connection, opts=opts)
        assert compare_metadata(context, db.metadata) == []


def test_secret_key_is_made_once_and_owner_only(tmp_path):
    key = ensure_secret_key(str(tmp_path))
    assert len(key) == 64
    assert ensure_secret_key(str(tmp_path)) == key
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_migrates_seeds_and_answers(tmp_path, database_url):
    """The README's first command: `flask --app clinic serve` on an empty database."""
    url = f"sqlite:///{tmp_path}/serve.db" if database_url.startswith("sqlite") else None
    if url is None:
        url = _fresh_postgres_database(database_url)
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "serve-test"}
    command = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "clinic",
        "serve",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        health = _wait_for(f"http://127.0.0.1:{port}/healthz", seconds=60)
        assert health == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/clinics/london") as response:
            assert b"104 Harley Street" in response.read()
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode()
    assert process.returncode == 0, output
    assert "demo content added" in output


def test_gunicorn_workers_freeze_what_start_up_built():
    gc.unfreeze()
    try:
        gunicorn_conf.post_worker_init(worker=None)
        assert gc.get_freeze_count() > 0  # a full collection no longer walks them
    finally:
        gc.unfreeze()


def _wait_for(url: str, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _fresh_postgres_database(database_url: str) -> str:
    """Create an empty PostgreSQL database beside the test one, for `serve` to migrate."""
    engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    name = f"serve_{os.getpid()}_{int(time.time())}"
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return engine.url.set(database=name).render_as_string(hide_password=False)


_SLOW_CHILD = """
import signal, sys, time
count = 0
def on_term(*_):
    global count
    count += 1
    with open(sys.argv[1], "w") as f:
        f.write(str(count))
signal.signal(signal.SIGTERM, on_term)
while not count:
    time.sleep(0.01)
time.sleep(float(sys.argv[2]))  # a slow shutdown, like gunicorn's
"""

_SUPERVISOR = """
import subprocess, sys
from clinic.cli import _wait
children = [
    subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2], "1.0"]),
    subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[3], "0.0"]),
]
print("ready", flush=True)
_wait(children)
"""


def test_serve_asks_each_child_to_stop_once_and_exits_cleanly(tmp_path):
    """A second SIGTERM during a child's shutdown killed gunicorn (exit 241 in CI)."""
    server, worker = tmp_path / "server", tmp_path / "worker"
    command = [sys.executable, "-c", _SUPERVISOR, _SLOW_CHILD, str(server), str(worker)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    time.sleep(0.5)  # both children have set their handlers
    process.terminate()
    process.communicate(timeout=30)
    assert process.returncode == 0
    assert server.read_text() == "1"  # the slow server was not signalled again
    assert worker.read_text() == "1"


ADMIN_QUERY_INDEXES = {
    ("lead_event", "ix_lead_event_booking_id"),
    ("outbox_message", "ix_outbox_message_created_at_id"),
    ("outbox_message", "ix_outbox_message_status_created_at_id"),
    ("booking", "ix_booking_clinic_id_lead_id"),
    ("booking", "ix_booking_status_starts_at"),
    ("audit_entry", "ix_audit_entry_action_id"),
    ("lead", "ix_lead_status_created_at_id"),
    ("lead", "ix_lead_utm_source_created_at_id_status"),
    ("lead", "ix_lead_source_article_created_at_id_status"),
    ("lead", "ix_lead_name_key_id"),  # the name sort's, on a generated column (b2d4f6a8c0e1)
    ("lead", "ix_lead_status_name_key_id"),
}


def _admin_indexes() -> set[tuple[str, str]]:
    inspector = sa.inspect(db.engine)
    tables = {table for table, _name in ADMIN_QUERY_INDEXES}
    found = {(t, index["name"]) for t in tables for index in inspector.get_indexes(t)}
    return found & ADMIN_QUERY_INDEXES


def test_admin_query_indexes_migrate_down_and_up(tmp_path, database_url):
    """The indexes for the admin at volume come and go with their migration, on either DB."""
    postgres = not database_url.startswith("sqlite")
    url = _fresh_postgres_database(database_url) if postgres else f"sqlite:///{tmp_path}/m.db"
    app = create_app(app_config(url))
    try:
        with app.app_context():
            upgrade()
            assert _admin_indexes() == ADMIN_QUERY_INDEXES
            downgrade(revision="c4e8f2a6b1d9")
            assert _admin_indexes() == set()
            names = {index["name"] for index in sa.inspect(db.engine).get_indexes("lead")}
            assert {"ix_lead_utm_source", "ix_lead_source_article"} <= names, "put back"
            upgrade()
            assert _admin_indexes() == ADMIN_QUERY_INDEXES
    finally:
        with app.app_context():
            db.engine.dispose()
        if postgres:
            engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
            with engine.connect() as connection:
                name = sa.make_url(url).database
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            engine.dispose()
