"""Pricing from a tariff row and from its plain price table (the bill run's) gives the same lines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from billing.models import Tariff
from billing.tariffs import Line, PriceTable, account_price_table, price_lines, tariff_for
from tests.billing.support import add_tariffs
from tests.support import make_account


@pytest.mark.parametrize(
    ("code", "kwh", "year_before", "bands", "expected"),
    [
        # 60 kWh left in tier 1 (2,760 - 2,700) at 0.538 = 32.28, the other 40 at 0.588 = 23.52
        (
            "ZJ-RES-TIER",
            "100",
            "2700",
            None,
            [("tier_1", "60", "0.538", "32.28"), ("tier_2", "40", "0.588", "23.52")],
        ),
        ("ZJ-RES-TIER", "0", "0", None, [("tier_1", "0", "0.538", "0.00")]),
        # 1.0824 x 10 = 10.824 -> 10.82; 0.6544 x 20 = 13.088 -> 13.09; 0.3064 x 5 = 1.532 -> 1.53
        (
            "ZJ-LI-TOU",
            "35",
            "0",
            ("10", "20", "5"),
            [("peak", "10", "1.0824", "10.82"), ("flat", "20", "0.6544", "13.09"), ("valley", "5", "0.3064", "1.53")],
        ),
        ("ZJ-GEN-FLAT", "150", "0", None, [("energy", "150", "0.6644", "99.66")]),
    ],
)
def test_a_price_table_prices_as_its_tariff(session, code, kwh, year_before, bands, expected) -> None:
    add_tariffs(session)
    tariff = session.scalar(select(Tariff).where(Tariff.code == code))
    split = tuple(Decimal(b) for b in bands) if bands else None
    want = [Line(item, Decimal(q), Decimal(p), Decimal(a)) for item, q, p, a in expected]
    assert price_lines(tariff, Decimal(kwh), Decimal(year_before), split) == want
    assert price_lines(PriceTable.of(tariff), Decimal(kwh), Decimal(year_before), split) == want


@pytest.mark.parametrize("code", ["ZJ-RES-TIER", "ZJ-LI-TOU", "ZJ-GEN-FLAT"])
def test_an_accounts_price_table_read_as_rows_is_its_tariffs(session, world, code) -> None:
    """``account_price_table`` (plain rows, the usage page) reads what ``tariff_for`` (the ORM tariff) reads for the
    account's tariff code; None for a day no tariff of that code is in force."""
    add_tariffs(session)
    category = session.scalar(select(Tariff.category).where(Tariff.code == code))
    account = make_account(session, "3000000001", world.unit_a, tariff_code=code, category=category)
    on = dt.date(2026, 3, 1)
    assert account_price_table(session, account.id, on) == PriceTable.of(tariff_for(session, code, on))
    assert account_price_table(session, account.id, dt.date(1990, 1, 1)) is None
