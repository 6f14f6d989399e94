"""Billing rules that are configuration, not code: due-date offset and late-fee rates.

Flask config keys (environment variables of the same name override them, see docs/billing.md):
``BILLING_DUE_DAY_OFFSET`` (days after the 1st of the month after the period; default 14, so a January bill
is due on 15 February), ``BILLING_LATE_FEE_RESIDENTIAL`` (0.001 a day), ``BILLING_LATE_FEE_CURRENT_YEAR``
(0.002), ``BILLING_LATE_FEE_EARLIER_YEARS`` (0.003), ``BILLING_LATE_FEE_MINIMUM`` (1.00 yuan).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Rules:
    due_day_offset: int = 14
    residential_rate: Decimal = Decimal("0.001")
    current_year_rate: Decimal = Decimal("0.002")
    earlier_years_rate: Decimal = Decimal("0.003")
    minimum_fee: Decimal = Decimal("1.00")

    def due_date(self, period: str) -> dt.date:
        year, month = (int(p) for p in period.split("-"))
        first_next = dt.date(year + (month == 12), month % 12 + 1, 1)
        return first_next + dt.timedelta(days=self.due_day_offset)


_KEYS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "BILLING_DUE_DAY_OFFSET": ("due_day_offset", int),
    "BILLING_LATE_FEE_RESIDENTIAL": ("residential_rate", Decimal),
    "BILLING_LATE_FEE_CURRENT_YEAR": ("current_year_rate", Decimal),
    "BILLING_LATE_FEE_EARLIER_YEARS": ("earlier_years_rate", Decimal),
    "BILLING_LATE_FEE_MINIMUM": ("minimum_fee", Decimal),
}


def config_values(config: Any, keys: Mapping[str, tuple[str, Callable[[str], Any]]]) -> dict[str, Any]:
    """The settings of ``keys`` (config key -> (name, parser)) given in the Flask ``config`` or, failing that, in
    the environment, parsed from their text: ``{name: value}``."""
    values: dict[str, Any] = {}
    for key, (name, kind) in keys.items():
        raw = config.get(key) if config is not None else None
        if raw is None:
            raw = os.environ.get(key)
        if raw is not None:
            values[name] = kind(str(raw))
    return values


def rules_from(config: Any) -> Rules:
    return Rules(**config_values(config, _KEYS))


def current_rules() -> Rules:
    """The rules of the running Flask app, read from its configuration once (defaults outside an app context)."""
    from flask import current_app, has_app_context

    if not has_app_context():
        return rules_from(None)
    rules = current_app.extensions.get("billing_rules")
    if rules is None:
        rules = current_app.extensions["billing_rules"] = rules_from(current_app.config)
    return rules


def parse_period(value: str) -> str | None:
    """``YYYY-MM`` normalised, or None when it is not a period."""
    try:
        year, month = str(value).split("-")
        if len(year) != 4 or len(month) != 2:
            return None
        if not 2000 <= int(year) <= 2100 or not 1 <= int(month) <= 12:
            return None
    except ValueError:
        return None
    return f"{int(year):04d}-{int(month):02d}"


def period_start(period: str) -> dt.date:
    year, month = (int(p) for p in period.split("-"))
    return dt.date(year, month, 1)


def next_period(period: str) -> str:
    year, month = (int(p) for p in period.split("-"))
    return f"{year + (month == 12):04d}-{month % 12 + 1:02d}"


def shift_period(period: str, months: int) -> str:
    """The period ``months`` after ``period`` (before it when negative)."""
    year, month = (int(p) for p in period.split("-"))
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
