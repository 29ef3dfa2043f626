"""`flask --app clinic ...` commands: thin wrappers over the services."""

import os
import signal
import subprocess
import sys

import click
import gunicorn
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from clinic.config import ensure_secret_key
from clinic.content.seed import database_is_empty, seed_demo
from clinic.extensions import db


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Create the demo clinics, people, articles and pages (safe to run twice)."""
    created = seed_demo()
    db.session.commit()
    click.echo("Demo content: " + ", ".join(f"{n} {kind} added" for kind, n in created.items()))


def prepare_database() -> None:
    """Apply migrations and seed the demo content into an empty database."""
    upgrade()
    if database_is_empty():
        seed_demo()
        db.session.commit()
        click.echo("Empty database: demo content added.")


def gunicorn_command(host: str, port: int, workers: int) -> list[str]:
    command = [sys.executable, "-m", "gunicorn", "--config", "python:clinic.gunicorn_conf"]
    command += ["--workers", str(workers)]
    # No --access-logfile: the app logs every request as JSON, by endpoint (gunicorn_conf.py).
    command += ["--bind", f"{host}:{port}", "--forwarded-allow-ips", "127.0.0.1"]
    if gunicorn.version_info >= (27, 0):
        command.append("--no-control-socket")
    return [*command, "clinic:create_app()"]


def outbox_worker_command() -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "clinic", "outbox", "work"]


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@with_appcontext
def serve_command(host: str, port: int, workers: int):
    """Migrate, seed an empty database, then serve the site and deliver its e-mail."""
    env = dict(os.environ)
    if not env.get("SECRET_KEY"):
        ensure_secret_key(current_app.instance_path)
    prepare_database()
    db.session.remove()
    db.engine.dispose()
    processes = [
        subprocess.Popen(gunicorn_command(host, port, workers), env=env),
        subprocess.Popen(outbox_worker_command(), env=env),
    ]
    click.echo(f"Serving on http://{host}:{port}")
    _wait(processes)


def _wait(processes: list[subprocess.Popen]) -> None:
    """Stop every child when one exits or when we are asked to stop.

    Each child is asked once: a second SIGTERM can land while Python is shutting down,
    when the default handler is back, and turn a clean stop into "killed by SIGTERM".
    """
    asked: set[int] = set()

    def stop(*_args):
        for process in processes:
            if process.poll() is None and process.pid not in asked:
                asked.add(process.pid)
                process.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while all(p.poll() is None for p in processes):
            try:
                processes[0].wait(timeout=1)
            except subprocess.TimeoutExpired:
                continue
    finally:
        stop()
        for process in processes:
            process.wait(timeout=30)
    server = processes[0]
    stopped_by_us = server.pid in asked and server.returncode == -signal.SIGTERM
    sys.exit(0 if stopped_by_us else server.returncode or 0)


def init_app(app: Flask) -> None:
    from clinic.accounts.cli import users
    from clinic.backups.cli import backup_command, restore_command
    from clinic.content.cli import content_group
    from clinic.demo.cli import demo_load_command
    from clinic.insights.cli import insights_group
    from clinic.leads_admin.cli import leads_group
    from clinic.search.cli import search_group

    app.cli.add_command(users)
    app.cli.add_command(content_group)
    app.cli.add_command(leads_group)
    app.cli.add_command(insights_group)
    app.cli.add_command(search_group)
    for command in (
        seed_demo_command,
        serve_command,
        demo_load_command,
        backup_command,
        restore_command,
    ):
        app.cli.add_command(command)
