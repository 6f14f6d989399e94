"""Working days in mainland China: weekends and public holidays off, the shifted working weekends (调休) on.

Time limits counted in working days (business handling, complaints, meter tests) all ask this module. The calendar
comes from the ``holidays`` package, which knows each year's official table once the State Council has published it
(late in the autumn before). Until then, or to correct it, configuration adds days off and working days:
``WORKDAYS_EXTRA_HOLIDAYS`` and ``WORKDAYS_EXTRA_WORKDAYS`` (ISO dates, comma separated), applied once by the app
factory (``configure``). Call through the module (``workdays.add(...)``) so that a test can replace the calendar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import lru_cache

import holidays

_ONE_DAY = dt.timedelta(days=1)
# A time limit longer than this is a configuration mistake, not a deadline: refuse it instead of looping for ages.
MAX_WORKING_DAYS = 3660


class WorkCalendar:
    """China's official working days, with days off and working days added by configuration on top."""

    def __init__(self, extra_holidays: Iterable[dt.date] = (), extra_workdays: Iterable[dt.date] = ()):
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_workdays = frozenset(extra_workdays)
        overlap = self.extra_holidays & self.extra_workdays
        if overlap:
            raise ValueError(f"days both off and working: {sorted(overlap)}")

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        return _is_official_working_day(day)

    def add(self, start: dt.date, days: int) -> dt.date:
        """The ``days``-th working day after ``start`` (``start`` itself not counted): the due date of a time limit
        of ``days`` working days that starts on ``start``. Zero days: ``start`` if it is a working day, else the
        next working day."""
        if not 0 <= days <= MAX_WORKING_DAYS:
            raise ValueError(f"a time limit of {days} working days")
        day = start
        if days == 0:
            while not self.is_working_day(day):
                day += _ONE_DAY
            return day
        while days:
            day += _ONE_DAY
            if self.is_working_day(day):
                days -= 1
        return day

    def count(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when ``end`` is not after ``start``)."""
        total, day = 0, start
        while day < end:
            day += _ONE_DAY
            total += self.is_working_day(day)
        return total


@lru_cache(maxsize=8192)
def _is_official_working_day(day: dt.date) -> bool:
    return bool(_china(day.year).is_working_day(day))


@lru_cache(maxsize=64)
def _china(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("CN", years=year)


_calendar = WorkCalendar()


def configure(extra_holidays: Iterable[dt.date] = (), extra_workdays: Iterable[dt.date] = ()) -> WorkCalendar:
    """Replace the calendar's configured additions; returns the calendar now in use."""
    global _calendar
    _calendar = WorkCalendar(extra_holidays, extra_workdays)
    return _calendar


def parse_days(text: str | Iterable[str] | None) -> list[dt.date]:
    """ISO dates from a setting: a comma- or space-separated string, or a list of strings."""
    if not text:
        return []
    items = text.replace(",", " ").split() if isinstance(text, str) else list(text)
    return [dt.date.fromisoformat(item.strip()) for item in items if item.strip()]


def calendar() -> WorkCalendar:
    return _calendar


def is_working_day(day: dt.date) -> bool:
    return _calendar.is_working_day(day)


def add(start: dt.date, days: int) -> dt.date:
    return _calendar.add(start, days)


def count(start: dt.date, end: dt.date) -> int:
    return _calendar.count(start, end)
