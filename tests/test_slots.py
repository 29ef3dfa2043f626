"""Tests for clinic.booking.slots: slot grid, notice, horizon, closures, bookings and DST."""

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from clinic.booking.slots import (
    UK,
    Closure,
    Hours,
    Rules,
    bookable_days,
    day_slots,
    is_bookable,
)
from clinic.uktime import to_local

MON_SAT = tuple(Hours(weekday, time(9), time(18)) for weekday in range(6))
MONDAY = date(2026, 6, 1)  # BST, no clock change nearby
MINUS_5 = timezone(timedelta(hours=-5))
PLUS_930 = timezone(timedelta(hours=9, minutes=30))


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """Return an aware Europe/London datetime on the given day."""
    return datetime.combine(day, time(hour, minute), tzinfo=UK)


def week_before(day: date) -> datetime:
    """Return a 'now' safely before the day and well within the 28-day horizon."""
    return datetime.combine(day - timedelta(days=7), time(0), tzinfo=UTC)


def slots(
    day: date,
    hours: tuple[Hours, ...] | list[Hours] = MON_SAT,
    closures: tuple[Closure, ...] | list[Closure] = (),
    taken: tuple[datetime, ...] | list[datetime] = (),
    now: datetime | None = None,
    rules: Rules | None = None,
) -> list[datetime]:
    """Call day_slots with test defaults."""
    return day_slots(day, hours, closures, taken, now or week_before(day), rules or Rules())


def local_hm(starts: list[datetime]) -> list[tuple[int, int]]:
    """Return (hour, minute) of each start in UK local time."""
    return [(to_local(s).hour, to_local(s).minute) for s in starts]


def test_normal_monday_has_36_utc_slots_from_0900_to_1745_local() -> None:
    result = slots(MONDAY)
    assert len(result) == 36
    assert to_local(result[0]) == local(MONDAY, 9)
    assert to_local(result[-1]) == local(MONDAY, 17, 45)
    assert all(s.tzinfo is UTC for s in result)
    assert result == sorted(result)
    assert all(b - a == timedelta(minutes=15) for a, b in zip(result, result[1:], strict=False))


def test_slot_must_end_by_closing_time() -> None:
    hours = [Hours(0, time(9), time(10, 10))]
    assert local_hm(slots(MONDAY, hours=hours)) == [(9, 0), (9, 15), (9, 30), (9, 45)]


def test_longer_slots_follow_rules() -> None:
    result = slots(MONDAY, rules=Rules(slot_minutes=30))
    assert len(result) == 18
    assert local_hm(result)[-1] == (17, 30)


def test_zero_minute_slots_are_rejected() -> None:
    with pytest.raises(ValueError):
        Rules(slot_minutes=0)


def test_lunch_break_uses_several_periods_per_weekday() -> None:
    hours = [Hours(0, time(13, 30), time(18)), Hours(0, time(9), time(12, 30))]
    result = local_hm(slots(MONDAY, hours=hours))
    assert len(result) == 14 + 18
    assert (12, 15) in result and (13, 30) in result
    assert not {(12, 30), (12, 45), (13, 0), (13, 15)} & set(result)
    assert result == sorted(result)


def test_overlapping_periods_do_not_duplicate_slots() -> None:
    hours = [Hours(0, time(9), time(12)), Hours(0, time(11), time(13))]
    result = slots(MONDAY, hours=hours)
    assert len(result) == len(set(result)) == 16


def test_sunday_has_no_slots() -> None:
    assert slots(date(2026, 6, 7)) == []


@pytest.mark.parametrize(
    ("closure", "closed_days", "day_after"),
    [
        (Closure(date(2026, 5, 4), date(2026, 5, 4)), [date(2026, 5, 4)], date(2026, 5, 5)),
        (
            Closure(date(2026, 6, 8), date(2026, 6, 10)),
            [date(2026, 6, 8), date(2026, 6, 9), date(2026, 6, 10)],
            date(2026, 6, 11),
        ),
    ],
    ids=["bank-holiday", "multi-day"],
)
def test_closures_block_whole_days(
    closure: Closure, closed_days: list[date], day_after: date
) -> None:
    for day in closed_days:
        assert slots(day, closures=[closure]) == []
    assert len(slots(day_after, closures=[closure])) == 36
    saturday_before = closure.starts_on - timedelta(days=2)
    assert saturday_before.weekday() == 5
    assert len(slots(saturday_before, closures=[closure])) == 36


