"""Create or drop a scratch PostgreSQL database: `python -m tests.pgdb create|drop URL NAME`."""

import re
import sys

import sqlalchemy as sa


def main(action: str, admin_url: str, name: str) -> None:
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise SystemExit(f"unsafe database name: {name}")
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if action == "create":
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        else:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:4])
