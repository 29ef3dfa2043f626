"""Error pages answer without the database: every handler, walked with the database down."""

import pytest
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError

from clinic import create_app
from tests.conftest import app_config


@pytest.fixture
def down_url(database_url, tmp_path) -> str:
    """A database that does not answer, of the kind the suite runs on."""
    if database_url.startswith("postgresql"):
        return "postgresql+psycopg://postgres@127.0.0.1:1/clinic?connect_timeout=2"
    return f"sqlite:///{tmp_path}/missing/dir/clinic.db"


@pytest.fixture
def down_app(down_url):
    app = create_app(app_config(down_url))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def _says_what_to_do(response, app) -> None:
    text = response.get_data(as_text=True)
    assert app.config["CLINIC_PHONE"] in text
    assert "Traceback" not in text and "OperationalError" not in text


def test_booking_form_refused_for_its_token_is_a_503_not_a_500(down_app):
    response = down_app.test_client().post("/book", data={"name": "Ada"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    _says_what_to_do(response, down_app)


def test_too_many_bookings_with_the_database_down_is_not_a_500(down_app):
    down_app.config.update(WTF_CSRF_ENABLED=False, BOOKING_RATE_LIMIT="1 per minute")
    client = down_app.test_client()
    statuses = [client.post("/book", data={"name": "Ada"}).status_code for _ in range(3)]
    assert statuses == [503, 503, 503]  # the second and third reach the 429 page's handler


def _handlers(app):
    """Every registered error handler: (blueprint or None, the error class it handles)."""
    return [
        (blueprint, error_class)
        for blueprint, by_code in list(app.error_handler_spec.items())
        for by_class in list(by_code.values())
        for error_class in list(by_class)
    ]


def _error(error_class):
    if issubclass(error_class, OperationalError):
        return OperationalError("SELECT 1", {}, Exception("database is down"))
    return error_class()


def _path_in(app, blueprint) -> tuple[str, str]:
    """A path of `blueprint` without arguments, a form's (POST) when it has one: error pages
    of forms are the ones that render the form again."""
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.rpartition(".")[0] == blueprint and not rule.arguments
    ]
    rules.sort(key=lambda rule: "POST" not in rule.methods)
    return rules[0].rule, "POST" if "POST" in rules[0].methods else "GET"


def test_every_error_handler_renders_with_the_database_down(down_app):
    walked = []
    for blueprint, error_class in _handlers(down_app):
        path, method = _path_in(down_app, blueprint) if blueprint else ("/", "GET")
        error = _error(error_class)
        with down_app.test_request_context(path, method=method):
            response = down_app.make_response(down_app.handle_user_exception(error))
        expected = {getattr(error, "code", 503), 503}
        assert response.status_code in expected, (blueprint, error_class, response.status_code)
        _says_what_to_do(response, down_app)
        walked.append((blueprint, error_class))
    assert ("booking", CSRFError) in walked and (None, OperationalError) in walked
    assert len(walked) >= 12


def test_the_500_page_renders_with_the_database_down(down_app):
    @down_app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    response = down_app.test_client().get("/boom")
    assert response.status_code == 500
    assert "something went wrong" in response.get_data(as_text=True).lower()


def test_a_failing_500_page_falls_back_to_a_static_one(down_app):
    """The last resort: the 500 page itself raising still gives a page, with its headers."""

    @down_app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    def broken_500_page(_error):
        raise RuntimeError("the 500 page broke too")

    down_app.register_error_handler(500, broken_500_page)
    response = down_app.test_client().get("/boom")
    assert response.status_code == 500
    assert "Sorry, something went wrong" in response.get_data(as_text=True)
    _says_what_to_do(response, down_app)
    assert "Content-Security-Policy" in response.headers
