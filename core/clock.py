"""The one local time zone and "today": times are stored in UTC and shown, dated and scheduled in local time.

The zone is the ``DISPLAY_TIMEZONE`` setting, applied once by the app factory (``configure``); until then, and in
a process that never builds the app, it is ``DEFAULT_ZONE``. CLI commands, workers and benchmarks therefore count
days exactly as the web pages do. Call these through the module (``clock.today_local()``): a test that fixes the
day replaces ``core.clock.today_local`` and every caller sees it.
"""

from __future__ import annotations

import datetime as dt
from typing import overload
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Shanghai"

_zone = ZoneInfo(DEFAULT_ZONE)


def configure(name: str | None) -> ZoneInfo:
    """Make ``name`` (an IANA zone; empty: the default) the local zone and return it."""
    global _zone
    _zone = ZoneInfo(name or DEFAULT_ZONE)
    return _zone


def zone() -> ZoneInfo:
    return _zone


def now_local() -> dt.datetime:
    return dt.datetime.now(_zone)


def today_local() -> dt.date:
    return now_local().date()


@overload
def local(value: dt.datetime) -> dt.datetime: ...
@overload
def local(value: None) -> None: ...
@overload
def local(value: dt.datetime | None) -> dt.datetime | None: ...
def local(value: dt.datetime | None) -> dt.datetime | None:
    """An aware moment in local time (None stays None)."""
    return value.astimezone(_zone) if value is not None else None


def at_local(day: dt.date, time: dt.time) -> dt.datetime:
    """The moment a local wall-clock time happens on ``day``."""
    return dt.datetime.combine(day, time, tzinfo=_zone)
