"""Every admin route, for every visitor: sign-in first, then the right role, never cached.

"exporter" is a staff account an admin allowed to export; plain "staff" may not.

The walk reads the routes from the app at run time, so a new /admin route is checked the
day it is added; a route whose blueprint is missing from EXPECTED_ROLES fails the suite.
"""

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from werkzeug.routing import Rule

from clinic.booking.models import Booking
from clinic.extensions import db
from clinic.notifications.models import OutboxMessage
from tests.auth_helpers import csrf_token, login, make_user, make_users
from tests.booking_helpers import booking_data
from tests.helpers import soup

SIGNED_IN = ("marketer", "staff", "exporter", "admin")
STAFF = ("staff", "exporter", "admin")
MARKETING = ("marketer", "admin")
ADMIN_ONLY = ("admin",)
EXPORTERS = ("exporter", "admin")
EXPORTER_EMAIL = "exporter@example.test"
# Who may use each admin blueprint (admins may use all). Add every new admin blueprint here.
EXPECTED_ROLES = {
    "accounts": SIGNED_IN,  # sign out, change one's own password, two-factor, sessions
    "admin": SIGNED_IN,  # the dashboard
    "leads_admin": STAFF,
    "booking_admin": STAFF,
    "notifications_admin": STAFF,
    "content_admin": MARKETING,
    "insights": MARKETING,  # visit counts and the funnel: counts and rates, never a person
    "search_admin": MARKETING,
    "audit_admin": ADMIN_ONLY,
    "accounts_admin": ADMIN_ONLY,
}
# Views that ask more than their blueprint does.
ENDPOINT_ROLES = {
    "leads_admin.erase": ADMIN_ONLY,
    "leads_admin.export_csv": EXPORTERS,
    "leads_admin.export_json": EXPORTERS,
}
# Signing in, and the pages e-mailed links open: a signed-out visitor's own steps, each
# checked by its own marker or token (test_two_factor.py, test_account_links.py).
OPEN_TO_ALL = {
    "/admin/login",
    "/admin/login/code",
    "/admin/forgot",
    "/admin/invitation/<token>",
    "/admin/reset/<token>",
}
# Sent last, since it ends the session the rest of the walk needs.
LAST = {"accounts.logout"}
DENIED = {401, 403, 500}
ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")
# A value for an argument the walk does not know by name, from its converter.
BY_CONVERTER = {"int": 1, "string": "london", "default": "london", "path": "london", None: "london"}


@dataclass(frozen=True)
class Ids:
    """Real rows for the routes' URL arguments."""

    booking: int
    lead: int
    message: int
    admin: int


def admin_rules(app) -> list[Rule]:
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/admin") and rule.rule not in OPEN_TO_ALL
    ]
    return sorted(rules, key=lambda rule: (rule.endpoint in LAST, rule.rule, rule.endpoint))


def blueprint_of(rule: Rule) -> str:
    return rule.endpoint.rpartition(".")[0]


def expected_roles(rule: Rule) -> tuple[str, ...]:
    return ENDPOINT_ROLES.get(rule.endpoint) or EXPECTED_ROLES[blueprint_of(rule)]


def argument_values(rule: Rule, ids: Ids) -> dict:
    """Give each URL argument a real value: by its name, else by its converter's type."""
    by_name = {
        "booking_id": ids.booking,
        "lead_id": ids.lead,
        "message_id": ids.message,
        # The admin's own account: the walk must not lock anyone out or demote anyone.
        "user_id": ids.admin,
    }
    values = {}
    for match in ARGUMENT.finditer(rule.rule):
        name, converter = match["name"], match["converter"]
        if name in by_name:
            values[name] = by_name[name]
        elif converter in BY_CONVERTER:
            values[name] = BY_CONVERTER[converter]
        elif converter == "any":  # the first of the values it accepts
            values[name] = match["args"].split(",")[0].strip(" '\"")
        else:
            pytest.fail(f"{rule.endpoint} ({rule.rule}): no test value for <{converter}:{name}>")
    return values


def build_path(rule: Rule, ids: Ids) -> str:
    built = rule.build(argument_values(rule, ids), append_unknown=False)
    if built is None:
        pytest.fail(f"{rule.endpoint} ({rule.rule}): the URL cannot be built")
    return built[1]