@pytest.mark.parametrize(
    ("now", "first", "count"),
    [
        (local(MONDAY, 10, 5), (12, 15), 23),
        (local(MONDAY, 10, 0), (12, 0), 24),  # exactly now + min_notice is allowed
        (local(MONDAY, 15, 46), None, 0),
    ],
)
def test_min_notice(now: datetime, first: tuple[int, int] | None, count: int) -> None:
    result = slots(MONDAY, now=now)
    assert len(result) == count
    assert (local_hm(result)[0] if result else None) == first
    assert all(s >= now + timedelta(hours=2) for s in result)


@pytest.mark.parametrize(("days_ahead", "count"), [(27, 36), (28, 0), (35, 0)])
def test_horizon(days_ahead: int, count: int) -> None:
    today = date(2026, 6, 2)  # Tuesday, so +27 is a Monday
    result = slots(today + timedelta(days=days_ahead), now=local(today, 8))
    assert len(result) == count


def test_horizon_is_exclusive_at_the_instant() -> None:
    today = date(2026, 6, 2)
    result = slots(today + timedelta(days=28), now=local(today, 10))
    assert local_hm(result) == [(9, 0), (9, 15), (9, 30), (9, 45)]


@pytest.mark.parametrize(
    "booked",
    [
        datetime(2026, 6, 1, 13, 0, tzinfo=UTC),
        datetime(2026, 6, 1, 14, 0, tzinfo=UK),
        datetime(2026, 6, 1, 8, 0, tzinfo=MINUS_5),
        datetime(2026, 6, 1, 22, 30, tzinfo=PLUS_930),
    ],
    ids=["utc", "uk", "minus5", "plus0930"],
)
def test_taken_slots_are_removed_whatever_the_timezone(booked: datetime) -> None:
    other = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # 09:00 local
    result = slots(MONDAY, taken=[booked, other])
    assert len(result) == 34
    assert (14, 0) not in local_hm(result)
    assert (9, 0) not in local_hm(result)
    assert (14, 15) in local_hm(result)


def test_taken_outside_the_grid_changes_nothing() -> None:
    assert len(slots(MONDAY, taken=[datetime(2026, 6, 1, 8, 5, tzinfo=UTC)])) == 36


@pytest.mark.parametrize(
    ("day", "utc_hour"),
    [
        (date(2026, 3, 28), 9),  # Saturday, GMT
        (date(2026, 3, 30), 8),  # Monday, BST
        (date(2026, 10, 24), 8),  # Saturday, BST
        (date(2026, 10, 26), 9),  # Monday, GMT
    ],
)
def test_clock_changes_shift_utc_times(day: date, utc_hour: int) -> None:
    result = slots(day)
    assert len(result) == 36
    assert result[0] == datetime.combine(day, time(utc_hour), tzinfo=UTC)
    assert result[-1] == result[0] + timedelta(hours=8, minutes=45)
    assert to_local(result[0]) == local(day, 9)


def test_spring_forward_gap_skips_nonexistent_slots() -> None:
    day = date(2026, 3, 29)  # 01:00 GMT -> 02:00 BST
    result = slots(day, hours=[Hours(6, time(0, 30), time(3))])
    expected = [
        datetime(2026, 3, 29, 0, 30, tzinfo=UTC) + timedelta(minutes=15 * n) for n in range(6)
    ]
    assert result == expected
    assert len(set(result)) == len(result)
    assert local_hm(result) == [(0, 30), (0, 45), (2, 0), (2, 15), (2, 30), (2, 45)]


def test_autumn_fold_uses_first_occurrence_without_duplicates() -> None:
    day = date(2026, 10, 25)  # 02:00 BST -> 01:00 GMT
    result = slots(day, hours=[Hours(6, time(0, 30), time(2, 30))])
    start = datetime(2026, 10, 24, 23, 30, tzinfo=UTC)
    first_six = [start + timedelta(minutes=15 * n) for n in range(6)]
    expected = [
        *first_six,
        datetime(2026, 10, 25, 2, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 2, 15, tzinfo=UTC),
    ]
    assert result == expected
    assert len(set(result)) == len(result)


NOW = local(MONDAY, 10)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (local(MONDAY, 14), True),
        (datetime(2026, 6, 1, 13, 0, tzinfo=UTC), True),
        (datetime(2026, 6, 1, 9, 0, tzinfo=MINUS_5), True),  # 15:00 local
        (local(MONDAY, 17, 45), True),
        (local(MONDAY, 16), False),  # taken
        (local(MONDAY, 9, 5), False),  # off the grid
        (local(MONDAY, 14, 0).replace(second=30), False),  # off the grid
        (local(MONDAY, 18), False),  # closing time
        (local(MONDAY, 18, 15), False),  # after closing
        (local(MONDAY, 11, 45), False),  # inside min notice
        (local(date(2026, 6, 7), 10), False),  # Sunday
        (local(MONDAY + timedelta(days=28), 10), False),  # beyond horizon
        (local(MONDAY + timedelta(days=1), 10), False),  # closed
    ],
)
def test_is_bookable(start: datetime, expected: bool) -> None:
    taken = [datetime(2026, 6, 1, 15, 0, tzinfo=UTC)]  # 16:00 local
    closures = [Closure(MONDAY + timedelta(days=1), MONDAY + timedelta(days=1))]
    assert is_bookable(start, MON_SAT, closures, taken, NOW) is expected


