"""gunicorn settings the site is served with: `gunicorn -c python:clinic.gunicorn_conf wsgi:app`
(`flask --app clinic serve` uses them too).

Metrics: every worker counts into files under PROMETHEUS_MULTIPROC_DIR, and /metrics, whichever
worker answers it, adds them up. The directory is set in the master before any worker imports
the app (prometheus-client reads it then): an empty private one when the environment names
none; a named one is emptied at start, since counts left by an earlier run would be added in.
With `preload_app` the app is imported before `on_starting`: then set the variable yourself.
"""

import gc
import os
import shutil
import tempfile
from pathlib import Path

_made_metrics_dir: list[str] = []  # the directory on_starting made, removed at exit

# gunicorn's own messages as JSON lines too, like the app's. No access log: the app logs each
# request itself, by endpoint, while an access log would write paths and query strings.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "clinic.monitoring.logs.JSONFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"level": "INFO", "handlers": []},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
}


def on_starting(server) -> None:
    """Give the workers a metrics directory with no counts from an earlier run.

    In the master, before any worker is forked (and so before one imports prometheus-client);
    not at import time, which would switch the importing process (a test) to multiprocess mode.
    """
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        made = tempfile.mkdtemp(prefix="clinic-metrics-")
        _made_metrics_dir.append(made)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for leftover in directory.glob("*.db"):
        leftover.unlink()


def post_worker_init(worker) -> None:
    """Move everything the app built at start-up out of the garbage collector's sight.

    A full collection otherwise walks those 130,000 objects and stalls a request for about
    50 ms now and then; frozen, the collector only looks at what requests create."""
    gc.freeze()


def child_exit(server, worker) -> None:
    """Let prometheus-client drop the live gauges of a worker that exited (its counts stay)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    for directory in _made_metrics_dir:
        shutil.rmtree(directory, ignore_errors=True)
