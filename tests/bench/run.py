"""Benchmark: the real server (serve, gunicorn, demo data) under wrk and racing booking clients,
against two ceilings measured in the same run. Prints a table; run with
`python -m tests.bench.run` (needs wrk and nginx: `apt-get install wrk nginx`)."""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

from tests import deploy
from tests.bench import booking_load

ROOT = Path(__file__).resolve().parents[2]
ARTICLE = "/articles/does-amitriptyline-relax-muscles"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def wrk(url: str, connections: int, seconds: int) -> dict:
    """Run wrk after a short warm-up; return requests/s and p50/p99 latency in ms."""
    subprocess.run(["wrk", "-t2", f"-c{connections}", "-d2s", url], capture_output=True)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50": _latency(out, "50%"),
        "p99": _latency(out, "99%"),
        "non2xx": int(errors.group(1)) if errors else 0,
    }


def _latency(out: str, label: str) -> float:
    value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def cache_hit(url: str) -> str:
    """Ask twice through the production nginx config; the second answer must come from its cache."""
    urllib.request.urlopen(url).read()
    with urllib.request.urlopen(url) as response:
        return response.headers.get("X-Cache-Status", "")


def gunicorn(app: str, port: int, env: dict, workers: int) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:clinic.gunicorn_conf",
        "-w",
        str(workers),
        "-k",
        "sync",
        "--no-control-socket",
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        app,
    ]
    return subprocess.Popen(command, env=env, cwd=ROOT)


