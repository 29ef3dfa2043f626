"""Every admin page at 1k, 10k and 100k leads: `python -m tests.bench.admin_scale`.

Builds each database with demo-load (a SQLite file in a temporary folder, or a scratch
PostgreSQL database with --postgres ADMIN_URL), signs in as an admin with Flask's test client
(in-process: no server, no network) and times each page, then the CSV export (time to the
first byte, total, rows). Prints p50/p95 per page and size, and the growth from the smallest
size to the largest. Figures on a shared 2-core machine are noisy: compare within one run.

    python -m tests.bench.admin_scale                       # SQLite, 1k 10k 100k
    python -m tests.bench.admin_scale --sizes 1000,10000 --postgres \\
        postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    python -m tests.bench.admin_scale --keep /tmp/bench    # reuse the SQLite files next time
"""

import argparse
import csv
import gc
import io
import math
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import phonenumbers
import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy import event

from clinic import create_app
from clinic.accounts.models import User
from clinic.audit.models import AuditEntry
from clinic.content.models import Article
from clinic.content.seed import seed_demo
from clinic.dbtypes import utcnow
from clinic.demo import services as demo
from clinic.demo import volume
from clinic.extensions import db
from clinic.leads.models import Lead
from clinic.notifications.models import OutboxMessage
from clinic.uktime import UK
from tests import pgdb
from tests.auth_helpers import login, make_user
from tests.conftest import app_config

ADMIN = "bench-admin@example.test"
DEEP_PAGE = 500


def admin_pages(app) -> list[tuple[str, str]]:
    """Return (label, URL) for every admin page to time, with values taken from the data."""
    with app.app_context():
        lead = _middle_lead()
        article = db.session.scalar(sa.select(Article.slug).order_by(Article.slug))
        leads = db.session.scalar(sa.select(sa.func.count()).select_from(Lead))
        audit_100 = _row_before_page(
            sa.select(AuditEntry.id).order_by(AuditEntry.id.desc()), 100, 50
        )
        emails = sa.select(OutboxMessage.id).order_by(
            OutboxMessage.created_at.desc(), OutboxMessage.id.desc()
        )
        emails_100 = _row_before_page(emails, 100, 25)
        newest = sa.select(Lead.id).order_by(Lead.created_at.desc(), Lead.id.desc())
        leads_deep = _row_before_page(newest, DEEP_PAGE, 25)
        by_name = sa.select(Lead.id).where(Lead.name_key.is_not(None))
        by_name_deep = _row_before_page(by_name.order_by(Lead.name_key, Lead.id), DEEP_PAGE, 25)
    today = utcnow().astimezone(UK).date()
    last = max(1, math.ceil(leads / 25))
    return [
        ("dashboard", "/admin/"),
        ("leads", "/admin/leads"),
        ("leads status=new", "/admin/leads?status=new"),
        ("leads status=lost", "/admin/leads?status=lost"),
        ("leads clinic=london", "/admin/leads?clinic=london"),
        ("leads created last year", f"/admin/leads?from={today - timedelta(days=365)}&to={today}"),
        ("leads article", f"/admin/leads?article={article}"),
        ("leads utm_source=google", "/admin/leads?utm_source=google"),
        ("leads sort=oldest", "/admin/leads?sort=oldest"),
        ("leads sort=name", "/admin/leads?sort=name"),
        ("leads sort=status", "/admin/leads?sort=status"),
        ("leads sort=next_call", "/admin/leads?sort=next_call"),
        ("leads clinic+status+sort=name", "/admin/leads?clinic=london&status=contacted&sort=name"),
        (f"leads page={DEEP_PAGE}", f"/admin/leads?page={DEEP_PAGE}"),
        ("leads last page", f"/admin/leads?page={last}"),
        (f"leads page={DEEP_PAGE} by Next", f"/admin/leads?page={DEEP_PAGE}&after={leads_deep}"),
        (
            f"leads sort=name page={DEEP_PAGE} by Next",
            f"/admin/leads?sort=name&page={DEEP_PAGE}&after={by_name_deep}",
        ),
        *search_pages(lead),
        ("lead page", f"/admin/leads/{lead.id}"),
        ("calls agenda", "/admin/bookings"),
        ("audit log", "/admin/audit"),
        ("audit page 100", f"/admin/audit?older={audit_100}"),
        ("audit last page", "/admin/audit?oldest=1"),
        ("audit action=lead_viewed", "/admin/audit?action=lead_viewed"),
        ("e-mail log", "/admin/emails"),
        ("e-mail log page 100", f"/admin/emails?older={emails_100}"),
        ("e-mail log last page", "/admin/emails?oldest=1"),
        ("e-mail log status=failed", "/admin/emails?status=failed"),
        ("content list", "/admin/content/"),
    ]


