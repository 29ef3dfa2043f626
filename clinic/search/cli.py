"""`flask --app clinic search reindex`: rebuild the search index from the content tables."""

import click
from flask.cli import with_appcontext

from clinic.extensions import db
from clinic.search import index


@click.group("search")
def search_group():
    """Site search."""


@search_group.command("reindex")
@with_appcontext
def reindex_command():
    """Rewrite the search index from the content (every save keeps it in step already)."""
    written = index.rebuild()
    db.session.commit()
    click.echo(f"Search index: {written} items.")
