"""Working days in China: weekends and holidays off, the shifted working weekends on, configuration on top."""

from __future__ import annotations

import datetime as dt

import pytest

from core import workdays
from core.workdays import WorkCalendar

D = dt.date


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2026, 12, 7), True),  # a Monday
        (D(2026, 12, 5), False),  # a Saturday
        (D(2026, 12, 6), False),  # a Sunday
        (D(2026, 10, 1), False),  # National Day
        (D(2026, 10, 7), False),  # a day off given for a working weekend
        (D(2026, 10, 10), True),  # a Saturday worked for the National Day break (调休)
        (D(2026, 2, 14), True),  # a Saturday worked for the Spring Festival break
        (D(2026, 2, 17), False),  # the Spring Festival
        (D(2027, 1, 1), False),  # New Year's Day of the next year
    ],
)
def test_official_working_days(day: dt.date, working: bool) -> None:
    assert WorkCalendar().is_working_day(day) is working


def test_five_working_days_skip_the_national_day_break_and_count_its_working_saturday() -> None:
    # 30 Sep 2026 (Wed) + 5 working days: 1-7 Oct are off, 8 Oct (Thu), 9 Oct (Fri), 10 Oct (Sat, worked),
    # 12 Oct (Mon), 13 Oct (Tue)
    assert WorkCalendar().add(D(2026, 9, 30), 5) == D(2026, 10, 13)


def test_a_time_limit_crossing_the_year_end() -> None:
    # 28 Dec 2026 (Mon) + 5: 29, 30, 31 Dec, (1 Jan off, 2-3 Jan weekend) 4 and 5 Jan 2027
    assert WorkCalendar().add(D(2026, 12, 28), 5) == D(2027, 1, 5)


def test_zero_working_days_is_the_day_itself_or_the_next_working_day() -> None:
    calendar = WorkCalendar()
    assert calendar.add(D(2026, 12, 7), 0) == D(2026, 12, 7)
    assert calendar.add(D(2026, 12, 5), 0) == D(2026, 12, 7)


def test_count_is_the_inverse_of_add() -> None:
    calendar = WorkCalendar()
    start = D(2026, 9, 25)
    for days in range(0, 40):
        due = calendar.add(start, days)
        assert calendar.count(start, due) == days or (days == 0 and not calendar.is_working_day(start))


def test_configured_days_override_the_official_calendar() -> None:
    calendar = WorkCalendar(extra_holidays=[D(2026, 12, 7)], extra_workdays=[D(2026, 12, 5)])
    assert not calendar.is_working_day(D(2026, 12, 7))
    assert calendar.is_working_day(D(2026, 12, 5))
    assert calendar.add(D(2026, 12, 4), 1) == D(2026, 12, 5)


def test_a_day_both_off_and_working_is_refused() -> None:
    with pytest.raises(ValueError):
        WorkCalendar(extra_holidays=[D(2026, 12, 7)], extra_workdays=[D(2026, 12, 7)])


@pytest.mark.parametrize("days", [-1, workdays.MAX_WORKING_DAYS + 1])
def test_an_unbounded_time_limit_is_refused(days: int) -> None:
    with pytest.raises(ValueError):
        WorkCalendar().add(D(2026, 12, 7), days)


def test_the_app_applies_the_settings(monkeypatch) -> None:
    from webapp import create_app

    monkeypatch.setenv("WORKDAYS_EXTRA_HOLIDAYS", "2026-12-07, 2026-12-08")
    monkeypatch.setenv("WORKDAYS_EXTRA_WORKDAYS", "2026-12-05")
    try:
        create_app({"TESTING": True})
        assert not workdays.is_working_day(D(2026, 12, 8))
        assert workdays.is_working_day(D(2026, 12, 5))
        assert workdays.add(D(2026, 12, 4), 2) == D(2026, 12, 9)
    finally:
        workdays.configure()
