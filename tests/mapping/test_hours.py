"""Opening hours: parsing, validation with every bad day named, overnight ranges."""

from __future__ import annotations

import datetime as dt

import pytest

from mapping.hours import is_open, validate_hours

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    monday = dt.datetime(2026, 11, 30, tzinfo=SHANGHAI)  # a Monday
    return monday + dt.timedelta(days=day, hours=hour, minutes=minute)


def test_split_day_is_closed_at_lunch() -> None:
    hours = {"mon": "08:30-12:00,13:30-17:30"}
    assert is_open(hours, _at(0, 9))
    assert not is_open(hours, _at(0, 12, 30))
    assert is_open(hours, _at(0, 13, 30))
    assert not is_open(hours, _at(0, 17, 30))


def test_missing_day_is_closed() -> None:
    assert not is_open({"mon": "08:30-17:30"}, dt.datetime(2026, 12, 1, 10, tzinfo=SHANGHAI))


def test_round_the_clock_is_always_open() -> None:
    hours = {"mon": "00:00-24:00"}
    assert is_open(hours, _at(0, 0)) and is_open(hours, _at(0, 23, 59))


def test_overnight_range_runs_into_the_next_morning() -> None:
    hours = {"mon": "22:00-06:00"}
    assert is_open(hours, _at(0, 23))
    assert is_open(hours, dt.datetime(2026, 12, 1, 5, 59, tzinfo=SHANGHAI))
    assert not is_open(hours, dt.datetime(2026, 12, 1, 6, 0, tzinfo=SHANGHAI))


def test_utc_moment_is_read_in_shanghai() -> None:
    assert is_open({"mon": "08:30-17:30"}, dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC))


def test_every_bad_day_is_named() -> None:
    with pytest.raises(ValueError) as info:
        validate_hours({"mon": "8-5", "funday": "08:00-09:00", "tue": "25:00-26:00", "wed": "09:00-09:00"})
    named = [problem.split(":")[0] for problem in str(info.value).split("; ")]
    assert named == ["mon", "funday", "tue", "wed"]


WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@pytest.mark.parametrize("day", WEEK)
def test_a_days_hours_apply_on_that_weekday_only(day: str) -> None:
    from mapping.hours import WEEKDAYS

    assert list(WEEKDAYS) == WEEK
    hours = {day: "08:30-17:30"}
    open_on = [WEEK[offset] for offset in range(7) if is_open(hours, _at(offset, 10))]  # Monday 30 November 2026 on
    assert open_on == [day]
