"""Billing test helpers: the Zhejiang tariffs and readings that issue bills."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from billing.bills import record_reading
from billing.models import Account, Bill
from billing.reading_checks import CheckLimits
from billing.tariffs import create_tariff

# limits under which only a register going backwards or a zero month holds a reading: for tests that build
# history with any usage they like (the checks themselves are tested in tests/billing/test_readings.py)
LENIENT = CheckLimits(min_kwh=Decimal(10**12), category_hours={})

ZJ_TIERED = {
    "code": "ZJ-RES-TIER",
    "category": "residential",
    "kind": "tiered",
    "valid_from": "2020-01-01",
    "tiers": [
        {"up_to_kwh": "2760", "price": "0.538"},
        {"up_to_kwh": "4800", "price": "0.588"},
        {"up_to_kwh": None, "price": "0.838"},
    ],
}
ZJ_TOU = {
    "code": "ZJ-LI-TOU",
    "category": "large_industrial",
    "kind": "tou",
    "valid_from": "2020-01-01",
    "tou": {"peak": "1.0824", "flat": "0.6544", "valley": "0.3064"},
}
ZJ_FLAT = {"code": "ZJ-GEN-FLAT", "category": "general", "kind": "flat", "valid_from": "2020-01-01", "price": "0.6644"}


def add_tariffs(session: Any) -> None:
    for data in (ZJ_TIERED, ZJ_TOU, ZJ_FLAT):
        create_tariff(session, dict(data), actor_id=None)


def bill_with(session: Any, account: Account, period: str, kwh: Decimal | int, start: Decimal | int = 0) -> Bill:
    """Give the account a starting reading (if it has none) and a reading ``kwh`` later; returns the bill."""
    from sqlalchemy import select

    from billing.models import MeterReading

    last = session.scalar(
        select(MeterReading).where(MeterReading.account_id == account.id).order_by(MeterReading.period.desc()).limit(1)
    )
    if last is None:
        year, month = (int(p) for p in period.split("-"))
        before = f"{year - (month == 1):04d}-{(month - 2) % 12 + 1:02d}"
        record_reading(session, account, {"period": before, "reading": start}, actor_id=None)
        base = Decimal(start)
    else:
        base = last.reading
    _r, bill = record_reading(
        session,
        account,
        {"period": period, "reading": base + Decimal(kwh)},
        actor_id=None,
        on=dt.date(2026, 1, 1),
        limits=LENIENT,
    )
    assert bill is not None
    return bill