@pytest.fixture
def ids(demo, client) -> Ids:
    """One booking (so one lead and its e-mails), one user per role and a staff exporter."""
    users = make_users(demo)
    with demo.app_context():
        make_user(EXPORTER_EMAIL, "staff").may_export = True
        db.session.commit()
    assert client.post("/book", data=booking_data(client)).status_code == 303
    with demo.app_context():
        booking = db.session.scalar(sa.select(Booking))
        message = db.session.scalar(sa.select(OutboxMessage).order_by(OutboxMessage.id))
        return Ids(
            booking=booking.id, lead=booking.lead_id, message=message.id, admin=users["admin"]
        )


def token_for(client, role: str | None) -> str:
    """A valid CSRF token for this client's session, so that the role check is what answers."""
    if role is None:
        return soup(client.get("/admin/login")).select_one("input[name=csrf_token]")["value"]
    return csrf_token(client, "/admin/account/password")


def problems_with(response, rule: Rule, path: str, role: str | None) -> list[str]:
    """Compare one response with what the table expects; return what is wrong."""
    where = f"{role or 'signed out'}: {rule.endpoint} {path}"
    found = []
    if "no-store" not in response.headers.get("Cache-Control", ""):
        found.append(f"{where}: Cache-Control is {response.headers.get('Cache-Control')!r}")
    csp = response.headers.get("Content-Security-Policy", "")
    if not csp or "unsafe-inline" in csp:
        found.append(f"{where}: Content-Security-Policy is {csp!r}")
    location = urlsplit(response.headers.get("Location", ""))
    next_path = parse_qs(location.query).get("next")
    sent_to_sign_in = location.path == "/admin/login" and next_path is not None
    if role is None:
        if response.status_code != 302 or not sent_to_sign_in or next_path != [path]:
            found.append(f"{where}: {response.status_code} to {response.headers.get('Location')}")
    elif role not in expected_roles(rule):
        if response.status_code != 403:
            found.append(f"{where}: {response.status_code}, expected 403")
    elif response.status_code in DENIED or sent_to_sign_in:
        found.append(f"{where}: {response.status_code} {response.headers.get('Location', '')}")
    return found


def walk(app, client, role: str | None, ids: Ids) -> list[str]:
    token = token_for(client, role)
    found = []
    for rule in admin_rules(app):
        path = build_path(rule, ids)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"csrf_token": token} if method != "GET" else None
            response = client.open(path, method=method, data=data)
            found += problems_with(response, rule, path, role)
    return found


def test_every_admin_route_is_in_the_role_table(app):
    unknown = [
        f"{rule.endpoint} ({rule.rule})"
        for rule in admin_rules(app)
        if blueprint_of(rule) not in EXPECTED_ROLES
    ]
    assert not unknown, "add these blueprints to EXPECTED_ROLES:\n" + "\n".join(unknown)


def test_the_walk_covers_every_feature_with_admin_pages(app):
    blueprints = {blueprint_of(rule) for rule in admin_rules(app)}
    mine = {
        "accounts",
        "admin",
        "booking_admin",
        "notifications_admin",
        "audit_admin",
        "accounts_admin",
    }
    assert mine <= blueprints


@pytest.mark.parametrize("role", [None, *SIGNED_IN], ids=["signed-out", *SIGNED_IN])
def test_role_matrix(app, client, ids, role):
    if role == "exporter":
        assert login(client, email=EXPORTER_EMAIL).status_code == 303
    elif role:
        assert login(client, role).status_code == 303
    problems = walk(app, client, role, ids)
    assert not problems, f"{len(problems)} route(s) answered wrongly:\n" + "\n".join(problems)


def test_the_pages_open_to_all_answer_signed_out_and_are_never_cached(app, client):
    """Sign-in, its code step, and e-mailed links: a page (or a way back to sign in) for a
    visitor who is not signed in, never a 500, never cached."""
    paths = {rule.rule for rule in app.url_map.iter_rules() if rule.rule in OPEN_TO_ALL}
    assert paths == OPEN_TO_ALL, "a page open to all is missing, or was renamed"
    for path in sorted(OPEN_TO_ALL):
        response = client.get(path.replace("<token>", "made-up"))
        assert response.status_code in (200, 303, 400), path
        assert "no-store" in response.headers["Cache-Control"], path


def test_csrf_is_checked_before_the_role(app, client, ids):
    """CSRFProtect runs before the blueprints' role checks: the walk must send a token."""
    response = client.post(f"/admin/users/{ids.admin}/deactivate")
    assert response.status_code == 400
    login(client, "marketer")
    assert client.post(f"/admin/users/{ids.admin}/deactivate").status_code == 400
