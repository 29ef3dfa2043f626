"""The leads CSV export and the retention purge at volume, over real HTTP:
`python -m tests.bench.export_purge`.

For each size, builds the database with demo-load (as tests.bench.admin_scale does: SQLite
files, or with --postgres ADMIN_URL scratch databases), serves it with gunicorn and
clinic.gunicorn_conf (2 sync workers), signs in as an admin through both steps, and downloads
/admin/leads.csv: time to the first byte, total, rows a second, and the resident memory of
the worker that served it before, at its peak (sampled every 20 ms) and after. Then it runs
`flask --app clinic leads purge --older-than 365` while one client books calls in a loop,
and prints the purge's throughput and the booking POSTs' latency before and during it.

    python -m tests.bench.export_purge                          # SQLite, 1k 10k 100k
    python -m tests.bench.export_purge --postgres \\
        postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    python -m tests.bench.export_purge --sizes 100000 --database sqlite:////tmp/copy.db
"""

import argparse
import csv
import io
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyotp
import requests
import sqlalchemy as sa

from tests.bench.admin_scale import build, scratch_databases, signed_in_client
from tests.bench.run import ROOT, free_port, stop, wait_for

ADMIN = "bench-admin@example.test"
PASSWORD = "correct horse battery staple"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
RETENTION_DAYS = 365


def server_env(url: str, port: int) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-secret-key",
        "CLINIC_BASE_URL": f"http://127.0.0.1:{port}",
        "BOOKING_RATE_LIMIT": "100000 per minute",
        "LOGIN_RATE_LIMIT": "1000 per minute",
    }


def start_server(url: str) -> tuple[subprocess.Popen, str, dict]:
    port = free_port()
    env = server_env(url, port)
    env.pop("REDIS_URL", None)
    command = [
        sys.executable,
        *("-m", "gunicorn", "-c", "python:clinic.gunicorn_conf", "-w", "2", "-k", "sync"),
        *("--timeout", "120", "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"),
    ]
    server = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    wait_for(base + "/")
    return server, base, env


def workers(server: subprocess.Popen) -> list[int]:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (what the export cost it, whatever the
    other work on the machine took from the wall clock)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _hidden(html: str) -> dict:
    fields = re.findall(r'<input[^>]*type="hidden"[^>]*>', html)
    found = {}
    for field in fields:
        name = re.search(r'name="([^"]+)"', field)
        value = re.search(r'value="([^"]*)"', field)
        if name:
            found[name.group(1)] = value.group(1) if value else ""
    return found


