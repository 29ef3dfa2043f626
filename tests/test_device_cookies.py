"""Device cookies: others' guesses lock an account for every browser but the ones its person
signed in from (OWASP, "Slow Down Online Guessing Attacks with Device Cookies")."""

import time

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from clinic.accounts import services
from clinic.accounts.models import User
from clinic.extensions import db
from tests.auth_helpers import PASSWORD, csrf_token, login, make_users

STAFF = "staff@example.test"
WRONG = "a wrong password guess"
LOCAL = "127.0.0.1"  # the test client's address


@pytest.fixture
def users(app):
    # Room for every sign-in a test makes from 127.0.0.1: the account lock is under test here.
    app.config["LOGIN_RATE_LIMIT"] = "100 per minute"
    return make_users(app)


def staff_user() -> User:
    return db.session.scalar(sa.select(User).where(User.email == STAFF))


def signed_in_browser(app, role: str = "staff"):
    """A browser that signed in once and signed out again, as at the end of a day."""
    browser = app.test_client()
    assert login(browser, role).status_code == 303
    assert browser.post("/admin/logout", data={"csrf_token": csrf_token(browser)}).status_code
    assert browser.get_cookie(services.DEVICE_COOKIE, path="/admin") is not None
    return browser


def lock_out_staff(app, password: str = WRONG) -> None:
    """Guess wrong from a browser with no device cookie until the account locks."""
    attacker = app.test_client()
    for _ in range(services.MAX_FAILURES):
        assert login(attacker, email=STAFF, password=password).status_code == 401
    with app.app_context():
        assert services.is_locked(staff_user(), LOCAL)


def with_device_cookie(app, value: str):
    browser = app.test_client()
    browser.set_cookie(services.DEVICE_COOKIE, value, path="/admin")
    return browser


def device_value(browser) -> str:
    return browser.get_cookie(services.DEVICE_COOKIE, path="/admin").value


def test_failures_without_a_device_cookie_lock_the_account(app, users):
    signed_in_browser(app)
    lock_out_staff(app)
    assert login(app.test_client(), "staff").status_code == 401, "right password, new browser"


def test_the_persons_own_browser_signs_in_while_locked(app, users):
    own = signed_in_browser(app)
    lock_out_staff(app)
    assert login(own, "staff").status_code == 303
    assert own.get("/admin/").status_code == 200
    with app.app_context():
        assert services.is_locked(staff_user(), LOCAL), "the lock stands for everyone else"
    assert login(app.test_client(), "staff").status_code == 401


def test_a_shared_browser_stays_trusted_for_each_person(app, users):
    shared = signed_in_browser(app, "staff")
    login(shared, "marketer")
    lock_out_staff(app)
    assert login(shared, "staff").status_code == 303


def _tampered(app) -> str:
    """Staff's own cookie content under the signature of the marketer's cookie."""
    staff_payload = device_value(signed_in_browser(app, "staff")).rsplit(".", 2)[0]
    marketer_stamp_and_signature = device_value(signed_in_browser(app, "marketer")).rsplit(".", 2)
    return ".".join([staff_payload, *marketer_stamp_and_signature[1:]])


def _signed_with_another_key(app) -> str:
    # Signed in outside the app context: requests inside one would share its `g`, and with it
    # the CSRF token of the session before signing in.
    cookie = device_value(signed_in_browser(app, "staff"))
    with app.app_context():
        content = services.read_device(cookie)
    return URLSafeTimedSerializer("not-the-secret-key", salt=services.DEVICE_SALT).dumps(content)


class _LastYearsSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time() - services.DEVICE_COOKIE_AGE.total_seconds()) - 60


def _too_old(app) -> str:
    """Signed with the right key, but longer ago than a device cookie lives."""
    # Signed in outside the app context: requests inside one would share its `g`, and with it
    # the CSRF token of the session before signing in.
    cookie = device_value(signed_in_browser(app, "staff"))
    with app.app_context():
        content = services.read_device(cookie)
    serializer = URLSafeTimedSerializer(
        app.secret_key, salt=services.DEVICE_SALT, signer=_LastYearsSigner
    )
    return serializer.dumps(content)


