"""Booking clients racing for the same slots over real HTTP, then a check of the database:
every confirmation a client saw is a stored booking, and no slot is booked twice."""

import http.cookiejar
import os
import re
import secrets
import signal
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import sqlalchemy as sa

CLINICS = ("london", "manchester", "bedford")


def _opener():
    jar = http.cookiejar.CookieJar()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)


def first_day(base: str) -> str:
    html = urllib.request.urlopen(f"{base}/book?clinic=london").read().decode()
    return re.search(r'<option value="(\d{4}-\d\d-\d\d)"', html).group(1)


def _days(base: str) -> list[str]:
    html = urllib.request.urlopen(f"{base}/book?clinic=london").read().decode()
    return re.findall(r'<option value="(\d{4}-\d\d-\d\d)"', html)


def _free_slots(base: str) -> list[tuple[str, str]]:
    """Every free (clinic, start) in the horizon, earliest first: what all clients fight over."""
    import json

    found = []
    for day in _days(base):
        for clinic in CLINICS:
            url = f"{base}/book/slots?clinic={clinic}&date={day}"
            found += [(clinic, s["start"]) for s in json.load(urllib.request.urlopen(url))["slots"]]
    return sorted(found, key=lambda pair: pair[1])


class Race:
    """Shared state of one race: the slots still believed free and what each POST got."""

    def __init__(self, slots):
        self.slots = list(slots)
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.confirmed: list[str] = []
        self.refused = self.errors = 0

    def next_slot(self, spread: int = 3):
        with self.lock:
            return (
                self.slots[secrets.randbelow(min(spread, len(self.slots)))] if self.slots else None
            )

    def taken(self, slot) -> None:
        with self.lock:
            if slot in self.slots:
                self.slots.remove(slot)


def _client(base: str, race: Race, deadline: float, number: int) -> None:
    opener = _opener()
    try:
        html = opener.open(f"{base}/book?clinic=london").read().decode()
    except OSError:
        race.errors += 1
        return
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    while time.monotonic() < deadline:
        slot = race.next_slot()
        if slot is None:
            return
        clinic, start = slot
        data = urllib.parse.urlencode(
            {
                "csrf_token": token,
                "idempotency_key": secrets.token_urlsafe(16),
                "clinic": clinic,
                "slot": start,
                "name": f"Bench Client {number}",
                "email": f"bench{number}@example.com",
                "phone": "07911 123456",
                "consent": "y",
                "action": "book",
            }
        ).encode()
        began = time.perf_counter()
        try:
            response = opener.open(f"{base}/book", data=data)
            status, location = response.status, None
        except urllib.error.HTTPError as error:
            status, location = error.code, error.headers.get("Location")
        except OSError:
            with race.lock:
                race.errors += 1
            continue
        elapsed = (time.perf_counter() - began) * 1000
        with race.lock:
            race.latencies.append(elapsed)
            if status == 303:
                race.confirmed.append(location)
            elif status == 409:
                race.refused += 1
        race.taken(slot)


def _gunicorn_workers(serve_pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-f", "gunicorn"], capture_output=True, text=True).stdout
    pids = [int(p) for p in out.split()]
    parents = {
        p: int(open(f"/proc/{p}/stat").read().split()[3])
        for p in pids
        if os.path.exists(f"/proc/{p}")
    }
    masters = [p for p, parent in parents.items() if parent == serve_pid]
    return [p for p, parent in parents.items() if parent in masters]


def race(base: str, clients: int, seconds: float, kill_worker_after=None, serve_pid=None) -> dict:
    """Run `clients` racing bookers for `seconds`; return throughput, latency and the audit."""
    state = Race(_free_slots(base))
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(target=_client, args=(base, state, deadline, i)) for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    if kill_worker_after is not None:
        time.sleep(kill_worker_after)
        workers = _gunicorn_workers(serve_pid)
        if workers:
            os.kill(workers[0], signal.SIGKILL)
    for thread in threads:
        thread.join()
    lost, doubled = _audit(base, state)
    quantiles = (
        statistics.quantiles(state.latencies, n=100) if len(state.latencies) > 1 else [0] * 99
    )
    return {
        "clients": clients,
        "seconds": seconds,
        "booked": len(state.confirmed),
        "refused": state.refused,
        "errors": state.errors,
        "p50": quantiles[49],
        "p99": quantiles[98],
        "lost": lost,
        "doubled": doubled,
    }


def _audit(base: str, state: Race) -> tuple[int, int]:
    """Count confirmations with no stored booking, and slots with two active bookings."""
    lost = 0
    for location in state.confirmed:
        try:
            urllib.request.urlopen(base + location).read()
        except urllib.error.HTTPError:
            lost += 1
    engine = sa.create_engine(os.environ.get("BENCH_DATABASE_URL") or _database_url())
    with engine.connect() as connection:
        doubled = connection.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT clinic_id, starts_at FROM booking"
                " WHERE status != 'cancelled' GROUP BY clinic_id, starts_at"
                " HAVING count(*) > 1) AS twice"
            )
        ).scalar()
    engine.dispose()
    return lost, doubled


def _database_url() -> str:
    return os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
