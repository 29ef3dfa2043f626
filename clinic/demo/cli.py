"""`flask --app clinic demo-load`: fill a database with years of made-up clinic data."""

import time

import click
from flask.cli import with_appcontext

from clinic.demo import services
from clinic.extensions import db


@click.command("demo-load")
@click.option(
    "--leads",
    "count",
    type=click.IntRange(min=1),
    required=True,
    metavar="N",
    help="How many leads to make (with about 1.25 calls, 4 timeline lines, 8 audit "
    "entries and 1.25 e-mails each).",
)
@click.option("--seed", type=int, default=None, help="Make the same data again for this seed.")
@click.option("--force", is_flag=True, help="Add demo data even to a database with real leads.")
@with_appcontext
def demo_load_command(count: int, seed: int | None, force: bool):
    """Add N made-up leads spread over five years, for trying the admin at volume.

    Generated people have e-mail addresses at demo-load.invalid. A database that holds any
    other lead is refused unless --force: demo data mixed into real patients' is hard to
    take out again.
    """
    real = services.real_leads()
    if real and not force:
        raise click.ClickException(
            f"This database holds {real} lead(s) demo-load did not make: refusing to mix demo "
            "data with them. Use an empty database, or --force if you are sure."
        )
    started = time.perf_counter()
    made = services.load(count, seed=seed)
    db.session.commit()
    services.refresh_statistics()
    summary = ", ".join(f"{n:,} {name}" for name, n in made.items())
    click.echo(f"Made {summary} in {time.perf_counter() - started:.1f} s.")
