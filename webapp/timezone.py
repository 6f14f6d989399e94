"""Times are stored in UTC and shown in the display time zone (Asia/Shanghai by default)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app


def display_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("DISPLAY_TIMEZONE", "Asia/Shanghai"))


def today_local() -> dt.date:
    return dt.datetime.now(display_zone()).date()


def local(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(display_zone()) if value else None
