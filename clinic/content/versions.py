"""Edit versions: every write of an item moves its `version` on, so a save from an old one is
refused instead of silently replacing what someone else saved.

The check before writing catches a save from a page opened before another save; the UPDATE
itself (`WHERE version = <the one read>`, added by SQLAlchemy's version_id_col) catches two
saves racing past that check at the same moment: the second matches no row.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm.exc import StaleDataError


class EditConflict(Exception):
    """Someone else saved the item after the version this save started from."""


def claim(item, version: int) -> None:
    """Refuse (EditConflict) a save of a stored item from any version but its current one."""
    if item is not None and item.id is not None and item.version != version:
        raise EditConflict


@contextmanager
def refused_if_stale() -> Iterator[None]:
    """Turn a write that matched no row at the version read (a save that landed first) into an
    EditConflict; the caller rolls the transaction back."""
    try:
        yield
    except StaleDataError:
        raise EditConflict from None
