"""Site search at 3,000 articles: `python -m tests.bench.search [--articles N] [--postgres URL]`.

Builds a database (a SQLite file, or a scratch PostgreSQL database with --postgres ADMIN_URL)
with the demo content and N made-up articles of about 600 words each, written through the ORM
so the index is filled as an editor's saves fill it, then times /search in-process with
Flask's test client (no server, no network): a common word, a rare one, two words, a query
that finds nothing, a deep page and a 200-character query. Prints p50/p95 in ms. Figures on
a shared 2-core machine are noisy: compare within one run.
"""

import argparse
import random
import statistics
import tempfile
import time
import uuid

import sqlalchemy as sa
from flask_migrate import upgrade

from clinic import create_app
from clinic.content.models import Article
from clinic.content.seed import seed_demo
from clinic.extensions import db
from tests import pgdb
from tests.conftest import app_config

WORDS = (
    "back pain knee hip shoulder neck joint muscle nerve spine disc tendon ligament injection "
    "exercise posture stretch rest heat ice physiotherapy doctor medicine dose sleep walking "
    "running lifting sitting morning evening swelling stiffness ache sharp dull weeks months"
).split()
QUERIES = {
    "common word": {"q": "pain"},
    "rare word": {"q": "prolotherapy"},
    "two words": {"q": "knee swelling"},
    "nothing found": {"q": "xylophone"},
    "page 20": {"q": "pain", "page": "20"},
    "200 characters": {"q": ("stiffness morning " * 12)[:200]},
}


def build(url: str, articles: int) -> float:
    app = create_app(app_config(url))
    rng = random.Random(1)
    started = time.perf_counter()
    with app.app_context():
        upgrade()
        seed_demo()
        for n in range(articles):
            body = "## Part\n\n" + " ".join(rng.choice(WORDS) for _ in range(600))
            db.session.add(
                Article(
                    slug=f"bench-{n}",
                    title=" ".join(rng.sample(WORDS, 5)).title(),
                    summary="",
                    body=body,
                    status="published",
                )
            )
            if n % 500 == 499:
                db.session.flush()
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # As autovacuum soon does on a live site: merges the GIN index's pending list,
            # without which the planner prefers reading every row (about 10 ms here).
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(sa.text("VACUUM ANALYZE search_document"))
        db.engine.dispose()
    return time.perf_counter() - started


def measure(url: str, repeat: int) -> None:
    app = create_app(app_config(url))
    client = app.test_client()
    print("| query | results | p50 ms | p95 ms |\n|---|---:|---:|---:|")
    for name, query in QUERIES.items():
        client.get("/search", query_string=query)  # warm-up
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get("/search", query_string=query)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (name, response.status_code)
        found = response.get_data(as_text=True).split('id="search-summary"')[-1][:60]
        total = found.split(">", 1)[-1].split(" ", 1)[0] if "result" in found else "0"
        p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
        print(f"| {name} | {total} | {statistics.median(times):.1f} | {p95:.1f} |")
    with app.app_context():
        print("index rows:", db.session.scalar(sa.text("SELECT count(*) FROM search_document")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--postgres", help="an admin URL: a scratch database is made and dropped")
    args = parser.parse_args()
    if args.postgres:
        name = f"bench_search_{uuid.uuid4().hex[:8]}"
        pgdb.main("create", args.postgres, name)
        url = sa.make_url(args.postgres).set(database=name).render_as_string(False)
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/search.db"
    try:
        seconds = build(url, args.articles)
        print(f"built {args.articles} articles in {seconds:.1f} s ({url.split(':')[0]})")
        measure(url, args.repeat)
    finally:
        if args.postgres:
            pgdb.main("drop", args.postgres, name)


if __name__ == "__main__":
    main()
