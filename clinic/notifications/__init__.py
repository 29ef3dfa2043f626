"""Transactional e-mail: an outbox written with the data, delivered by a worker with retries."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Make the outbox table known to migrations and register the `flask outbox` commands."""
    from clinic.notifications import models  # noqa: F401
    from clinic.notifications.cli import outbox_group

    app.cli.add_command(outbox_group)