def sign_in(base: str, url: str) -> requests.Session:
    """Sign in as the benchmark admin through the password and the code step."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:  # the code of this 30 s step may have been used
        connection.execute(
            sa.text('UPDATE "user" SET totp_last_step = NULL WHERE email = :e'), {"e": ADMIN}
        )
    engine.dispose()
    session = requests.Session()
    data = _hidden(session.get(base + "/admin/login").text)
    data.update(email=ADMIN, password=PASSWORD)
    session.post(base + "/admin/login", data=data)
    data = _hidden(session.get(base + "/admin/login/code").text)
    data["code"] = pyotp.TOTP(TOTP_SECRET).now()
    answer = session.post(base + "/admin/login/code", data=data, allow_redirects=False)
    assert answer.status_code == 303, f"could not sign in: {answer.status_code}"
    return session


def export(base: str, session: requests.Session, server: subprocess.Popen) -> dict:
    """Download the CSV of every lead; sample each worker's memory while it streams."""
    session.get(base + "/admin/leads?page=2")  # both workers warm, the route imported
    session.get(base + "/admin/leads?page=3")
    before = {pid: rss_mib(pid) for pid in workers(server)}
    cpu_before = {pid: cpu_seconds(pid) for pid in before}
    peak = dict(before)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for pid in peak:
                peak[pid] = max(peak[pid], rss_mib(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    with session.get(base + "/admin/leads.csv", stream=True) as response:
        assert response.status_code == 200, response.status_code
        chunks = response.iter_content(chunk_size=65536)
        body = [next(chunks)]
        first = time.perf_counter() - started
        body += list(chunks)
    total = time.perf_counter() - started
    done.set()
    sampler.join()
    after = {pid: rss_mib(pid) for pid in peak}
    rows = sum(1 for _ in csv.reader(io.StringIO(b"".join(body).decode("utf-8-sig")))) - 1
    cpu = {pid: cpu_seconds(pid) - cpu_before[pid] for pid in before}
    worker = max(cpu, key=cpu.get)
    return {
        "cpu": cpu[worker],
        "rows": rows,
        "first": first,
        "total": total,
        "rss": (before[worker], peak[worker], after[worker]),
    }


class Booker(threading.Thread):
    """Book calls one after another, as patients would; keep each POST's latency."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base, self.stop_at = base, threading.Event()
        self.latencies: list[tuple[float, float]] = []  # (when it started, seconds)
        self.booked = self.refused = self.errors = 0

    def run(self) -> None:
        number = 0
        while not self.stop_at.is_set():
            number += 1
            session = requests.Session()
            html = session.get(self.base + "/book?clinic=london").text
            slots = re.findall(r'name="slot" value="([^"]+)"', html)
            data = _hidden(html)
            data.update(
                name="Bench Booker",
                email=f"booker{number}-{os.getpid()}@example.com",
                phone="07911 123456",
                consent="y",
                clinic="london",
                slot=slots[number % len(slots)] if slots else "",
                action="book",
            )
            started = time.perf_counter()
            answer = session.post(self.base + "/book", data=data, allow_redirects=False)
            self.latencies.append((started, time.perf_counter() - started))
            if answer.status_code == 303:
                self.booked += 1
            elif answer.status_code < 500:
                self.refused += 1
            else:
                self.errors += 1


def purge(env: dict, base: str) -> dict:
    """Run the purge command while a client books; return its figures and the bookings'."""
    booker = Booker(base)
    booker.start()
    time.sleep(3)  # latency before the purge, to compare
    started = time.perf_counter()
    command = [sys.executable, "-m", "flask", "--app", "clinic", "leads", "purge"]
    command += ["--older-than", str(RETENTION_DAYS)]
    out = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    ended = time.perf_counter()
    time.sleep(1)
    booker.stop_at.set()
    booker.join()
    if out.returncode:
        raise SystemExit(out.stderr)
    found = re.search(r"Erased (\d+) .* in ([0-9.]+) s", out.stdout)
    erased, working = int(found.group(1)), float(found.group(2))
    before = [s for at, s in booker.latencies if at < started]
    during = [s for at, s in booker.latencies if started <= at < ended]
    return {
        "erased": erased,
        "seconds": working,  # the command's own figure: Python's start-up left out
        "before_p50": statistics.median(before) if before else float("nan"),
        "during_p50": statistics.median(during) if during else float("nan"),
        "during_max": max(during, default=float("nan")),
        "during_posts": len(during),
        "booked": booker.booked,
        "errors": booker.errors,
    }


def analyse(url: str) -> None:
    """Refresh the planner's statistics after the bulk load (autovacuum may not have yet)."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("ANALYZE"))
    engine.dispose()


def measure(url: str, size: int, purge_too: bool) -> dict:
    app, took = build(url, size)
    signed_in_client(app)  # creates the admin, enrolled in two-factor, when missing
    if url.startswith("postgresql"):
        analyse(url)
    print(f"{size:,} leads: built in {took:.1f} s; measuring...", flush=True)
    server, base, env = start_server(url)
    try:
        session = sign_in(base, url)
        result = {"export": export(base, session, server)}
        result["export_again"] = export(base, session, server)
        if purge_too:
            result["purge"] = purge(env, base)
    finally:
        stop(server)
    return result


def print_tables(results: dict[int, dict], database: str) -> None:
    print(f"\nLeads CSV export over HTTP, {database}, gunicorn 2 sync workers\n")
    print(
        "| leads | rows | first byte ms | total s | rows/s | worker CPU s "
        "| worker RSS MiB before / peak / after |"
    )
    print("|---:|---:|---:|---:|---:|---:|---|")
    for size, result in sorted(results.items()):
        for key in ("export", "export_again"):
            e = result[key]
            before, peak, after = e["rss"]
            print(
                f"| {size:,} | {e['rows']:,} | {e['first'] * 1000:.0f} | {e['total']:.2f} | "
                f"{e['rows'] / e['total']:,.0f} | {e['cpu']:.2f} | "
                f"{before:.0f} / {peak:.0f} / {after:.0f} |"
            )
    print(f"\nleads purge --older-than {RETENTION_DAYS} while one client books calls\n")
    print(
        "| leads | erased | purge s | leads/s | booking POST p50 before ms | "
        "p50 during ms | max during ms | POSTs during | booked | errors |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, result in sorted(results.items()):
        p = result.get("purge")
        if p:
            print(
                f"| {size:,} | {p['erased']:,} | {p['seconds']:.1f} | "
                f"{p['erased'] / p['seconds']:,.0f} | {p['before_p50'] * 1000:.0f} | "
                f"{p['during_p50'] * 1000:.0f} | {p['during_max'] * 1000:.0f} | "
                f"{p['during_posts']} | {p['booked']} | {p['errors']} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="PostgreSQL URL to create in")
    parser.add_argument("--keep", type=Path, help="SQLite: keep the files here")
    parser.add_argument("--no-purge", action="store_true", help="time the export only")
    parser.add_argument(
        "--database", metavar="URL", help="use this database (one size; a copy: it is purged)"
    )
    args = parser.parse_args()
    url_for, cleanup = scratch_databases(args.postgres, args.keep)
    if args.database:
        url_for, cleanup = (lambda _size: args.database), (lambda: None)
    results = {}
    try:
        for size in map(int, args.sizes.split(",")):
            results[size] = measure(url_for(size), size, not args.no_purge)
    finally:
        cleanup()
    postgres = args.postgres or (args.database or "").startswith("postgresql")
    print_tables(results, "PostgreSQL" if postgres else "SQLite")


if __name__ == "__main__":
    main()
