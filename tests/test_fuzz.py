"""Property-based checks: arbitrary input on every public form and parameter never gives a 500
and is never echoed unescaped."""

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic.accounts.models import User
from clinic.booking.models import Booking
from clinic.extensions import db
from tests.auth_helpers import csrf_token, login, make_users
from tests.booking_helpers import booking_data

MARKER = '<script>alert("x")</script>'
FIELDS = [
    "clinic",
    "slot",
    "name",
    "email",
    "phone",
    "message",
    "consent",
    "marketing_opt_in",
    "from",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "landing_page",
    "referrer",
    "idempotency_key",
    "date",
    "website",
]
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
texts = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=5000),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "%00",
            "' OR 1=1 --",
            "../../etc/passwd",
            "\u202e",
            "😀" * 50,
            "2026-02-30",
            "9999-99-99T99:99",
            "-1",
            "1e309",
            "null",
        ]
    ),
)
# Values just past what a date or a database integer holds: 9999-12-31 overflows a day (or a
# UTC offset) later, 2147483648 is "integer out of range" on PostgreSQL, 25 digits on SQLite.
CRAFTED = [
    "9999-12-31",
    "0001-01-01",
    "9999-12-31T23:59:00-23:59",
    "9999-12-31T23:00:00+00:00",
    "0001-01-01T00:00:00+23:59",
    "2147483647",
    "2147483648",
    "-2147483649",
    "1" * 25,
    "9" * 5000,
]
crafted = st.sampled_from(CRAFTED)
texts = st.one_of(texts, crafted)
ALLOWED_FORM = {200, 303, 400, 409, 422, 429}


def _no_raw_echo(response) -> None:
    assert response.status_code < 500, response.status_code
    assert MARKER not in response.get_data(as_text=True)


@pytest.fixture
def fuzz_app(demo):
    demo.config["BOOKING_RATE_LIMIT"] = "100000 per minute"
    demo.config["LOGIN_RATE_LIMIT"] = "100000 per minute"
    return demo


@FUZZ
@given(field=st.sampled_from(FIELDS), value=texts)
def test_booking_form_survives_any_field(fuzz_app, field, value):
    client = fuzz_app.test_client()
    data = booking_data(client, slot="2026-01-05T09:00:00+00:00")
    data[field] = MARKER + value
    response = client.post("/book", data=data)
    assert response.status_code in ALLOWED_FORM
    _no_raw_echo(response)


@FUZZ
@given(values=st.dictionaries(st.sampled_from(FIELDS), texts, max_size=8))
def test_booking_form_survives_many_fields_at_once(fuzz_app, values):
    client = fuzz_app.test_client()
    data = booking_data(client)
    data.update({k: MARKER + v for k, v in values.items()})
    response = client.post("/book", data=data)
    assert response.status_code in ALLOWED_FORM
    _no_raw_echo(response)


@FUZZ
@given(raw=st.binary(max_size=400))
def test_query_strings_of_any_bytes(fuzz_app, raw):
    client = fuzz_app.test_client()
    for path in ("/book", "/book/slots", "/", "/articles/", "/clinics/london", "/admin/login"):
        # A WSGI server hands the raw bytes over as a latin-1 string.
        response = client.get(path, environ_overrides={"QUERY_STRING": raw.decode("latin-1")})
        assert response.status_code in {200, 302, 400, 404}, (path, response.status_code)


@FUZZ
@given(clinic=texts, day=texts, source=texts)
def test_booking_query_parameters(fuzz_app, clinic, day, source):
    client = fuzz_app.test_client()
    page = client.get(
        "/book", query_string={"clinic": MARKER + clinic, "date": day, "from": MARKER + source}
    )
    assert page.status_code == (400 if "\x00" in clinic + day + source else 200)
    _no_raw_echo(page)
    slots = client.get("/book/slots", query_string={"clinic": clinic, "date": day})
    assert slots.status_code in {200, 400}
    _no_raw_echo(slots)


@FUZZ
@given(field=st.sampled_from(["slot", "date"]), value=crafted)
def test_booking_form_survives_crafted_times(fuzz_app, field, value):
    """The values bare (not after MARKER), so that they reach the date and time parsing."""
    client = fuzz_app.test_client()
    response = client.post("/book", data={**booking_data(client), field: value})
    assert response.status_code in ALLOWED_FORM
    _no_raw_echo(response)


@FUZZ
@given(clinic=st.sampled_from(["london", "bedford", "manchester"]), day=st.one_of(crafted, texts))
def test_slots_of_a_known_clinic_on_any_day(fuzz_app, clinic, day):
    response = fuzz_app.test_client().get(
        "/book/slots", query_string={"clinic": clinic, "date": day}
    )
    assert response.status_code in {200, 400}
    _no_raw_echo(response)


