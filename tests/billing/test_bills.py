"""Readings to bills: tier split across annual boundaries, TOU bands, flat rates, refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from billing.bills import record_reading
from billing.models import Bill
from core.errors import Conflict, InvalidInput, Problem
from tests.billing.support import add_tariffs, bill_with
from tests.support import make_account


def test_first_reading_is_the_start_and_makes_no_bill(world, session) -> None:
    add_tariffs(session)
    _reading, bill = record_reading(session, world.own_account, {"period": "2026-01", "reading": 100}, actor_id=None)
    assert bill is None


def test_bill_inside_tier_one_uses_its_price(world, session) -> None:
    add_tariffs(session)
    bill = bill_with(session, world.own_account, "2026-01", 200)
    # 200 kWh x 0.538 = 107.60
    assert bill.amount == Decimal("107.60")
    assert [(line.item, line.kwh, line.amount) for line in bill.lines] == [("tier_1", Decimal(200), Decimal("107.60"))]


def test_bill_crossing_the_2760_boundary_is_split_into_two_lines(world, session) -> None:
    add_tariffs(session)
    bill_with(session, world.own_account, "2026-01", 2700)  # 2700 x 0.538 = 1452.60
    bill = bill_with(session, world.own_account, "2026-02", 300)
    # 60 kWh left in tier 1: 60 x 0.538 = 32.28; 240 x 0.588 = 141.12; total 173.40
    assert [(line.item, line.kwh, line.amount) for line in bill.lines] == [
        ("tier_1", Decimal(60), Decimal("32.28")),
        ("tier_2", Decimal(240), Decimal("141.12")),
    ]
    assert bill.amount == Decimal("173.40")


def test_bill_crossing_two_boundaries_has_three_lines(world, session) -> None:
    add_tariffs(session)
    bill = bill_with(session, world.own_account, "2026-03", 5000)
    # 2760 x 0.538 = 1484.88; 2040 x 0.588 = 1199.52; 200 x 0.838 = 167.60; total 2852.00
    assert [(line.item, line.kwh, line.amount) for line in bill.lines] == [
        ("tier_1", Decimal(2760), Decimal("1484.88")),
        ("tier_2", Decimal(2040), Decimal("1199.52")),
        ("tier_3", Decimal(200), Decimal("167.60")),
    ]
    assert bill.amount == Decimal("2852.00")


def test_tiers_restart_in_a_new_calendar_year(world, session) -> None:
    add_tariffs(session)
    bill_with(session, world.own_account, "2025-12", 3000)
    bill = bill_with(session, world.own_account, "2026-01", 100)
    assert [line.item for line in bill.lines] == ["tier_1"]
    assert bill.amount == Decimal("53.80")


def test_time_of_use_bill_has_one_line_per_band(world, session) -> None:
    add_tariffs(session)
    account = make_account(session, "1000000009", world.unit_a, category="large_industrial", tariff_code="ZJ-LI-TOU")
    record_reading(session, account, {"period": "2026-01", "peak": 100, "flat": 200, "valley": 300}, actor_id=None)
    _r, bill = record_reading(
        session, account, {"period": "2026-02", "peak": 200, "flat": 400, "valley": 600}, actor_id=None
    )
    assert bill is not None
    # 100 x 1.0824 = 108.24; 200 x 0.6544 = 130.88; 300 x 0.3064 = 91.92; total 331.04
    assert [(line.item, line.kwh, line.amount) for line in bill.lines] == [
        ("peak", Decimal(100), Decimal("108.24")),
        ("flat", Decimal(200), Decimal("130.88")),
        ("valley", Decimal(300), Decimal("91.92")),
    ]
    assert bill.amount == Decimal("331.04")
    assert bill.kwh == Decimal(600)


def test_flat_bill_applies_the_meter_multiplier(world, session) -> None:
    add_tariffs(session)
    account = make_account(
        session, "1000000010", world.unit_a, category="general", tariff_code="ZJ-GEN-FLAT", meter_multiplier=40
    )
    bill = bill_with(session, account, "2026-02", 10)
    # 10 x 40 = 400 kWh x 0.6644 = 265.76
    assert (bill.kwh, bill.amount) == (Decimal(400), Decimal("265.76"))


def test_second_reading_for_a_period_is_refused_and_the_bill_stays(world, session) -> None:
    add_tariffs(session)
    bill = bill_with(session, world.own_account, "2026-01", 200)
    with pytest.raises(Conflict) as caught:
        record_reading(session, world.own_account, {"period": "2026-01", "reading": 999}, actor_id=None)
    assert caught.value.code == "reading_exists"
    assert session.get(Bill, bill.id).amount == Decimal("107.60")


def test_reading_with_every_field_wrong_reports_them_all(world, session) -> None:
    with pytest.raises(InvalidInput) as caught:
        record_reading(session, world.own_account, {"period": "2026-13", "reading": "-1"}, actor_id=None)
    assert caught.value.problems == {"period": Problem("not_a_period"), "reading": Problem("not_a_reading")}


def test_an_issued_bill_is_announced_in_its_transaction_and_a_rollback_takes_both(world, session, held_outbox) -> None:
    from billing.topics import BILLS_ISSUED

    add_tariffs(session)
    session.commit()
    bill_with(session, world.own_account, "2026-01", 200)
    session.rollback()
    assert held_outbox.messages() == [] and session.scalars(select(Bill)).all() == []
    bill = bill_with(session, world.own_account, "2026-01", 200)
    session.commit()
    assert held_outbox.messages(BILLS_ISSUED) == [{"period": "2026-01", "bill_ids": [bill.id]}]
