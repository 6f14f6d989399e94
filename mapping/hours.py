"""Opening hours per weekday and whether a place is open at a moment (in local time by default)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from core import clock

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


def _minutes(h: str, m: str) -> int:
    return int(h) * 60 + int(m)


def parse_ranges(text: str) -> list[tuple[int, int]]:
    """``"08:30-12:00,13:30-17:30"`` -> minute ranges; an end before the start runs past midnight.

    Raises ValueError with a readable message for anything else.
    """
    ranges = []
    for part in (p.strip() for p in text.split(",")):
        match = _RANGE.match(part)
        if not match:
            raise ValueError(f"{part!r} is not HH:MM-HH:MM")
        start, end = _minutes(*match.group(1, 2)), _minutes(*match.group(3, 4))
        if start > 24 * 60 or end > 24 * 60 or int(match.group(2)) > 59 or int(match.group(4)) > 59:
            raise ValueError(f"{part!r} is not a time of day")
        if start == end:
            raise ValueError(f"{part!r} is empty")
        ranges.append((start, end))
    return ranges


class BadHours(ValueError):
    """Hours that cannot be read; ``days`` names every bad day (empty when the whole value is not a mapping)."""

    def __init__(self, message: str, days: list[str]) -> None:
        super().__init__(message)
        self.days = days


def validate_hours(hours: object) -> dict[str, str]:
    """Check an hours mapping; returns it normalised or raises BadHours listing every bad day."""
    if not isinstance(hours, dict):
        raise BadHours("an object of weekday -> 'HH:MM-HH:MM'", [])
    problems = []
    days: list[str] = []
    clean: dict[str, str] = {}
    for day, value in hours.items():
        if day not in WEEKDAYS:
            problems.append(f"{day}: not one of {', '.join(WEEKDAYS)}")
            days.append(str(day))
            continue
        if value in (None, "", "closed"):
            continue
        try:
            parse_ranges(str(value))
            clean[day] = str(value).replace(" ", "")
        except ValueError as exc:
            problems.append(f"{day}: {exc}")
            days.append(day)
    if problems:
        raise BadHours("; ".join(problems), days)
    return clean


def is_open(hours: dict[str, str], at: dt.datetime, zone: ZoneInfo | None = None) -> bool:
    """Whether ``hours`` (times in ``zone``, by default the local zone) include the aware moment ``at``."""
    local = at.astimezone(zone or clock.zone())
    minute = local.hour * 60 + local.minute
    today = WEEKDAYS[local.weekday()]
    yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
    for start, end in _ranges_or_empty(hours.get(today)):
        if (start < end and start <= minute < end) or (start > end and minute >= start):
            return True
    return any(start > end and minute < end for start, end in _ranges_or_empty(hours.get(yesterday)))


def _ranges_or_empty(text: str | None) -> list[tuple[int, int]]:
    if not text:
        return []
    try:
        return parse_ranges(text)
    except ValueError:
        return []
