"""What watching costs a request: the same pages through the app with and without the request
observer (request id, metrics, one JSON log line), alternated in one run, as ratios.

    python -m tests.bench.observer_overhead
"""

import gc
import io
import logging
import sys
import tempfile
import time
from contextlib import redirect_stderr

from flask_migrate import upgrade
from werkzeug.test import EnvironBuilder

from clinic import create_app
from clinic.content.seed import seed_demo
from clinic.extensions import db
from tests.conftest import app_config

ROUNDS, PER_ROUND = 5, 400
PATHS = ("/clinics/london", "/healthz")  # a page from the page cache; one that runs Flask


def _call(wsgi_app, path: str) -> None:
    environ = EnvironBuilder(path=path).get_environ()
    body = wsgi_app(environ, lambda status, headers, exc_info=None: None)
    b"".join(body)
    if hasattr(body, "close"):
        body.close()


def _per_request(wsgi_app, path: str) -> float:
    started = time.perf_counter()
    for _ in range(PER_ROUND):
        _call(wsgi_app, path)
    return (time.perf_counter() - started) / PER_ROUND


def main() -> None:
    directory = tempfile.mkdtemp()
    app = create_app(app_config(f"sqlite:///{directory}/bench.db", CLINIC_CACHE_CHECK_SECONDS=1))
    with app.app_context(), redirect_stderr(io.StringIO()):
        upgrade()
        seed_demo()
        db.session.commit()
    logging.getLogger().handlers.clear()  # alembic's console handler: not there in production
    gc.freeze()  # as gunicorn_conf.post_worker_init does in each worker
    watched = app.wsgi_app  # the observer, wrapping the page cache and Flask
    bare = watched.wsgi_app
    for path in PATHS:
        timings = {"watched": [], "bare": []}
        with redirect_stderr(io.StringIO()):  # the JSON lines, written as in production
            _call(watched, path)
            for _ in range(ROUNDS):
                timings["watched"].append(_per_request(watched, path))
                timings["bare"].append(_per_request(bare, path))
        best = {name: min(values) * 1e6 for name, values in timings.items()}
        print(
            f"{path}: {best['bare']:.0f} us bare, {best['watched']:.0f} us watched, "
            f"+{best['watched'] - best['bare']:.0f} us ({best['watched'] / best['bare']:.2f}x)",
            file=sys.stdout,
        )


if __name__ == "__main__":
    main()
