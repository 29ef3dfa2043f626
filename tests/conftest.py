"""Fixtures: a real database (SQLite file, or PostgreSQL from DATABASE_URL), migrated once."""

import os
import uuid

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from clinic import create_app
from clinic.content.seed import seed_demo
from clinic.extensions import db, limiter
from tests import pgdb

pytest_plugins = ["tests.smtp", "tests.clock"]

KEEP_TABLES = {"alembic_version", "cache_generation"}


def app_config(database_url: str, **overrides) -> dict:
    """Settings for one test app: isolated rate-limit keys, no cache delay, a known secret."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "CLINIC_BASE_URL": "https://www.example.test",
        "CLINIC_CACHE_CHECK_SECONDS": 0,
        "CLINIC_FIGURES_CACHE_SECONDS": 0,  # tests that cache figures turn it on themselves
        "CLINIC_FIGURES_CACHE_PREFIX": f"test-figures-{os.getpid()}",
        "RATELIMIT_KEY_PREFIX": f"test-{os.getpid()}",
        "CLINIC_STAFF_EMAILS": ["staff@example.test"],
        **overrides,
    }


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def migrated(database_url) -> str:
    """Apply the real migrations once, as `serve` would."""
    app = create_app(app_config(database_url))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database_url


def _empty_tables() -> None:
    names = [t.name for t in reversed(db.metadata.sorted_tables) if t.name not in KEEP_TABLES]
    if db.engine.dialect.name == "postgresql":
        quoted = ", ".join(f'"{n}"' for n in names)
        db.session.execute(sa.text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    else:
        for name in names:
            db.session.execute(sa.text(f'DELETE FROM "{name}"'))
    db.session.commit()


@pytest.fixture
def app(migrated):
    app = create_app(app_config(migrated))
    # One Limiter object serves every app in this process: start each test with no counts.
    with app.app_context():
        limiter.reset()
    yield app
    with app.app_context():
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def demo(app):
    """The demo content, as a new user sees it on first start."""
    with app.app_context():
        seed_demo()
        db.session.commit()
    return app


@pytest.fixture
def fresh_url(database_url, tmp_path):
    """The URL of a database nobody has used: a new SQLite file or PostgreSQL database."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    admin = sa.make_url(database_url).set(database="postgres").render_as_string(False)
    name = f"clinic_fresh_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    pgdb.main("create", admin, name)
    yield sa.make_url(database_url).set(database=name).render_as_string(False)
    pgdb.main("drop", admin, name)


@pytest.fixture
def fresh(fresh_url):
    """An app on that database (nothing created in it yet)."""
    app = create_app(app_config(fresh_url))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
