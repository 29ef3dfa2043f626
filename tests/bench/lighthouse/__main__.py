"""Lighthouse on the public pages and the booking form, the way a phone on a slow mobile network
sees them (Lighthouse's default throttling) through the README's nginx config. Prints each
page's four scores and its timings. Run with `python -m tests.bench.lighthouse [--desktop]`
(needs nginx, npm and Debian's chromium; installs the pinned Lighthouse here on first use)."""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.bench.run import (
    ARTICLE,
    free_port,
    nginx_config,
    readme_nginx,
    serve,
    start_nginx,
    stop,
    wait_for,
)

HERE = Path(__file__).resolve().parent
PAGES = ("/", ARTICLE, "/articles/", "/clinics/london", "/book?clinic=london", "/about")
CHROME_FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --disable-sync --no-first-run"
)
TIMINGS = {
    "FCP": "first-contentful-paint",
    "LCP": "largest-contentful-paint",
    "TBT": "total-blocking-time",
    "CLS": "cumulative-layout-shift",
    "bytes": "total-byte-weight",
}


def lighthouse_bin() -> Path:
    binary = HERE / "node_modules" / ".bin" / "lighthouse"
    if not binary.exists():
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE, check=True
        )
    return binary


def audit(binary: Path, url: str, out: Path, desktop: bool) -> dict:
    command = [
        str(binary),
        url,
        "--output=json",
        f"--output-path={out}",
        "--quiet",
        f"--chrome-flags={CHROME_FLAGS}",
    ]
    if desktop:
        command.append("--preset=desktop")
    env = {**os.environ, "CHROME_PATH": shutil.which("chromium") or "/usr/bin/chromium"}
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"lighthouse failed on {url}:\n{done.stderr[-2000:]}")
    return json.loads(out.read_text())


def summary(report: dict) -> dict:
    scores = {
        name: round(category["score"] * 100) for name, category in report["categories"].items()
    }
    audits = report["audits"]
    timings = {label: audits[key]["displayValue"] for label, key in TIMINGS.items()}
    below = [
        f"{audit['id']} ({audit.get('displayValue') or audit['score']})"
        for audit in audits.values()
        if audit.get("score") is not None
        and audit["score"] < 0.9
        and audit.get("scoreDisplayMode") in ("binary", "numeric", "metricSavings")
    ]
    return {**scores, **timings, "below": below}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--desktop", action="store_true", help="desktop preset, not a phone")
    args = parser.parse_args()
    for tool in ("nginx", "npm", "chromium"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing")
    binary = lighthouse_bin()
    tmp = Path(tempfile.mkdtemp(prefix="clinic-lighthouse-"))
    tmp.chmod(0o755)  # nginx's workers drop root and must reach their cache
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp}/lighthouse.db", "SECRET_KEY": "bench"}
    env.pop("REDIS_URL", None)
    app_port, proxy_port = free_port(), free_port()
    processes = []
    results = {}
    try:
        processes.append(serve(app_port, env, 2))
        wait_for(f"http://127.0.0.1:{app_port}/healthz")
        conf = nginx_config(tmp / "nginx", readme_nginx(tmp / "nginx", proxy_port, app_port))
        processes.append(start_nginx(conf))
        wait_for(f"http://127.0.0.1:{proxy_port}/")
        for page in PAGES:
            report = audit(
                binary, f"http://127.0.0.1:{proxy_port}{page}", tmp / "lh.json", args.desktop
            )
            results[page] = summary(report)
    finally:
        for process in reversed(processes):
            stop(process)
        shutil.rmtree(tmp, ignore_errors=True)
    print_table(results, "desktop" if args.desktop else "phone, slow 4G (Lighthouse default)")
    return 0


def print_table(results: dict, profile: str) -> None:
    print(f"\nLighthouse {profile}, through the README nginx config\n")
    print(
        "| page | performance | accessibility | best practices | SEO | FCP | LCP | TBT "
        "| CLS | bytes |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for page, r in results.items():
        print(
            f"| {page} | {r['performance']} | {r['accessibility']} | {r['best-practices']} "
            f"| {r['seo']} | {r['FCP']} | {r['LCP']} | {r['TBT']} | {r['CLS']} "
            f"| {r['bytes'].replace('Total size was ', '')} |"
        )
    for page, r in results.items():
        if r["below"]:
            print(f"  {page}: below 90: {', '.join(r['below'])}")


if __name__ == "__main__":
    sys.exit(main())
