"""Two app hosts behind the production nginx (.deploy/nginx.conf), sharing one PostgreSQL
database, one Redis and one SECRET_KEY, each with its own outbox worker: bookings, publishing,
rate limits, sessions and e-mail stay correct, and a host killed mid-load loses nothing.

The hosts are started with the ExecStart lines of .deploy/*.service and nginx with the very
file the README points to; only addresses, ports and paths are replaced. Every simulated
person sends from an address of their own in 127.0.0.0/8, so nginx and the apps see them
apart, as they would see people on the internet."""

import itertools
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import pytest
import redis
import requests
import sqlalchemy as sa
from flask_migrate import upgrade
from requests.adapters import HTTPAdapter

from clinic import create_app
from clinic.booking.models import Booking
from clinic.content.models import Article
from clinic.content.seed import seed_demo
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.notifications.models import OutboxMessage
from tests import pgdb
from tests.auth_helpers import csrf_token, login, make_users
from tests.booking_helpers import GOOD, form_fields
from tests.conftest import app_config
from tests.deploy import nginx_command, outbox_command, render_nginx, web_command
from tests.smtp import SMTPServer
from tests.test_content_admin import DEMO_SLUG, form_data

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")

pytestmark = pytest.mark.hosts

# Short enough for CI; the figures the README gives are CHECK + PAGE_CACHE at their defaults.
CACHE_CHECK_SECONDS = 1
PAGE_CACHE_SECONDS = 3
WORKERS_PER_HOST = 2
OUTBOX_POLL_SECONDS = 0.2
# The production defaults (clinic/config.py), set here so that the checks below know them.
BOOKINGS_PER_MINUTE, SIGN_INS_PER_MINUTE = 10, 10
RATE_LIMITS = {
    "BOOKING_RATE_LIMIT": f"{BOOKINGS_PER_MINUTE} per minute;40 per hour",
    "LOGIN_RATE_LIMIT": f"{SIGN_INS_PER_MINUTE} per minute;50 per hour",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _addresses():
    """Yield distinct loopback addresses, one for each simulated person."""
    for n in itertools.count():
        yield f"127.{1 + n // 62500}.{n // 250 % 250 + 1}.{n % 250 + 1}"


ADDRESSES = _addresses()
_ADDRESS_LOCK = threading.Lock()


class _FromAddress(HTTPAdapter):
    """Open every connection from one local address."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


class Browser:
    """One person's browser (cookies, address) on one base URL; answers like Flask's test
    client (`get_data`, no redirects followed), so the test helpers work over real HTTP."""

    def __init__(self, base: str, address: str, application, session=None):
        self.base, self.address, self.application = base, address, application
        if session is None:
            session = requests.Session()
            session.mount("http://", _FromAddress(address))
        self.session = session

    def on(self, base: str) -> "Browser":
        """The same browser, talking to another URL (another host)."""
        return Browser(base, self.address, self.application, self.session)

    def get(self, path: str, **kwargs):
        return self._answer(self.session.get(self.base + path, allow_redirects=False, **kwargs))

    def post(self, path: str, data=None, **kwargs):
        response = self.session.post(self.base + path, data=data, allow_redirects=False, **kwargs)
        return self._answer(response)

    @staticmethod
    def _answer(response):
        response.get_data = lambda as_text=False: response.text if as_text else response.content
        return response


@dataclass
class Site:
    """The running site: nginx's URL, each host's own URL, their processes and logs."""

    nginx: str
    hosts: dict[str, str]
    app: object
    smtp: SMTPServer
    logs: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def browser(self, base: str | None = None) -> Browser:
        """A new person's browser, on nginx unless `base` names a host."""
        with _ADDRESS_LOCK:
            address = next(ADDRESSES)
        return Browser(base or self.nginx, address, self.app)

    def access_log(self) -> list[dict]:
        """nginx's access log, parsed (.deploy/nginx.conf's `clinic` format)."""
        line = re.compile(
            r'^(?P<ip>\S+) \[[^\]]+\] "(?P<method>\S+) (?P<path>\S+) [^"]*" (?P<status>\d+) \d+ '
            r"upstream=(?P<upstream>.*?) upstream_status=(?P<upstream_status>.*?) cache="
        )
        text = (self.logs / "log" / "access.log").read_text()
        return [m.groupdict() for m in map(line.match, text.splitlines()) if m]

    def hosts_that_answered(self, addresses: set[str], method: str = "POST") -> Counter:
        """Count, per host, the requests of `addresses` that nginx passed on."""
        names = {address: name for name, address in self.upstreams.items()}
        counts = Counter()
        for entry in self.access_log():
            if entry["ip"] in addresses and entry["method"] == method:
                last = entry["upstream"].split(", ")[-1]
                counts[names.get(last, last)] += 1
        return counts

    @property
    def upstreams(self) -> dict[str, str]:
        return {name: url.removeprefix("http://") for name, url in self.hosts.items()}


# -- starting and stopping the site -----------------------------------------------------------


def _wait_until_up(url: str, process: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{url} exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url + "/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still starting
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} did not answer within {seconds} s:\n{log.read_text()[-3000:]}")


def _prepare_database(url: str):
    """Migrate the fresh database, add the demo content and one user per role."""
    app = create_app(app_config(url))
    with app.app_context():
        upgrade()
        seed_demo()
        db.session.commit()
    make_users(app)
    return app


def _start(site: Site, name: str, command: list[str], env: dict) -> subprocess.Popen:
    # A session of its own: the SIGKILL test kills a whole host, workers and all.
    with open(site.logs / f"{name}.log", "wb") as log:
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    site.processes[name] = process
    return process


def _stop(processes: dict[str, subprocess.Popen]) -> None:
    """nginx first: its idle connections would hold up the hosts' graceful stop."""
    for name in ("nginx", *processes):
        process = processes.get(name)
        if process is not None and process.poll() is None:
            process.terminate()
            if name == "nginx":
                process.wait(timeout=20)
    for process in processes.values():
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _host_env(database_url: str, nginx_port: int, smtp: SMTPServer, tmp: Path, prefix: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLINIC_", "MAIL_"))}
    env.update(
        RATE_LIMITS,
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        SECRET_KEY=uuid.uuid4().hex + uuid.uuid4().hex,
        RATELIMIT_KEY_PREFIX=prefix,
        CLINIC_BASE_URL=f"http://127.0.0.1:{nginx_port}",
        CLINIC_TRUSTED_PROXIES="1",
        CLINIC_CACHE_CHECK_SECONDS=str(CACHE_CHECK_SECONDS),
        CLINIC_PAGE_CACHE_SECONDS=str(PAGE_CACHE_SECONDS),
        CLINIC_UPLOAD_DIR=str(tmp / "uploads"),
        CLINIC_STAFF_EMAILS="reception@example.test",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(smtp.port),
        MAIL_DEFAULT_SENDER="ProHealth Clinic <no-reply@prohealth.test>",
        MAIL_TIMEOUT="5",
    )
    return env


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Two hosts (gunicorn + outbox worker each) and nginx, on a fresh PostgreSQL database."""
    if not (DATABASE_URL.startswith("postgres") and REDIS_URL):
        pytest.skip("two hosts share PostgreSQL and Redis: runs in the PostgreSQL + Redis pass")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(nginx, os.X_OK):
        pytest.fail("nginx is missing: bash tests/setup-tools.sh installs it")
    tmp = tmp_path_factory.mktemp("hosts")
    server = sa.engine.make_url(DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"clinic_hosts_{os.getpid()}_{int(time.time())}"
    admin_url = server.set(database="postgres").render_as_string(hide_password=False)
    database_url = server.set(database=name).render_as_string(hide_password=False)
    pgdb.main("create", admin_url, name)
    prefix = f"hosts-{uuid.uuid4().hex[:12]}"
    smtp = SMTPServer()
    smtp.start()
    app = None
    site = None
    try:
        ports = {"A": _free_port(), "B": _free_port()}
        nginx_port = _free_port()
        hosts = {host: f"http://127.0.0.1:{port}" for host, port in ports.items()}
        site = Site(f"http://127.0.0.1:{nginx_port}", hosts, None, smtp, tmp)
        env = _host_env(database_url, nginx_port, smtp, tmp, prefix)
        for host, port in ports.items():  # they start up while the database is prepared
            _start(site, f"web-{host}", web_command(port, WORKERS_PER_HOST), env)
        site.app = app = _prepare_database(database_url)
        for host in ports:
            _start(site, f"outbox-{host}", outbox_command(OUTBOX_POLL_SECONDS), env)
        conf = render_nginx(tmp, list(site.upstreams.values()), nginx_port)
        _start(site, "nginx", nginx_command(nginx, conf), env)
        for host, url in hosts.items():
            _wait_until_up(url, site.processes[f"web-{host}"], tmp / f"web-{host}.log")
        _wait_until_up(site.nginx, site.processes["nginx"], tmp / "log" / "error.log")
        yield site
    finally:
        if site is not None:
            _stop(site.processes)
        smtp.stop()
        if app is not None:
            with app.app_context():
                db.engine.dispose()
        pgdb.main("drop", admin_url, name)
        store = redis.Redis.from_url(REDIS_URL)
        keys = list(store.scan_iter(f"*{prefix}*"))
        if keys:
            store.delete(*keys)
        store.close()


# -- helpers ----------------------------------------------------------------------------------


def free_slots(site: Site, clinic: str, count: int) -> list[str]:
    """The first `count` free times at `clinic`, as the form offers them."""
    browser = site.browser()
    page = browser.get(f"/book?clinic={clinic}").text
    days = re.findall(r'<option value="(\d{4}-\d\d-\d\d)"', page)
    found: list[str] = []
    for day in days:
        answer = browser.get(f"/book/slots?clinic={clinic}&date={day}").json()
        found += [slot["start"] for slot in answer["slots"]]
        if len(found) >= count:
            return found[:count]
    raise AssertionError(f"only {len(found)} free times at {clinic}")


# Well inside the booking limit from one address.
BOOKINGS_PER_PERSON = BOOKINGS_PER_MINUTE // 2


class Patient:
    """A person at an address of their own, who opens the booking form once and books from it."""

    def __init__(self, site: Site):
        self.browser = site.browser()
        self.fields = form_fields(self.browser, "/book")

    def submit(self, clinic: str, slot: str, key: str | None = None):
        """Press "Book my free call" for `slot` (a new form, so a new idempotency key)."""
        data = {**self.fields, **GOOD, "clinic": clinic, "slot": slot, "action": "book"}
        data.update(email=f"patient-{uuid.uuid4().hex[:12]}@example.com")
        data["idempotency_key"] = key or secrets.token_urlsafe(24)
        return self.browser.post("/book", data=data)

    def book(self, clinic: str, slot: str) -> dict:
        """Book `slot`, pressing the button again once if the page fails (5xx)."""
        key = secrets.token_urlsafe(24)
        first = final = self.submit(clinic, slot, key)
        if first.status_code >= 500:
            final = self.submit(clinic, slot, key)
        return {
            "key": key,
            "first": first.status_code,
            "status": final.status_code,
            "location": final.headers.get("Location"),
            "at": time.monotonic(),
        }


def doubled_slots(app) -> int:
    """Times with more than one live booking."""
    with app.app_context():
        twice = (
            sa.select(Booking.clinic_id, Booking.starts_at)
            .where(Booking.status != "cancelled")
            .group_by(Booking.clinic_id, Booking.starts_at)
            .having(sa.func.count() > 1)
        )
        return len(db.session.execute(twice).all())


def bookings_with_keys(app, keys: set[str]) -> Counter:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(Booking.idempotency_key).where(Booking.idempotency_key.in_(keys))
        )
        return Counter(rows)


def due_emails():
    """Count the e-mails a worker should be sending now."""
    return sa.select(sa.func.count()).where(
        OutboxMessage.status.in_(("pending", "sending")), OutboxMessage.not_before <= utcnow()
    )


def sign_in(site: Site, host: str, role: str) -> Browser:
    browser = site.browser(site.hosts[host])
    response = login(browser, role)
    assert response.status_code == 303, response.text[:500]
    return browser


# -- the checks ---------------------------------------------------------------------------------


def test_the_readme_points_to_the_tested_config_and_holds_no_copy():
    readme = (ROOT / "README.md").read_text()
    assert ".deploy/nginx.conf" in readme
    assert "```nginx" not in readme
    # No line of nginx config (a directive ending in ; or {), fenced or not.
    directive = re.compile(
        r"^\s*(proxy_\w+|upstream|server|location|listen|gzip\w*)\b[^`]*[;{]\s*$"
    )
    copied = [line for line in readme.splitlines() if directive.match(line)]
    assert not copied, f"the README repeats nginx config, point to the file instead: {copied}"
    for unit in ("clinic-web.service", "clinic-outbox.service"):
        assert unit in readme


def test_fifty_racers_on_both_hosts_make_exactly_one_booking(site):
    slot = free_slots(site, "london", 1)[0]
    with ThreadPoolExecutor(8) as pool:
        racers = list(pool.map(lambda _: Patient(site), range(50)))
    start = threading.Barrier(len(racers))

    def race(racer: Patient) -> int:
        start.wait()
        return racer.submit("london", slot).status_code

    with ThreadPoolExecutor(len(racers)) as pool:
        statuses = Counter(pool.map(race, racers))
    spread = site.hosts_that_answered({racer.browser.address for racer in racers})
    print(f"\nrace: 50 racers for one slot: {dict(statuses)}; requests per host {dict(spread)}")
    assert statuses == {303: 1, 409: 49}
    assert spread["A"] > 0 and spread["B"] > 0
    assert doubled_slots(site.app) == 0


def test_publishing_on_host_a_reaches_host_b_and_the_nginx_cache_in_time(site):
    path = f"/articles/{DEMO_SLUG}"
    marketer = sign_in(site, "A", "marketer")
    with site.app.app_context():
        item = db.session.scalar(sa.select(Article.id).where(Article.slug == DEMO_SLUG))
    editor = f"/admin/content/articles/{item}"
    title = f"Published on host A {uuid.uuid4().hex[:6]}"
    changes = {**form_data(marketer.get(editor)), "title": title, "confirm_warnings": "y"}
    reader = site.browser()
    reader.get(path)
    # Just stored by nginx, so it keeps the old page as long as it ever would.
    assert reader.get(path).headers["X-Cache-Status"] == "HIT"
    host_b = reader.on(site.hosts["B"])
    assert host_b.get(path).status_code == 200  # and in host B's own memory
    published = marketer.post(editor, data={**changes, "action": "publish"})
    assert published.status_code == 303
    at = time.monotonic()
    seen: dict[str, float] = {}
    while len(seen) < 2 and time.monotonic() - at < CACHE_CHECK_SECONDS + PAGE_CACHE_SECONDS + 5:
        for name, browser in (("host B", host_b), ("nginx", reader)):
            if name not in seen and title in browser.get(path).text:
                seen[name] = time.monotonic() - at
        time.sleep(0.05)
    print(
        f"\ncache: publish seen on host B after {seen.get('host B', -1):.2f} s, through nginx "
        f"after {seen.get('nginx', -1):.2f} s (CLINIC_CACHE_CHECK_SECONDS={CACHE_CHECK_SECONDS}, "
        f"CLINIC_PAGE_CACHE_SECONDS={PAGE_CACHE_SECONDS})"
    )
    # On top: the requests' own time, and nginx's background refresh (one stale answer).
    assert seen["host B"] <= CACHE_CHECK_SECONDS + 1
    assert seen["nginx"] <= CACHE_CHECK_SECONDS + PAGE_CACHE_SECONDS + 1


def test_booking_rate_limit_holds_across_both_hosts(site):
    browser = site.browser()
    data = form_fields(browser, "/book?clinic=london")
    data.update(clinic="london", action="book")  # incomplete: refused, but counted
    limit = BOOKINGS_PER_MINUTE
    statuses = [browser.post("/book", data=data).status_code for _ in range(limit + 1)]
    spread = site.hosts_that_answered({browser.address})
    print(f"\nbooking limit: {statuses} over hosts {dict(spread)}")
    assert statuses == [422] * limit + [429]
    assert spread["A"] >= 3 and spread["B"] >= 3


def test_sign_in_rate_limit_holds_across_both_hosts(site):
    browser = site.browser()
    token = csrf_token(browser, "/admin/login")
    limit = SIGN_INS_PER_MINUTE

    def attempt(n: int) -> int:
        data = {"csrf_token": token, "email": f"nobody{n}@example.test", "password": "wrong"}
        return browser.post("/admin/login", data=data).status_code

    statuses = [attempt(n) for n in range(limit + 1)]
    spread = site.hosts_that_answered({browser.address})
    print(f"\nsign-in limit: {statuses} over hosts {dict(spread)}")
    assert statuses == [401] * limit + [429]
    assert spread["A"] >= 3 and spread["B"] >= 3


def test_a_session_from_host_a_works_on_host_b_and_signing_out_on_b_ends_it_on_a(site):
    other_browser = sign_in(site, "A", "admin")
    browser = sign_in(site, "A", "admin")
    on_b = browser.on(site.hosts["B"])
    assert on_b.get("/admin/").status_code == 200
    cookies = browser.session.cookies.get_dict()
    assert on_b.post("/admin/logout", data={"csrf_token": csrf_token(on_b)}).status_code in (
        302,
        303,
    )
    replayed = site.browser(site.hosts["A"])
    replayed.session.cookies.update(cookies)  # the cookie from before, kept by an attacker
    for signed_out in (replayed, other_browser):
        answer = signed_out.get("/admin/")
        assert answer.status_code in (302, 303)
        assert "/admin/login" in answer.headers["Location"]


def test_two_hundred_bookings_with_two_outbox_workers_send_every_email_once(site):
    slots = [("manchester", s) for s in free_slots(site, "manchester", 100)]
    slots += [("bedford", s) for s in free_slots(site, "bedford", 100)]
    rounds = [slots[n : n + BOOKINGS_PER_PERSON] for n in range(0, 200, BOOKINGS_PER_PERSON)]

    def one_person(their_slots: list) -> list[dict]:
        patient = Patient(site)
        return [patient.book(*slot) for slot in their_slots]

    with ThreadPoolExecutor(8) as pool:
        made = [booking for done in pool.map(one_person, rounds) for booking in done]
    assert Counter(b["status"] for b in made) == {303: 200}
    deadline = time.monotonic() + 30
    with site.app.app_context():
        while db.session.scalar(due_emails()) and time.monotonic() < deadline:
            db.session.commit()
            time.sleep(0.2)
        sent = set(
            db.session.scalars(sa.select(OutboxMessage.id).where(OutboxMessage.status == "sent"))
        )
        kinds = Counter(
            db.session.scalars(sa.select(OutboxMessage.kind).where(OutboxMessage.status == "sent"))
        )
    assert all(site.processes[f"outbox-{host}"].poll() is None for host in ("A", "B"))
    received = Counter(m["Message-ID"] for m in site.smtp.messages)
    ids = {int(re.match(r"<outbox\.(\d+)\.", message_id).group(1)) for message_id in received}
    print(
        f"\ne-mail: {len(made)} bookings, {len(sent)} e-mails sent ({dict(kinds)}), "
        f"{sum(received.values())} received, {len(received)} distinct Message-IDs"
    )
    assert max(received.values()) == 1  # none twice
    assert ids == sent  # every sent one arrived, and nothing else did
    assert kinds["booking.patient"] >= 200 and kinds["booking.staff"] >= 200


def test_one_request_id_from_nginx_to_the_app_and_back(site):
    """nginx makes the id, the app trusts it (one proxy) and shows it on its error page; a
    cached page never replays the id of the request that filled the cache."""
    browser = site.browser()
    missing = browser.get("/no-such-page")
    request_id = missing.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert missing.status_code == 404 and request_id in missing.text
    logged = (site.logs / "log" / "access.log").read_text()
    assert f"request_id={request_id}" in logged
    ids = {browser.get("/").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3
    assert "?" not in "".join(entry["path"] for entry in site.access_log())


def test_host_a_killed_mid_load_loses_no_confirmed_booking(site):
    """Last in the file: host A stays dead."""
    slots = [("london", s) for s in free_slots(site, "london", 150)]
    slots.reverse()
    pick = threading.Lock()
    stop = threading.Event()
    made: list[dict] = []

    def load() -> None:
        for n in itertools.count():
            if n % BOOKINGS_PER_PERSON == 0:
                patient = Patient(site)
            with pick:
                if stop.is_set() or not slots:
                    return
                clinic, slot = slots.pop()
            made.append(patient.book(clinic, slot))

    with ThreadPoolExecutor(6) as pool:
        loads = [pool.submit(load) for _ in range(6)]
        time.sleep(1.5)
        killed_at = time.monotonic()
        for name in ("web-A", "outbox-A"):  # the whole host: its gunicorn and its worker
            os.killpg(site.processes[name].pid, signal.SIGKILL)
        time.sleep(3)
        stop.set()
        for finished in loads:
            finished.result()  # a load thread's exception fails the test
    probe = site.browser()
    probed = [probe.get("/book").status_code for _ in range(10)]
    after = [b for b in made if b["at"] > killed_at + 0.5]
    confirmed = [b for b in made if b["status"] == 303]
    in_flight = sum(b["first"] >= 500 for b in made)
    print(
        f"\nSIGKILL: {len(made)} bookings tried, {len(confirmed)} confirmed, {in_flight} answered "
        f"5xx at the kill then booked when sent again, {len(after)} after the kill"
    )
    assert Counter(b["status"] for b in made) == {303: len(made)}
    assert len(after) >= 10  # host B went on serving
    reader = site.browser()
    for booking in confirmed:
        assert reader.get(urljoin("/", booking["location"])).status_code == 200
    stored = bookings_with_keys(site.app, {b["key"] for b in made})
    assert set(stored) == {b["key"] for b in confirmed}
    assert max(stored.values()) == 1
    assert doubled_slots(site.app) == 0
    # Marked down: nginx sends the next requests straight to B, without trying A first.
    assert probed == [200] * 10
    tried = [e["upstream"] for e in site.access_log() if e["ip"] == probe.address]
    assert tried == [site.upstreams["B"]] * 10
    error_log = (site.logs / "log" / "error.log").read_text()
    assert f"{site.upstreams['A']}" in error_log and "temporarily disabled" in error_log
    assert requests.get(site.hosts["B"] + "/healthz", timeout=5).status_code == 200
    # Both hosts down: the patient gets the clinic's own page with the phone number.
    os.killpg(site.processes["web-B"].pid, signal.SIGKILL)
    down = site.browser().get("/book")
    assert down.status_code == 502
    assert "Please try again in a minute" in down.text and "+44 1234 380345" in down.text