def search_searches(lead: Lead) -> list[tuple[str, str]]:
    """Return (label, q) for staff searches, with values taken from one lead's details."""
    local = lead.email.split("@")[0].rsplit(".", 1)[0]
    national = phonenumbers.format_number(
        phonenumbers.parse(lead.phone), phonenumbers.PhoneNumberFormat.NATIONAL
    )
    return [
        ("search q=smith", "smith"),
        ("search surname prefix", lead.name.split()[-1][:4]),
        ("search full name", lead.name),
        ("search e-mail fragment", local[2:9]),
        ("search phone fragment", lead.phone[-6:]),
        ("search phone, UK format", national),
        ("search e-mail domain (most leads)", volume.DOMAIN.split(".")[0]),
        ("search, two letters", "jo"),
        ("search, no match", "zzqx"),
    ]


def search_pages(lead: Lead) -> list[tuple[str, str]]:
    return [(label, "/admin/leads?" + urlencode({"q": q})) for label, q in search_searches(lead)]


def _row_before_page(ids: sa.Select, page: int, per_page: int) -> int:
    """Return the id that the "Older" link of page `page - 1` names (keyset pages), or the
    oldest row's when the log is shorter."""
    found = db.session.scalar(ids.offset((page - 1) * per_page - 1).limit(1))
    return found or db.session.scalar(sa.select(sa.func.min(ids.selected_columns[0])))


def _middle_lead() -> Lead:
    """Return a lead in the middle of the list that still has its details (not erased)."""
    middle = db.session.scalar(sa.select(sa.func.max(Lead.id))) // 2
    query = sa.select(Lead).where(Lead.id >= middle, Lead.erased_at.is_(None)).order_by(Lead.id)
    return db.session.scalars(query.limit(1)).one()


def signed_in_client(app):
    """Create the benchmark's admin account if missing; return a client signed in as it."""
    with app.app_context():
        if db.session.scalar(sa.select(User.id).where(User.email == ADMIN)) is None:
            make_user(ADMIN, "admin")  # enrolled in two-factor, as every admin is
            db.session.commit()
    client = app.test_client()
    assert login(client, email=ADMIN).status_code == 303, "could not sign in"
    return client


@dataclass
class Timing:
    seconds: list[float] = field(default_factory=list)
    first: float = 0.0  # the warm-up fetch: what a cold cache costs
    sql: list[float] = field(default_factory=list)  # time inside the database, per fetch

    def quantile(self, share: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[max(0, math.ceil(share * len(ordered)) - 1)] * 1000

    @property
    def p50(self) -> float:
        return self.quantile(0.5)

    @property
    def p95(self) -> float:
        return self.quantile(0.95)


class QueryClock:
    """Add up the time spent in the database's cursor: the part of a page that queries cost,
    apart from Python and the template (which a busy machine slows the most)."""

    def __init__(self, engine) -> None:
        self.total = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, connection, *_args) -> None:
        connection.info["query_started"] = time.perf_counter()

    def _after(self, connection, *_args) -> None:
        self.total += time.perf_counter() - connection.info.pop("query_started")


def time_page(client, url: str, repeat: int, clock: QueryClock) -> Timing:
    """Fetch once to warm up, then `repeat` times; every answer must be 200."""
    timing = Timing()
    for attempt in range(repeat + 1):
        clock.total = 0.0
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        if attempt:
            timing.seconds.append(elapsed)
            timing.sql.append(clock.total)
        else:
            timing.first = elapsed
    return timing


def time_export(client, repeat: int) -> dict:
    """Download the CSV of every lead: time to the first chunk, total, and rows."""
    first, total, rows = Timing(), Timing(), 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get("/admin/leads.csv", buffered=False)
        chunks = iter(response.response)
        body = [next(chunks, b"")]
        first.seconds.append(time.perf_counter() - started)
        body += list(chunks)
        total.seconds.append(time.perf_counter() - started)
        response.close()
        text = b"".join(c if isinstance(c, bytes) else c.encode() for c in body).decode()
        rows = sum(1 for _ in csv.reader(io.StringIO(text))) - 1
    return {"first": first, "total": total, "rows": rows}