def serve(port: int, env: dict, workers: int) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "clinic",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    return subprocess.Popen(
        command,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def nginx_config(tmp: Path, server_block: str) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    conf = tmp / "nginx.conf"
    conf.write_text(
        textwrap.dedent(f"""
        worker_processes 1;
        daemon off;
        pid {tmp}/nginx.pid;
        error_log {tmp}/error.log warn;
        events {{ worker_connections 1024; }}
        http {{
            access_log off;
            client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
            fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
            default_type text/html;
            {server_block}
        }}
    """)
    )
    return conf


def production_nginx(tmp: Path, listen: int, upstream: int) -> Path:
    """The production config (.deploy/nginx.conf), both upstream lines on our one app."""
    return deploy.render_nginx(tmp, [f"127.0.0.1:{upstream}"] * 2, listen)


def start_nginx(conf: Path, production: bool = False) -> subprocess.Popen:
    command = ["nginx", "-c", str(conf), "-p", str(conf.parent)]
    if production:
        command = deploy.nginx_command("nginx", conf)
    return subprocess.Popen(command, stderr=subprocess.DEVNULL)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except (PermissionError, ProcessLookupError):
            process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def row(name: str, result: dict, ceiling: dict | None = None) -> str:
    ratio = f"{result['rps'] / ceiling['rps']:.2f}" if ceiling else ""
    return (
        f"| {name:<44} | {result['rps']:>9,.0f} | {result['p50']:>7.2f} | "
        f"{result['p99']:>7.2f} | {ratio:>8} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--booking-clients", type=int, default=50)
    parser.add_argument(
        "--booking-pause-ms", type=int, default=1000, help="mean pause of the paced booking race"
    )
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: apt-get install wrk nginx")
    tmp = Path(tempfile.mkdtemp(prefix="clinic-bench-"))
    tmp.chmod(0o755)  # nginx's workers drop root and must read the static file
    env = {
        **os.environ,
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{tmp}/bench.db"),
        "SECRET_KEY": "bench",
        "BOOKING_RATE_LIMIT": "1000000 per minute",
        "CLINIC_STAFF_EMAILS": "staff@example.test",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": "9",
    }
    os.environ["BENCH_DATABASE_URL"] = env["DATABASE_URL"]
    app_port, bare_port, static_port, cache_port = (free_port() for _ in range(4))
    processes: list[subprocess.Popen] = []
    try:
        processes.append(serve(app_port, env, args.workers))
        app = f"http://127.0.0.1:{app_port}"
        wait_for(app + "/healthz")
        html = urllib.request.urlopen(app + ARTICLE).read()
        (tmp / "article.html").write_bytes(html)
        (tmp / "static").mkdir()
        (tmp / "static" / "article.html").write_bytes(html)
        bare_env = {**env, "BENCH_HTML_FILE": str(tmp / "article.html"), "PYTHONPATH": str(ROOT)}
        processes.append(gunicorn("tests.bench.bare_app:app", bare_port, bare_env, args.workers))
        static = nginx_config(
            tmp / "n1",
            f"server {{ listen 127.0.0.1:{static_port}; location / {{ root {tmp}/static; }} }}",
        )
        cached = production_nginx(tmp / "n2", cache_port, app_port)
        processes += [start_nginx(static), start_nginx(cached, production=True)]
        wait_for(f"http://127.0.0.1:{bare_port}/article")
        wait_for(f"http://127.0.0.1:{static_port}/article.html")
        wait_for(f"http://127.0.0.1:{cache_port}{ARTICLE}")

        cache_status = cache_hit(f"http://127.0.0.1:{cache_port}{ARTICLE}")
        day = booking_load.first_day(app)
        c, s = args.connections, args.seconds
        bare = wrk(f"http://127.0.0.1:{bare_port}/article", c, s)
        nginx_static = wrk(f"http://127.0.0.1:{static_port}/article.html", c, s)
        results = {
            "article page": wrk(app + ARTICLE, c, s),
            "clinic page": wrk(app + "/clinics/london", c, s),
            "/book (form)": wrk(app + "/book?clinic=london", c, s),
            "/book/slots": wrk(f"{app}/book/slots?clinic=london&date={day}", c, s),
            "article through production nginx cache": wrk(
                f"http://127.0.0.1:{cache_port}{ARTICLE}", c, s
            ),
        }
        # Bookers go through the production nginx config, as in production: nginx hands gunicorn's
        # sync workers whole requests, so a client still thinking never holds a worker.
        front, clients, pause = (
            f"http://127.0.0.1:{cache_port}",
            args.booking_clients,
            args.booking_pause_ms,
        )
        races = {
            "booking race, no pauses": booking_load.race(front, clients, s),
            f"booking race, pauses of {pause} ms on average": booking_load.race(
                front, clients, s, pause_ms=pause
            ),
            "booking race, no pauses, one worker killed": booking_load.race(
                front, clients, s, kill_worker_after=s / 2, serve_pid=processes[0].pid
            ),
        }
        sweep = booking_sweep(front, clients, s)
    finally:
        for process in reversed(processes):
            stop(process)
    print_report(args, bare, nginx_static, results, races)
    print_sweep(sweep)
    print(f"  the production nginx config serves the article from its cache: {cache_status}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def booking_sweep(app: str, clients: int, seconds: int, limit_ms: float = 100.0) -> list[dict]:
    """Race again with ever shorter pauses until the POST p99 reaches `limit_ms`: how many
    booking POSTs a second this server answers within that time."""
    runs, pause = [], 800
    while pause >= 25:
        runs.append(booking_load.race(app, clients, seconds, pause_ms=pause))
        if runs[-1]["p99"] >= limit_ms:
            break
        pause //= 2
    return runs


def print_sweep(runs: list[dict], limit_ms: float = 100.0) -> None:
    print(f"\nBooking POSTs a second against p99, {runs[0]['clients']} racing clients:")
    for data in runs:
        print(
            f"  pauses of {data['pause_ms']:>4} ms on average: {posts_per_second(data):6.1f} "
            f"POST/s, p50 {data['p50']:6.1f} ms, p99 {data['p99']:6.1f} ms, "
            f"lost {data['lost']}, doubled {data['doubled']}"
        )
    within = [d for d in runs if d["p99"] < limit_ms]
    if within:
        best = max(within, key=posts_per_second)
        print(f"  p99 under {limit_ms:.0f} ms up to {posts_per_second(best):.0f} POST/s")


def posts_per_second(data: dict) -> float:
    return (data["booked"] + data["refused"] + data["errors"]) / data["seconds"]


def print_report(args, bare, nginx_static, results, races) -> None:
    print(
        f"\n{args.connections} connections, {args.seconds} s each, "
        f"gunicorn -w {args.workers} -k sync\n"
    )
    print("| target" + " " * 39 + "|     req/s | p50 ms  | p99 ms  | ratio    |")
    print(
        "|----------------------------------------------|-----------|---------|---------|----------|"
    )
    print(row("ceiling: bare Flask, article HTML constant", bare))
    print(row("ceiling: nginx static file", nginx_static))
    for name, result in results.items():
        ceiling = nginx_static if "nginx" in name else bare if "page" in name else None
        print(row(name, result, ceiling))
    print()
    for label, data in races.items():
        print(
            f"{label}: {data['clients']} clients, {posts_per_second(data):.0f} POST/s, "
            f"{data['booked']} booked "
            f"({data['booked'] / data['seconds']:.1f}/s), {data['refused']} refused as taken, "
            f"POST p50 {data['p50']:.1f} ms, p99 {data['p99']:.1f} ms, "
            f"{data['errors']} errors; lost bookings {data['lost']}, "
            f"doubled slots {data['doubled']}"
        )
    article = results["article page"]
    cache = results["article through production nginx cache"]
    print("\nTargets:")
    print(f"  article >= 90% of bare Flask: {article['rps'] / bare['rps']:.0%}")
    print(f"  article p99 < 25 ms at {args.connections} connections: {article['p99']:.2f} ms")
    print(f"  nginx cache >= 80% of static nginx: {cache['rps'] / nginx_static['rps']:.0%}")
    for label, data in list(races.items())[:2]:
        print(f"  booking POST p99 < 100 ms, {label}: {data['p99']:.1f} ms")


if __name__ == "__main__":
    sys.exit(main())