def _another_accounts(app) -> str:
    return device_value(signed_in_browser(app, "marketer"))


@pytest.mark.parametrize("make_cookie", [_tampered, _signed_with_another_key, _too_old])
def test_a_forged_cookie_does_not_get_past_the_lock(app, users, make_cookie):
    cookie = make_cookie(app)
    own = signed_in_browser(app)
    lock_out_staff(app)
    assert login(with_device_cookie(app, cookie), "staff").status_code == 401
    assert login(own, "staff").status_code == 303, "the genuine cookie still does"


def test_another_accounts_cookie_does_not_get_past_the_lock(app, users):
    marketers = signed_in_browser(app, "marketer")
    lock_out_staff(app)
    assert login(marketers, "staff").status_code == 401
    assert login(marketers, "marketer").status_code == 303


def test_a_deactivated_account_is_refused_even_from_its_own_browser(app, users, runner):
    own = signed_in_browser(app)
    lock_out_staff(app)
    assert runner.invoke(args=["users", "deactivate", STAFF]).exit_code == 0
    assert login(own, "staff").status_code == 401
    with app.app_context():
        staff_user().active = True
        db.session.commit()
    assert login(own, "staff").status_code == 303, "refused above for being deactivated"


def test_a_refusal_from_a_trusted_browser_costs_a_password_check(app, users, monkeypatch):
    """Deactivated and trusted must take as long as any other refusal."""
    with app.app_context():
        user = staff_user()
        device = services.device_cookie(user, None)
        user.active = False
        checked = []
        monkeypatch.setattr(User, "check_password", lambda self, pw: checked.append(pw))
        assert services.authenticate(STAFF, PASSWORD, device) is None
        db.session.rollback()
    assert checked == [PASSWORD]


def test_a_trusted_browsers_failures_count_on_the_browser_not_the_account(app, users):
    own = signed_in_browser(app)
    for _ in range(services.MAX_FAILURES):
        assert login(own, email=STAFF, password=WRONG).status_code == 401
    with app.app_context():
        assert services.throttle_of(staff_user(), LOCAL) is None
    assert login(own, "staff").status_code == 429, "this browser has used its guesses"
    assert login(app.test_client(), "staff").status_code == 303, "the account is not locked"


def test_a_password_change_makes_older_cookies_worthless(app, users):
    changer, other = signed_in_browser(app), signed_in_browser(app)
    login(changer, "staff")
    new = "a brand new long password"
    data = {"csrf_token": csrf_token(changer, "/admin/account/password"), "current": PASSWORD}
    data.update(new=new, confirm=new)
    assert changer.post("/admin/account/password", data=data).status_code == 303
    lock_out_staff(app)
    assert login(other, email=STAFF, password=new).status_code == 401
    assert login(changer, email=STAFF, password=new).status_code == 303


@pytest.mark.parametrize(
    ("base_url", "secure"), [("https://localhost", True), ("http://localhost", False)]
)
def test_the_device_cookie_is_http_only_lax_and_secure_over_https(app, users, base_url, secure):
    browser = app.test_client()
    referer = {"Referer": f"{base_url}/admin/login"}  # Flask-WTF checks it over HTTPS
    response = login(browser, "staff", base_url=base_url, headers=referer)
    assert response.status_code == 303
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("device="))
    parts = [part.strip().partition("=") for part in header.split(";")[1:]]
    attributes = {name: value for name, _, value in parts}
    assert "HttpOnly" in attributes
    assert attributes["SameSite"] == "Lax"
    assert attributes["Path"] == "/admin"
    assert int(attributes["Max-Age"]) >= 300 * 24 * 3600
    assert ("Secure" in attributes) is secure
