"""Booking clients racing for the same slots over real HTTP (wrk with booking_race.lua), then a
check of the database: every confirmation a client saw is a stored booking, and no slot is
booked twice."""

import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import sqlalchemy as sa

CLINICS = ("london", "manchester", "bedford")
SCRIPT = Path(__file__).with_name("booking_race.lua")


def first_day(base: str) -> str:
    html = urllib.request.urlopen(f"{base}/book?clinic=london").read().decode()
    return re.search(r'<option value="(\d{4}-\d\d-\d\d)"', html).group(1)


def _session(base: str) -> tuple[str, str, str]:
    """Open the form once, as a browser would: its session cookie, CSRF token and first slots."""
    response = urllib.request.urlopen(f"{base}/book?clinic=london")
    cookie = response.headers["Set-Cookie"].split(";")[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', response.read().decode())
    targets = []
    for clinic in CLINICS:
        html = urllib.request.urlopen(f"{base}/book?clinic={clinic}").read().decode()
        first = re.search(r'name="slot" value="([^"]+)"', html)
        if first:
            targets.append(f"{clinic}={first.group(1)}")
    return cookie, token.group(1), ",".join(targets)


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


def race(
    base: str, clients: int, seconds: int, pause_ms: int = 0, kill_worker_after=None, serve_pid=None
) -> dict:
    """Run `clients` racing bookers for `seconds` (wrk, so that the client's own cost stays out
    of the figures), each pausing a random 0 to 2 x `pause_ms` before every POST (0: no pause);
    return throughput, latency and the audit."""
    cookie, token, targets = _session(base)
    with tempfile.NamedTemporaryFile(suffix=".txt") as confirmations:
        env = {
            **os.environ,
            "BENCH_COOKIE": cookie,
            "BENCH_CSRF": token,
            "BENCH_TARGETS": targets,
            "BENCH_OUT": confirmations.name,
            "BENCH_PAUSE_MS": str(pause_ms),
        }
        threads = min(2, clients)
        command = [
            "wrk",
            f"-t{threads}",
            f"-c{clients}",
            f"-d{seconds}s",
            "-s",
            str(SCRIPT),
            base + "/book",
        ]
        wrk = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        if kill_worker_after is not None:
            time.sleep(kill_worker_after)
            workers = _gunicorn_workers(serve_pid)
            if workers:
                os.kill(workers[0], signal.SIGKILL)
        out, _ = wrk.communicate()
        locations = Path(confirmations.name).read_text().split()
    found = dict(re.findall(r"(\w+)=([\d.]+)", out.split("RESULT", 1)[1]))
    result = {key: int(found[key]) for key in ("booked", "refused")}
    result.update(
        errors=int(found["errors"]) + int(found["other"]),
        p50=float(found["p50"]),
        p99=float(found["p99"]),
    )
    return _with_audit(base, locations, result, clients=clients, seconds=seconds, pause_ms=pause_ms)


def _with_audit(base: str, locations: list[str], result: dict, **run) -> dict:
    lost, doubled = _audit(base, locations)
    return {**run, **result, "lost": lost, "doubled": doubled}


def _audit(base: str, locations: list[str]) -> tuple[int, int]:
    """Count confirmations with no stored booking, and slots with two active bookings."""
    lost = 0
    for location in locations:
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
