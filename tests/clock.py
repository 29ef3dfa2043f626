"""The `clock` fixture: stand the app at a chosen moment (it reads the present from
`clinic.uktime.time_source`), from which time runs on at the machine's pace."""

from datetime import datetime

import pytest

from clinic import uktime


@pytest.fixture
def clock(monkeypatch):
    """Return `stand_at(moment)`: from then on the app's present starts at that aware time."""

    def stand_at(moment: datetime) -> None:
        offset = moment - uktime.system_clock()
        monkeypatch.setattr(uktime, "time_source", lambda: uktime.system_clock() + offset)

    return stand_at