@FUZZ
@given(segment=texts)
def test_any_slug_is_200_or_404(fuzz_app, segment):
    client = fuzz_app.test_client()
    for prefix in (
        "/articles/",
        "/clinics/",
        "/treatments/",
        "/authors/",
        "/book/manage/",
        "/book/confirmed/",
    ):
        response = client.get(prefix + segment.replace("/", "%2F"))
        assert response.status_code in {200, 308, 400, 404, 405}, (prefix, response.status_code)
        _no_raw_echo(response)


@FUZZ
@given(email=texts, password=texts, next_path=texts)
def test_login_form_survives_anything(fuzz_app, email, password, next_path):
    make_users_once(fuzz_app)
    client = fuzz_app.test_client()
    response = login(client, email=MARKER + email, password=password, next_path=None)
    assert response.status_code in {400, 401, 422, 429}
    _no_raw_echo(response)
    response = client.get("/admin/login", query_string={"next": MARKER + next_path})
    assert response.status_code == (400 if "\x00" in next_path else 200)
    _no_raw_echo(response)


def make_users_once(app) -> None:
    """One user per role; staff may export, so that the lead search reaches the CSV too."""
    if not app.config.get("_fuzz_users"):
        staff_id = make_users(app)["staff"]
        with app.app_context():
            db.session.get(User, staff_id).may_export = True
            db.session.commit()
        app.config["_fuzz_users"] = True


SEARCH_KEYS = ["q", "status", "clinic", "from", "to", "article", "utm_source", "sort", "page"]


@FUZZ
@given(query=st.dictionaries(st.sampled_from(SEARCH_KEYS), texts, max_size=5))
def test_admin_lead_search_survives_anything(fuzz_app, query):
    make_users_once(fuzz_app)
    client = fuzz_app.test_client()
    login(client, "staff")
    params = {key: MARKER + value for key, value in query.items()}
    has_nul = any("\x00" in value for value in params.values())
    for path in ("/admin/leads", "/admin/leads.csv", "/admin/emails", "/admin/bookings"):
        response = client.get(path, query_string=params)
        expected = {400} if has_nul else {200, 422}  # 422: a filter it cannot use, explained
        assert response.status_code in expected, (path, response.status_code)
        _no_raw_echo(response)


STAFF_FORM_FIELDS = [
    "name",
    "email",
    "phone",
    "consent",
    "clinic",
    "date",
    "slot",
    "message",
    "idempotency_key",
    "action",
    "confirm",
]
STAFF_FORM_PATHS = [
    "/admin/leads/new",
    "/admin/leads/{lead}/calls/new",
    "/admin/calls/{booking}/move",
    "/admin/calls/{booking}/cancel",
]


def booking_once(app) -> dict:
    """One lead with one call, for the staff pages that book, move and cancel calls."""
    if "_fuzz_booking" not in app.config:
        client = app.test_client()
        assert client.post("/book", data=booking_data(client)).status_code == 303
        with app.app_context():
            booking = db.session.scalar(sa.select(Booking))
            app.config["_fuzz_booking"] = {"lead": booking.lead_id, "booking": booking.id}
    return app.config["_fuzz_booking"]


@FUZZ
@given(
    path=st.sampled_from(STAFF_FORM_PATHS),
    values=st.dictionaries(
        st.sampled_from(STAFF_FORM_FIELDS), st.one_of(crafted, texts), max_size=6
    ),
    marked=st.booleans(),
)
def test_staff_booking_forms_survive_anything(fuzz_app, path, values, marked):
    """Adding a person who phoned, and booking, moving or cancelling their call: bare values
    reach the parsing, marked ones show whether anything is echoed unescaped."""
    make_users_once(fuzz_app)
    ids = booking_once(fuzz_app)
    client = fuzz_app.test_client()
    login(client, "staff")
    data = {key: MARKER + value if marked else value for key, value in values.items()}
    data["csrf_token"] = csrf_token(client, "/admin/account/password")
    response = client.post(path.format(**ids), data=data)
    has_nul = any("\x00" in value for value in values.values())
    assert response.status_code in ({400} if has_nul else {200, 303, 409, 422}), (path, values)
    _no_raw_echo(response)


AUDIT_KEYS = ["action", "user", "target", "page"]
ID_PATHS = [
    "/admin/leads/{}",
    "/admin/content/articles/{}",
    "/admin/content/images/{}",
    "/admin/content/articles/1/revisions/compare?a={}&b=1",
]


