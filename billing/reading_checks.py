"""The checks every meter reading passes before it bills; their limits are configuration, not code.

A check that fails gives a code and its parameters (``{"code": "usage_spike", "kwh": "62756.00", ...}``); a reading
that fails any check is held for review instead of billing (``billing.readings``).

Flask config keys (environment variables of the same name override them, see docs/billing.md):
``READING_SPIKE_FACTOR`` (3: usage above 3 times the baseline is a spike, 突增), ``READING_DROP_FACTOR`` (3: usage
below a third of the baseline is a drop, 突减), ``READING_RECENT_MONTHS`` (6: the recent average is over the bills
of the 6 periods before), ``READING_MIN_HISTORY`` (3: bills needed for a recent average), ``READING_MIN_KWH`` (50:
a spike or drop counts only when the larger of usage and baseline reaches it), ``READING_CATEGORY_HOURS``
(``residential:500,general:600,large_industrial:720,agricultural:600``: a month's usage above the contracted
capacity times these full-load hours is far outside the category's range).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from billing.rules import config_values

DEFAULT_CATEGORY_HOURS = {"residential": 500, "general": 600, "large_industrial": 720, "agricultural": 600}

# the codes a reading's checks give, in the order they are reported
LOWER_THAN_LAST = "reading_lower_than_last"  # {last, register}
ZERO_USAGE = "zero_usage"  # {last_year_kwh}: nothing used where the same month last year used power
USAGE_SPIKE = "usage_spike"  # {kwh, baseline, basis, factor}: 突增
USAGE_DROP = "usage_drop"  # {kwh, baseline, basis, factor}: 突减
OUTSIDE_CATEGORY = "outside_category_range"  # {kwh, high, category}
CODES = (LOWER_THAN_LAST, ZERO_USAGE, USAGE_SPIKE, USAGE_DROP, OUTSIDE_CATEGORY)
# what a spike or a drop is measured against
RECENT_AVERAGE = "recent_average"
SAME_MONTH_LAST_YEAR = "same_month_last_year"


def _hours(raw: str) -> dict[str, Decimal]:
    hours: dict[str, Decimal] = {}
    for part in str(raw).split(","):
        if part.strip():
            name, value = part.split(":")
            hours[name.strip()] = Decimal(value.strip())
    return hours


@dataclass(frozen=True)
class CheckLimits:
    spike_factor: Decimal = Decimal(3)
    drop_factor: Decimal = Decimal(3)
    recent_months: int = 6
    min_history: int = 3
    min_kwh: Decimal = Decimal(50)
    category_hours: Mapping[str, Decimal] = field(
        default_factory=lambda: {k: Decimal(v) for k, v in DEFAULT_CATEGORY_HOURS.items()}
    )


_KEYS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "READING_SPIKE_FACTOR": ("spike_factor", Decimal),
    "READING_DROP_FACTOR": ("drop_factor", Decimal),
    "READING_RECENT_MONTHS": ("recent_months", int),
    "READING_MIN_HISTORY": ("min_history", int),
    "READING_MIN_KWH": ("min_kwh", Decimal),
    "READING_CATEGORY_HOURS": ("category_hours", _hours),
}


def limits_from(config: Any) -> CheckLimits:
    values = config_values(config, _KEYS)
    if "category_hours" in values:
        values["category_hours"] = {
            **{k: Decimal(v) for k, v in DEFAULT_CATEGORY_HOURS.items()},
            **values["category_hours"],
        }
    return CheckLimits(**values)


def current_limits() -> CheckLimits:
    """The limits of the running Flask app, read from its configuration once (defaults outside an app context)."""
    from flask import current_app, has_app_context

    if not has_app_context():
        return limits_from(None)
    limits = current_app.extensions.get("reading_check_limits")
    if limits is None:
        limits = current_app.extensions["reading_check_limits"] = limits_from(current_app.config)
    return limits


@dataclass(frozen=True)
class Facts:
    """What the checks look at: the period's usage and the account's past.

    ``lower`` is the register that went below the last reading (``reading``, ``peak``, ...) and that last value,
    when one did and no meter change or rollover is recorded; ``kwh`` is then not meaningful.
    """

    kwh: Decimal
    category: str
    capacity_kva: Decimal
    recent_kwh: Sequence[Decimal] = ()
    last_year_kwh: Decimal | None = None
    lower: tuple[str, Decimal] | None = None


def _text(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _compare(kwh: Decimal, baseline: Decimal, basis: str, limits: CheckLimits) -> dict[str, Any] | None:
    if max(kwh, baseline) < limits.min_kwh:
        return None
    if kwh > baseline * limits.spike_factor:
        code, factor = USAGE_SPIKE, limits.spike_factor
    elif kwh * limits.drop_factor < baseline:
        code, factor = USAGE_DROP, limits.drop_factor
    else:
        return None
    return {"code": code, "kwh": _text(kwh), "baseline": _text(baseline), "basis": basis, "factor": str(factor)}


def run_checks(facts: Facts, limits: CheckLimits) -> list[dict[str, Any]]:
    """The checks the reading fails (empty: it may bill), each ``{"code": ..., **params}`` with plain values."""
    if facts.lower is not None:
        register, last = facts.lower
        return [{"code": LOWER_THAN_LAST, "register": register, "last": _text(last)}]
    failed: list[dict[str, Any]] = []
    kwh = facts.kwh
    if kwh == 0 and facts.last_year_kwh is not None and facts.last_year_kwh > 0:
        failed.append({"code": ZERO_USAGE, "last_year_kwh": _text(facts.last_year_kwh)})
    if len(facts.recent_kwh) >= limits.min_history:
        average = sum(facts.recent_kwh, Decimal(0)) / len(facts.recent_kwh)
        found = _compare(kwh, average, RECENT_AVERAGE, limits)
        if found and not (found["code"] == USAGE_DROP and kwh == 0 and failed):
            failed.append(found)
    if facts.last_year_kwh is not None:
        found = _compare(kwh, facts.last_year_kwh, SAME_MONTH_LAST_YEAR, limits)
        if found and not (found["code"] == USAGE_DROP and kwh == 0 and failed):
            failed.append(found)
    hours = limits.category_hours.get(facts.category)
    if hours is not None and facts.capacity_kva > 0:
        high = facts.capacity_kva * hours
        if kwh > high:
            failed.append(
                {"code": OUTSIDE_CATEGORY, "kwh": _text(kwh), "high": _text(high), "category": facts.category}
            )
    return failed
