"""Watching the site: metrics, JSON logs with request ids, readiness, stalled e-mail alerts."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Wrap the app to observe every request; add /metrics, /readyz and the outbox check."""
    from clinic.monitoring import incidents, logs, metrics, models, observer  # noqa: F401
    from clinic.monitoring.views import bp
    from clinic.notifications import outbox

    logs.configure()
    app.extensions["metrics_allow"] = metrics.parse_allowed(app.config["CLINIC_METRICS_ALLOW"])
    app.jinja_env.globals["request_id"] = logs.current_request_id
    app.register_blueprint(bp)
    observer.init_app(app)
    if incidents.check not in outbox.periodic_tasks:
        outbox.periodic_tasks.append(incidents.check)
