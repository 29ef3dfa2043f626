"""The framework ceiling: a bare Flask route returning the article's HTML as a constant."""

import os

from flask import Flask

HTML = open(os.environ["BENCH_HTML_FILE"], encoding="utf-8").read()  # noqa: SIM115
app = Flask(__name__)


@app.get("/article")
def article():
    """Return the same bytes the real article page returns, with no work at all."""
    return HTML