@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(SEARCH_KEYS + AUDIT_KEYS), st.one_of(crafted, texts), max_size=5
    )
)
def test_admin_filters_survive_crafted_values(fuzz_app, query):
    """Dates, ids and page numbers bare, so that they reach the parsing (and the database)."""
    make_users_once(fuzz_app)
    client = fuzz_app.test_client()
    login(client, "admin")
    has_nul = any("\x00" in value for value in query.values())
    for path in (
        "/admin/leads",
        "/admin/leads.csv",
        "/admin/emails",
        "/admin/bookings",
        "/admin/audit",
    ):
        response = client.get(path, query_string=query)
        assert response.status_code in ({400} if has_nul else {200, 422}), (path, query)


@FUZZ
@given(number=st.one_of(crafted, st.integers(min_value=0, max_value=10**30).map(str)))
def test_admin_ids_of_any_size(fuzz_app, number):
    make_users_once(fuzz_app)
    client = fuzz_app.test_client()
    login(client, "admin")
    for path in ID_PATHS:
        response = client.get(path.format(number))
        assert response.status_code in {200, 404}, (path, number, response.status_code)


# Request headers, read by the site (Referer: the article a reader came from), by Werkzeug
# (Host, X-Forwarded-* behind the proxy, Cookie, conditional requests) and by Flask-WTF (the
# HTTPS Referer check). URL-shaped values that urllib cannot read come first.
HEADERS = [
    "Referer",
    "Host",
    "X-Forwarded-For",
    "X-Forwarded-Proto",
    "X-Forwarded-Host",
    "X-Forwarded-Port",
    "Cookie",
    "Accept-Language",
    "Origin",
    "User-Agent",
    "If-None-Match",
    "If-Modified-Since",
    "Range",
    "Accept",
    "Accept-Encoding",
]
BAD_URLS = [
    "http://[::1",
    "//[x",
    "http://[",
    "https://[::1]:99999/",
    "http://x:99999/",
    "http://x:a/",
    "https://www.example.test/articles/[x",
    "http://[::1]/articles/a",
    "https://www.example.test:0/",
    "\\\\evil.example",
    "javascript:alert(1)",
    "%zz",
    "http://" + "a" * 5000,
    "https://www.example.test/articles/amitriptyline-for-back-pain",
]
header_values = st.one_of(
    st.sampled_from(BAD_URLS),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=300),
)
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND", "BREW"]
HEADER_PATHS = [
    "/",
    "/book",
    "/book/slots?clinic=london",
    "/articles/amitriptyline-for-back-pain",
    "/admin/login",
    "/admin/leads",
    "/sitemap.xml",
    "/healthz",
    "/clinics/london",
    "/no-such-page",
]


@pytest.fixture
def proxied_app(fuzz_app):
    """The site as production runs it: behind one proxy whose X-Forwarded-* it trusts."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    fuzz_app.wsgi_app = ProxyFix(fuzz_app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)
    return fuzz_app


def _environ(headers: dict) -> dict:
    return {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}


@FUZZ
@given(
    headers=st.dictionaries(st.sampled_from(HEADERS), header_values, min_size=1, max_size=5),
    method=st.sampled_from(METHODS),
    path=st.sampled_from(HEADER_PATHS),
    secure=st.booleans(),
)
def test_any_request_headers_and_method_never_give_a_500(
    proxied_app, headers, method, path, secure
):
    """Over HTTP and HTTPS, on pages and on the booking form (a complete, valid one)."""
    client = proxied_app.test_client()
    base = "https://www.example.test" if secure else "http://www.example.test"
    data = booking_data(client, slot=None) if path == "/book" and method == "POST" else None
    response = client.open(
        path, method=method, base_url=base, data=data, environ_overrides=_environ(headers)
    )
    assert response.status_code < 500, (method, path, headers, response.status_code)
    _no_raw_echo(response)


@pytest.mark.parametrize("referrer", BAD_URLS)
@pytest.mark.parametrize("secure", [False, True])
def test_the_booking_form_reads_any_referrer(fuzz_app, referrer, secure):
    """`GET /book` reads the Referer for the article a reader came from; a POST over HTTPS has
    Flask-WTF compare it with the host. Neither may raise on one urllib cannot read."""
    client = fuzz_app.test_client()
    base = "https://www.example.test" if secure else "http://www.example.test"
    page = client.get("/book", base_url=base, headers={"Referer": referrer})
    assert page.status_code == 200
    data = booking_data(client, slot=None)
    posted = client.post("/book", base_url=base, data=data, headers={"Referer": referrer})
    assert posted.status_code in {400, 422}, (referrer, posted.status_code)
