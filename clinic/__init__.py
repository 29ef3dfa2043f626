"""ProHealth Clinic: the application factory."""

import hashlib
from pathlib import Path

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, ValidationError

from clinic import config as settings
from clinic.dbtypes import MAX_ID
from clinic.extensions import csrf, db, limiter, login_manager, mail, migrate

ROOT = Path(__file__).resolve().parent.parent
ONE_YEAR = 365 * 24 * 3600


class IdConverter(IntegerConverter):
    """`<int:...>` in every URL: only whole numbers a database id can be, so a bigger one is a
    404 rather than an "integer out of range" (PostgreSQL) or an OverflowError (SQLite)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits, min, MAX_ID if max is None else max, signed)

    def to_python(self, value: str) -> int:
        # Refuse long strings before int(): Python will not read one of over 4,300 digits.
        if len(value.lstrip("0")) > len(str(self.max)):
            raise ValidationError()
        return super().to_python(value)


class ClinicFlask(Flask):
    """Flask with fingerprinted static files (a `v` hash in the URL earns a year's cache) and
    error pages that cannot fail themselves."""

    def get_send_file_max_age(self, filename):
        return ONE_YEAR if request.args.get("v") else 300

    def handle_user_exception(self, e):
        try:
            return super().handle_user_exception(e)
        except Exception as failure:
            if failure is e:
                raise  # no handler for it: Flask's own path to the 500 page
            from clinic import errors

            return errors.page_that_failed(e, failure)

    def log_exception(self, exc_info) -> None:
        # The endpoint, not the path: a path can be a booking's manage link.
        self.logger.error(
            "Exception on %s [%s]", request.endpoint, request.method, exc_info=exc_info
        )

    def handle_exception(self, e):
        try:
            return super().handle_exception(e)
        except Exception as failure:
            if failure is e:
                raise  # PROPAGATE_EXCEPTIONS (tests, debug): the error is meant to surface
            from clinic import errors

            return self.finalize_request(errors.static_500(failure), from_error_handler=True)


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, commands and error pages."""
    app = ClinicFlask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_mapping(settings.from_environment(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    # Before any blueprint: each rule looks its converters up when it is added.
    app.url_map.converters["int"] = IdConverter
    register_extensions(app)
    register_blueprints(app)
    register_static_fingerprints(app)
    from clinic import cli, errors, monitoring, notifications, security, templating

    monitoring.init_app(app)  # inside ProxyFix: it sees the addresses the proxy reports
    register_proxy(app)

    templating.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    notifications.init_app(app)
    cli.init_app(app)
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    mail.init_app(app)
    # No context processor: public pages must never touch the session.
    login_manager.init_app(app, add_context_processor=False)
    from clinic.accounts.services import load_user

    login_manager.user_loader(load_user)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    limiter.init_app(app)
    # Limits are only declared per route, and those decorators check themselves: drop the
    # per-request check Flask-Limiter adds for default limits we do not use.
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    from clinic import database, figurecache, pagecache
    from clinic.content import models as content

    database.init_app(app)
    figurecache.init_app(app)
    pagecache.init_app(
        app,
        content.Article,
        content.Page,
        content.Person,
        content.Clinic,
        content.OpeningHours,
        content.Closure,
        content.HolidayOpening,
        content.Redirect,
        content.Image,
    )


def register_blueprints(app: Flask) -> None:
    from clinic.accounts.admin import bp as accounts_admin_bp
    from clinic.accounts.views import bp as accounts_bp
    from clinic.admin import nav
    from clinic.admin.audit_log import bp as audit_admin_bp
    from clinic.admin.email_log import bp as notifications_admin_bp
    from clinic.admin.views import bp as admin_bp
    from clinic.booking.admin import bp as booking_admin_bp
    from clinic.booking.views import bp as booking_bp
    from clinic.content.admin import bp as content_admin_bp
    from clinic.content.views import bp as content_bp
    from clinic.health import bp as health_bp
    from clinic.insights import beacon as insights_beacon
    from clinic.insights import bp as insights_bp
    from clinic.insights import store as insights_store
    from clinic.insights import views as _insights_views  # noqa: F401 - adds the routes to bp
    from clinic.insights.beacon import bp as insights_beacon_bp
    from clinic.leads_admin.views import bp as leads_admin_bp
    from clinic.search import index as search_index  # noqa: F401 (keeps the index in step)
    from clinic.search.admin import bp as search_admin_bp
    from clinic.search.views import bp as search_bp
    from clinic.seo.views import bp as seo_bp

    for blueprint in (
        content_bp,
        booking_bp,
        seo_bp,
        health_bp,
        accounts_bp,
        admin_bp,
        booking_admin_bp,
        notifications_admin_bp,
        audit_admin_bp,
        accounts_admin_bp,
        leads_admin_bp,
        insights_bp,
        insights_beacon_bp,
        search_bp,
        search_admin_bp,
    ):
        app.register_blueprint(blueprint)
    insights_store.init_app(app)
    insights_beacon.init_app(app)
    app.register_blueprint(content_admin_bp)
    nav.init_app(app)


def register_static_fingerprints(app: Flask) -> None:
    """Add a content hash to every static URL so browsers may cache files for a year."""
    hashes: dict[str, str] = {}

    def fingerprint(filename: str) -> str:
        if filename not in hashes or app.debug:
            path = Path(app.static_folder) / filename
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.is_file() else ""
            hashes[filename] = digest
        return hashes[filename]

    @app.url_defaults
    def add_fingerprint(endpoint, values):
        if endpoint == "static" and "filename" in values and "v" not in values:
            digest = fingerprint(values["filename"])
            if digest:
                values["v"] = digest


def register_proxy(app: Flask) -> None:
    """Trust X-Forwarded-* from the configured number of reverse proxies, and no more."""
    hops = app.config["CLINIC_TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