def test_is_bookable_agrees_with_day_slots() -> None:
    taken = [local(MONDAY, 13)]
    for start in slots(MONDAY, taken=taken, now=NOW):
        assert is_bookable(start, MON_SAT, (), taken, NOW)


@pytest.mark.parametrize("naive", ["start", "now", "taken"])
def test_is_bookable_rejects_naive_datetimes(naive: str) -> None:
    def pick(name: str, value: datetime) -> datetime:
        return value.replace(tzinfo=None) if name == naive else value

    start, now = pick("start", local(MONDAY, 14)), pick("now", NOW)
    taken = [pick("taken", local(MONDAY, 15))]
    with pytest.raises(ValueError):
        is_bookable(start, MON_SAT, (), taken, now)


@pytest.mark.parametrize("field", ["now", "taken"])
def test_day_slots_rejects_naive_datetimes(field: str) -> None:
    naive = datetime(2026, 6, 1, 10)
    with pytest.raises(ValueError):
        if field == "now":
            day_slots(MONDAY, MON_SAT, (), (), naive)
        else:
            day_slots(MONDAY, MON_SAT, (), [naive], NOW)


def test_naive_now_rejected_even_on_closed_day() -> None:
    with pytest.raises(ValueError):
        day_slots(date(2026, 6, 7), MON_SAT, (), (), datetime(2026, 6, 1))


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (datetime(2026, 6, 1, 8, 0, tzinfo=UTC), local(MONDAY, 9)),
        (datetime(2026, 1, 5, 9, 0, tzinfo=UTC), local(date(2026, 1, 5), 9)),
    ],
)
def test_to_local(start: datetime, expected: datetime) -> None:
    result = to_local(start)
    assert result == expected
    assert result.tzinfo is UK
    assert (result.hour, result.minute) == (expected.hour, expected.minute)


def test_to_local_rejects_naive() -> None:
    with pytest.raises(ValueError):
        to_local(datetime(2026, 6, 1, 8))


def test_bookable_days_for_28_day_horizon() -> None:
    now = local(date(2026, 3, 1), 12)  # Sunday; horizon ends Sunday 29 March
    result = bookable_days(MON_SAT, (), now)
    assert len(result) == 24  # four weeks of Mon-Sat
    assert result[0] == date(2026, 3, 2)
    assert result[-1] == date(2026, 3, 28)
    assert all(day.weekday() != 6 for day in result)
    assert result == sorted(result)


def test_bookable_days_excludes_closures() -> None:
    now = local(date(2026, 3, 1), 12)
    closure = Closure(date(2026, 3, 10), date(2026, 3, 12))
    result = bookable_days(MON_SAT, [closure], now)
    assert len(result) == 21
    assert not {date(2026, 3, 10), date(2026, 3, 11), date(2026, 3, 12)} & set(result)
    assert date(2026, 3, 9) in result and date(2026, 3, 13) in result


@pytest.mark.parametrize(
    ("now", "first", "last", "count"),
    [
        (local(MONDAY, 10), MONDAY, date(2026, 6, 29), 25),  # today and the partial last day
        (local(MONDAY, 16), date(2026, 6, 2), date(2026, 6, 29), 24),  # today past notice
        (local(MONDAY, 8), MONDAY, date(2026, 6, 27), 24),  # day 28 opens after horizon
    ],
)
def test_bookable_days_edges(now: datetime, first: date, last: date, count: int) -> None:
    result = bookable_days(MON_SAT, (), now)
    assert (result[0], result[-1], len(result)) == (first, last, count)
    assert all(slots(day, now=now) for day in result)


def test_bookable_days_ignores_bookings() -> None:
    taken = [local(MONDAY + timedelta(days=1), 9, 0) + timedelta(minutes=15 * n) for n in range(36)]
    assert slots(MONDAY + timedelta(days=1), taken=taken, now=NOW) == []
    assert MONDAY + timedelta(days=1) in bookable_days(MON_SAT, (), NOW)


def test_bookable_days_rejects_naive_now() -> None:
    with pytest.raises(ValueError):
        bookable_days(MON_SAT, (), datetime(2026, 6, 1, 10))
