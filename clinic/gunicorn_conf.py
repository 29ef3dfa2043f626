"""gunicorn settings the site is served with: `gunicorn -c python:clinic.gunicorn_conf wsgi:app`
(`flask --app clinic serve` uses them too)."""

import gc


def post_worker_init(worker) -> None:
    """Move everything the app built at start-up out of the garbage collector's sight.

    A full collection otherwise walks those 130,000 objects and stalls a request for about
    50 ms now and then; frozen, the collector only looks at what requests create."""
    gc.freeze()