def build(url: str, leads: int) -> tuple[object, float]:
    """Migrate, seed and demo-load `leads` into the database at `url` unless already there.
    Counts and charts are kept for a minute, as in production (the tests turn that off)."""
    app = create_app(app_config(url, CLINIC_FIGURES_CACHE_SECONDS=60))
    with app.app_context():
        upgrade()
        have = db.session.scalar(sa.select(sa.func.count()).select_from(Lead))
        started = time.perf_counter()
        if have != leads:
            seed_demo()
            demo.load(leads - have, seed=leads)
            db.session.commit()
        demo.refresh_statistics()  # as demo-load does
        took = time.perf_counter() - started
    return app, took


def measure(app, repeat: int, export_repeat: int) -> dict:
    client = signed_in_client(app)
    gc.freeze()  # as each gunicorn worker does once the app is loaded (clinic/gunicorn_conf.py)
    with app.app_context():
        clock = QueryClock(db.engine)
    pages = {label: time_page(client, url, repeat, clock) for label, url in admin_pages(app)}
    return {"pages": pages, "export": time_export(client, export_repeat)}


def scratch_databases(admin_url: str | None, keep: Path | None):
    """Yield (size -> URL, cleanup) for SQLite files or scratch PostgreSQL databases; with
    `keep`, PostgreSQL databases are named after the folder and kept (and reused) too."""
    if admin_url:
        names = {}
        tag = re.sub(r"[^a-z0-9]+", "_", keep.name.lower()) if keep else str(os.getpid())

        def url_for(size: int) -> str:
            names[size] = f"clinic_bench_{size}_{tag}"
            engine = sa.create_engine(admin_url)
            with engine.connect() as connection:
                known = connection.scalar(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                    {"name": names[size]},
                )
            engine.dispose()
            if not known:
                pgdb.main("create", admin_url, names[size])
            return sa.make_url(admin_url).set(database=names[size]).render_as_string(False)

        def cleanup() -> None:
            for name in names.values() if not keep else ():
                pgdb.main("drop", admin_url, name)

        return url_for, cleanup
    folder = keep or Path(tempfile.mkdtemp(prefix="admin-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    return (lambda size: f"sqlite:///{folder / f'leads-{size}.db'}"), (lambda: None)


def print_table(results: dict[int, dict], database: str) -> None:
    sizes = sorted(results)
    small, large = sizes[0], sizes[-1]
    names = [f"{s // 1000}k" if s >= 1000 else str(s) for s in sizes]
    head = " | ".join(f"{n} p50 | {n} p95" for n in names)
    print(f"\nAdmin pages, {database}, ms (Flask test client in-process; noisy shared machine)\n")
    last = names[-1]
    print(f"| page | {head} | growth p50 {names[0]}→{last} | {last} first fetch | {last} SQL p50 |")
    print("|---|" + "---:|" * (2 * len(sizes) + 3))
    for label in results[small]["pages"]:
        cells = []
        for size in sizes:
            timing = results[size]["pages"][label]
            cells += [f"{timing.p50:.1f}", f"{timing.p95:.1f}"]
        growth = results[large]["pages"][label].p50 / results[small]["pages"][label].p50
        big = results[large]["pages"][label]
        sql = sorted(big.sql)[max(0, math.ceil(0.5 * len(big.sql)) - 1)] * 1000
        tail = f"{growth:.1f}x | {big.first * 1000:.1f} | {sql:.1f}"
        print(f"| {label} | {' | '.join(cells)} | {tail} |")
    print("\nCSV export of every lead (/admin/leads.csv)\n")
    print("| leads | rows | first byte p50 ms | total p50 ms | total max ms |")
    print("|---:|---:|---:|---:|---:|")
    for size in sizes:
        export = results[size]["export"]
        print(
            f"| {size:,} | {export['rows']:,} | {export['first'].p50:.0f} | "
            f"{export['total'].p50:.0f} | {export['total'].quantile(1.0):.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=5, help="timed fetches of each page")
    parser.add_argument("--export-repeat", type=int, default=2)
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="PostgreSQL URL to create in")
    parser.add_argument(
        "--keep", type=Path, help="keep (and reuse) the SQLite files here, or the PostgreSQL DBs"
    )
    args = parser.parse_args()
    url_for, cleanup = scratch_databases(args.postgres, args.keep)
    results = {}
    try:
        for size in map(int, args.sizes.split(",")):
            app, took = build(url_for(size), size)
            print(f"{size:,} leads: built in {took:.1f} s; timing pages...", flush=True)
            results[size] = measure(app, args.repeat, args.export_repeat)
            with app.app_context():
                db.engine.dispose()
    finally:
        cleanup()
    print_table(results, "PostgreSQL" if args.postgres else "SQLite")


if __name__ == "__main__":
    main()
