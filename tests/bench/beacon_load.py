"""Benchmark: visit beacons against the real server (serve, gunicorn, Redis), and whether they
slow a page.

    REDIS_URL=redis://127.0.0.1:6379/7 python -m tests.bench.beacon_load [--seconds 10]

Runs wrk with tests/bench/beacon.lua (same-origin POSTs from many networks and browsers) at
the beacon endpoint; then an article page alone, and the same page while beacons run at the
same time. Prints requests a second and latency, and checks the counts reached the database.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
import sqlalchemy as sa

from tests.bench.run import ARTICLE, ROOT, _latency, free_port, serve, stop, wait_for, wrk

LUA = Path(__file__).with_name("beacon.lua")
PREFIX = "bench-insights"


def sent(out: str) -> int:
    """Beacons wrk had answered with 2xx, from its summary."""
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return total - (int(errors.group(1)) if errors else 0)


def wrk_beacons(url: str, connections: int, seconds: int) -> dict:
    warm = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", "-d2s", "-s", str(LUA), url],
        capture_output=True,
        text=True,
    ).stdout
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(LUA), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _latency(out, "50%"),
        "p99": _latency(out, "99%"),
        "non2xx": int(errors.group(1)) if errors else 0,
        "sent": sent(warm) + sent(out),
    }


def line(name: str, result: dict) -> str:
    return (
        f"| {name:<40} | {result['rps']:>9,.0f} | {result['p50']:>7.2f} | "
        f"{result['p99']:>7.2f} | {result['non2xx']:>6} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        sys.exit("set REDIS_URL: the beacon is measured with Redis, as in production")
    tmp = Path(tempfile.mkdtemp(prefix="clinic-beacon-bench-"))
    database_url = os.environ.get("DATABASE_URL", f"sqlite:///{tmp}/bench.db")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench",
        "CLINIC_TRUSTED_PROXIES": "1",
        "INSIGHTS_KEY_PREFIX": PREFIX,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": "9",
    }
    client = redis.Redis.from_url(redis_url)
    port = free_port()
    server = serve(port, env, args.workers)
    app = f"http://127.0.0.1:{port}"
    try:
        wait_for(app + "/healthz")
        beacons = wrk_beacons(app + "/visits", args.connections, args.seconds)
        page = wrk(app + ARTICLE, args.connections, args.seconds)
        loader = subprocess.Popen(
            [
                "wrk",
                "-t1",
                f"-c{args.connections}",
                f"-d{args.seconds + 4}s",
                "-s",
                str(LUA),
                app + "/visits",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            busy_page = wrk(app + ARTICLE, args.connections, args.seconds)
        finally:
            loaded = sent(loader.communicate()[0])
        time.sleep(2)  # each worker sends its last batch to Redis within a second
        folded = fold_and_count(env)
    finally:
        stop(server)
        keys = list(client.scan_iter(match=f"{PREFIX}:*"))
        if keys:
            client.delete(*keys)
    print(f"\n{args.connections} connections, {args.seconds} s each, gunicorn -w {args.workers}")
    print(f"database {database_url.split(':', 1)[0]}, Redis {redis_url}\n")
    print("| target                                   |     req/s | p50 ms  | p99 ms  | non2xx |")
    print("|------------------------------------------|-----------|---------|---------|--------|")
    print(line("beacons POST /visits", beacons))
    print(line("article page alone", page))
    print(line("article page while beacons run", busy_page))
    total = beacons["sent"] + loaded
    print(f"\nbeacons answered 204: {total:,}; views folded into visit_count: {folded:,}")
    print(
        f"target: 1,000 beacons a second: {beacons['rps']:,.0f} "
        f"({'met' if beacons['rps'] >= 1000 else 'NOT met'})"
    )
    print(
        f"beacons a second per cached article page a second, same run: "
        f"{beacons['rps'] / page['rps']:.2f} (this machine's speed moves between runs; "
        "the ratio does much less)"
    )
    ratio = busy_page["p99"] / page["p99"] if page["p99"] else 0
    print(f"article p99 while beacons run: {busy_page['p99']:.2f} ms ({ratio:.2f}x alone)")
    return 0 if beacons["rps"] >= 1000 else 1


def fold_and_count(env: dict) -> int:
    """Fold Redis into the database as the insights page does; return the views stored."""
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "clinic", "insights", "roll"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    engine = sa.create_engine(env["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        total = connection.scalar(
            sa.text("SELECT coalesce(sum(views), 0) FROM visit_count WHERE kind = 'view'")
        )
    engine.dispose()
    return int(total)


if __name__ == "__main__":
    sys.exit(main())
