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


# China's payment providers (Alipay, WeChat Pay, UnionPay) write times as Beijing wall-clock time without a zone,
# whatever the local zone of this installation is
PROVIDER_OFFSET = dt.timezone(dt.timedelta(hours=8))


def from_provider(text: str) -> dt.datetime:
    """A provider's ``YYYY-MM-DD HH:MM:SS`` (Beijing time) as an aware moment."""
    return dt.datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=PROVIDER_OFFSET)


def to_provider(moment: dt.datetime) -> str:
    """An aware moment as a provider writes it (Beijing time, no zone)."""
    return moment.astimezone(PROVIDER_OFFSET).strftime("%Y-%m-%d %H:%M:%S")
