"""Staff search of leads at volume: `python -m tests.bench.search_scale`.

Builds each database as tests/bench/admin_scale.py does (demo-load; `--keep DIR` reuses
SQLite files, `--postgres ADMIN_URL` makes scratch PostgreSQL databases) and times each search
two ways: the queries alone (the page of 25, the total and the counts per status, as the
leads list runs them) and the whole `/admin/leads?q=...` page through Flask's test client.
Prints p50/p95 in ms, the CPU time of the queries, how many leads each search finds, and the
load average (on a shared machine the wall times grow with it).

    python -m tests.bench.search_scale --sizes 100000 --keep /tmp/bench
    python -m tests.bench.search_scale --sizes 100000 --postgres \\
        postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

import argparse
import os
import time
from pathlib import Path

from clinic.extensions import db
from clinic.leads_admin import queries
from tests.bench.admin_scale import (
    Timing,
    _middle_lead,
    build,
    scratch_databases,
    search_pages,
    search_searches,
    signed_in_client,
    time_page,
)


def time_queries(q: str, repeat: int) -> tuple[Timing, Timing, int]:
    """Run the list's three search queries once to warm up, then `repeat` times; return the
    wall times, this process's CPU times (on SQLite the whole cost, whatever else the machine
    runs; on PostgreSQL only the client's part) and how many leads match."""
    lead_filter = queries.LeadFilter(q=queries._text({"q": q}, "q"))
    wall, cpu, found = Timing(), Timing(), 0
    for attempt in range(repeat + 1):
        started, started_cpu = time.perf_counter(), time.process_time()
        found = queries.page_of_leads(lead_filter).total
        queries.status_counts(lead_filter)
        elapsed, elapsed_cpu = time.perf_counter() - started, time.process_time() - started_cpu
        db.session.rollback()
        if attempt:
            wall.seconds.append(elapsed)
            cpu.seconds.append(elapsed_cpu)
    return wall, cpu, found


def measure(app, repeat: int) -> list[tuple]:
    with app.app_context():
        lead = _middle_lead()
        searches, urls = search_searches(lead), search_pages(lead)
        alone = [time_queries(q, repeat) for _label, q in searches]
    client = signed_in_client(app)
    pages = [time_page(client, url, repeat) for _label, url in urls]
    return [
        (label, q, found, wall, cpu, page)
        for (label, q), (wall, cpu, found), page in zip(searches, alone, pages, strict=True)
    ]


def print_table(size: int, database: str, rows) -> None:
    load = " / ".join(f"{n:.1f}" for n in os.getloadavg())
    print(f"\nSearch at {size:,} leads, {database}, ms; load average {load}\n")
    print("| search | q | found | queries p50 | queries p95 | CPU p50 | page p50 | page p95 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for label, q, found, wall, cpu, page in rows:
        print(
            f"| {label} | `{q}` | {found:,} | {wall.p50:.1f} | {wall.p95:.1f} | {cpu.p50:.1f} | "
            f"{page.p50:.1f} | {page.p95:.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs of each search")
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="PostgreSQL URL to create in")
    parser.add_argument("--keep", type=Path, help="SQLite: keep (and reuse) the files here")
    args = parser.parse_args()
    url_for, cleanup = scratch_databases(args.postgres, args.keep)
    database = "PostgreSQL" if args.postgres else "SQLite"
    try:
        for size in map(int, args.sizes.split(",")):
            app, took = build(url_for(size), size)
            print(f"{size:,} leads: built in {took:.1f} s", flush=True)
            print_table(size, database, measure(app, args.repeat))
            with app.app_context():
                db.engine.dispose()
    finally:
        cleanup()


if __name__ == "__main__":
    main()
