"""Late fees at every boundary and payments applied oldest bill first, late fee before principal.

Amounts are hand-computed from round tariffs (1.00 yuan/kWh) so the arithmetic can be read off the comments.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billing.ledger import account_position, bill_states
from billing.payments import record_payment, request_hash
from billing.rules import Rules
from billing.tariffs import create_tariff
from tests.billing.support import bill_with
from tests.support import make_account

RULES = Rules()
D = Decimal


def _one_yuan_tariffs(session) -> None:
    for code, category in (("T-RES", "residential"), ("T-GEN", "general")):
        create_tariff(
            session,
            {"code": code, "category": category, "kind": "flat", "valid_from": "2020-01-01", "price": "1"},
            actor_id=None,
        )


def _account(world, session, category: str = "residential"):
    code = "T-RES" if category == "residential" else "T-GEN"
    return make_account(session, f"30000{len(category):05d}", world.unit_a, category=category, tariff_code=code)


def _pay(session, account, amount: str, day: dt.date, key: str):
    fields = {
        "account_no": account.account_no,
        "amount": D(amount),
        "channel": "counter",
        "paid_at": dt.datetime.combine(day, dt.time(10, 0), tzinfo=dt.timezone(dt.timedelta(hours=8))),
        "reference": key,
    }
    return record_payment(
        session, account, fields, idempotency_key=key, digest=request_hash(fields, True), actor_id=None, rules=RULES
    )[0]


def _fee(session, account, on: dt.date) -> Decimal:
    return account_position(session, account, on, RULES).late_fee_today


def test_due_date_offset_puts_a_january_bill_due_on_15_february() -> None:
    assert RULES.due_date("2026-01") == dt.date(2026, 2, 15)
    assert RULES.due_date("2025-12") == dt.date(2026, 1, 15)
    assert Rules(due_day_offset=0).due_date("2026-01") == dt.date(2026, 2, 1)


def test_residential_late_fee_boundaries(world, session) -> None:
    _one_yuan_tariffs(session)
    account = _account(world, session)
    bill = bill_with(session, account, "2026-01", 1000)  # 1000.00 due 2026-02-15
    assert bill.due_date == dt.date(2026, 2, 15)
    assert _fee(session, account, dt.date(2026, 2, 15)) == D("0.00")  # on the due date: nothing
    assert _fee(session, account, dt.date(2026, 2, 16)) == D("1.00")  # day after: 1000 x 1 per mille x 1
    assert _fee(session, account, dt.date(2026, 2, 20)) == D("5.00")  # 5 days
    position = account_position(session, account, dt.date(2026, 2, 20), RULES)
    assert position.arrears == D("1000.00")


def test_late_fee_under_one_yuan_is_charged_as_one_yuan(world, session) -> None:
    _one_yuan_tariffs(session)
    account = _account(world, session)
    bill_with(session, account, "2026-01", 100)  # 100 x 1 per mille = 0.10 a day
    assert _fee(session, account, dt.date(2026, 2, 16)) == D("1.00")
    assert _fee(session, account, dt.date(2026, 2, 25)) == D("1.00")  # 10 days = 1.00
    assert _fee(session, account, dt.date(2026, 2, 26)) == D("1.10")


def test_other_categories_pay_two_per_mille_this_year_and_three_after_year_end(world, session) -> None:
    _one_yuan_tariffs(session)
    account = _account(world, session, "general")
    bill = bill_with(session, account, "2025-11", 1000)  # due 2025-12-15
    assert bill.due_date == dt.date(2025, 12, 15)
    assert _fee(session, account, dt.date(2025, 12, 31)) == D("32.00")  # 16 days x 2.00
    assert _fee(session, account, dt.date(2026, 1, 1)) == D("35.00")  # + 1 day x 3.00 after year end
    assert _fee(session, account, dt.date(2026, 1, 10)) == D("62.00")  # 32 + 10 x 3


@pytest.mark.parametrize(
    ("category", "fees"),
    [  # a 1,000.00 bill due 2025-12-15: late fees on 31 December, 1 January and 10 January
        ("residential", ("16.00", "17.00", "26.00")),  # 1 per mille a day, whatever the year
        ("general", ("32.00", "35.00", "62.00")),  # 2 per mille this year, 3 per mille after the year end
        ("large_industrial", ("32.00", "35.00", "62.00")),
        ("agricultural", ("32.00", "35.00", "62.00")),
    ],
)
def test_late_fee_rates_of_every_category(world, session, category: str, fees: tuple[str, str, str]) -> None:
    from billing.models import Category

    assert {"residential", "general", "large_industrial", "agricultural"} == set(Category)
    create_tariff(
        session,
        {"code": "T-ONE", "category": category, "kind": "flat", "valid_from": "2020-01-01", "price": "1"},
        actor_id=None,
    )
    account = make_account(session, "3000000001", world.unit_a, category=category, tariff_code="T-ONE")
    bill = bill_with(session, account, "2025-11", 1000)
    assert (bill.category, bill.due_date) == (category, dt.date(2025, 12, 15))
    days = (dt.date(2025, 12, 31), dt.date(2026, 1, 1), dt.date(2026, 1, 10))
    assert tuple(str(_fee(session, account, day)) for day in days) == fees
    payment = _pay(session, account, str(D("1000.00") + D(fees[2])), days[2], "p1")  # the recorder's plan agrees
    assert [(a.principal, a.late_fee) for a in payment.applications] == [(D("1000.00"), D(fees[2]))]
    assert account.balance == D("0.00")


def test_partial_payment_pays_late_fee_first_and_fee_then_runs_on_the_rest(world, session) -> None:
    _one_yuan_tariffs(session)
    account = _account(world, session)
    bill_with(session, account, "2026-01", 1000)
    payment = _pay(session, account, "501.00", dt.date(2026, 2, 20), "p1")
    # fee to 20 Feb: 5.00 (5 days); principal 496.00; 504.00 left
    assert [(a.principal, a.late_fee) for a in payment.applications] == [(D("496.00"), D("5.00"))]
    position = account_position(session, account, dt.date(2026, 2, 25), RULES)
    assert position.arrears == D("504.00")
    assert position.late_fee_today == D("2.52")  # 21..25 Feb: 5 days x 504 x 1 per mille


def test_payment_on_the_due_date_pays_no_late_fee(world, session) -> None:
    _one_yuan_tariffs(session)
    account = _account(world, session)
    bill_with(session, account, "2026-01", 1000)
    payment = _pay(session, account, "1000.00", dt.date(2026, 2, 15), "p1")
    assert [(a.principal, a.late_fee) for a in payment.applications] == [(D("1000.00"), D("0.00"))]
    assert _fee(session, account, dt.date(2026, 6, 1)) == D("0.00")
    assert bill_states(session, account.id)[0].status() == "paid"


def test_payment_goes_to_the_oldest_bill_first_and_the_rest_to_balance(world, session) -> None:
    _one_yuan_tariffs(session)
    account = _account(world, session)
    bill_with(session, account, "2026-01", 100)  # due 2026-02-15
    bill_with(session, account, "2026-02", 200)  # due 2026-03-15
    payment = _pay(session, account, "350.00", dt.date(2026, 2, 16), "p1")
    # Jan: fee 0.10 -> minimum 1.00, principal 100.00; Feb: 200.00 (not due yet); 49.00 to balance
    assert [(a.bill.period, a.principal, a.late_fee) for a in payment.applications] == [
        ("2026-01", D("100.00"), D("1.00")),
        ("2026-02", D("200.00"), D("0.00")),
    ]
    assert account.balance == D("49.00")


def test_balance_pays_the_next_bill_when_it_is_issued(world, session) -> None:
    _one_yuan_tariffs(session)
    account = _account(world, session)
    bill_with(session, account, "2026-01", 100)
    _pay(session, account, "130.00", dt.date(2026, 2, 1), "p1")  # 30.00 to balance
    bill = bill_with(session, account, "2026-02", 50)
    state = bill_states(session, account.id, [bill])[0]
    assert (state.paid_principal(), state.status()) == (D("30.00"), "partial")
    assert account.balance == D("0.00")


def test_payments_skip_settled_bills_exactly_as_if_every_bill_were_read(world, session) -> None:
    """``open_bill_states`` (what payments read) plans like ``bill_states`` (every bill) on any day and amount."""
    from billing.ledger import open_bill_states, plan_application

    _one_yuan_tariffs(session)
    account = _account(world, session, "general")
    for period in ("2026-01", "2026-02", "2026-03", "2026-04"):
        bill_with(session, account, period, 100)  # 100.00 each, due the 15th of the next month
    _pay(session, account, "100.00", dt.date(2026, 2, 10), "early")  # January on time
    # February (due 15 March) paid late: 7.20 fee (36 days x 0.2%) and 52.80 principal, then 1.13 fee (12 days on
    # 47.20) and its last 47.20; the other 11.67 pay March's 3.40 fee (17 days) and 8.27 of its principal
    _pay(session, account, "60.00", dt.date(2026, 4, 20), "late-part")
    _pay(session, account, "60.00", dt.date(2026, 5, 2), "late-rest")
    for on in (dt.date(2026, 3, 1), dt.date(2026, 5, 2), dt.date(2026, 6, 30), dt.date(2027, 2, 1)):
        for amount in (D("0.50"), D("30.00"), D("500.00")):
            everything = plan_application(bill_states(session, account.id), amount, on, RULES)
            open_only = plan_application(open_bill_states(session, account.id, on), amount, on, RULES)
            assert [(s.bill.period, p, f) for s, p, f in everything[0]] == [
                (s.bill.period, p, f) for s, p, f in open_only[0]
            ], (on, amount)
            assert everything[1] == open_only[1]
    assert [s.bill.period for s in open_bill_states(session, account.id, dt.date(2026, 6, 30))] == [
        "2026-03",
        "2026-04",
    ]
    # a payment dated before a settled bill's last application sees that bill again
    assert "2026-02" in [s.bill.period for s in open_bill_states(session, account.id, dt.date(2026, 4, 25))]


def test_the_summary_pass_owes_what_the_separate_questions_owe() -> None:
    """``owed_on`` (one pass, used by the account summary) against ``outstanding`` and ``late_fee_owed`` on many
    generated bills: paid early, late, in parts, with fee payments and waivers, asked before and after the due date."""
    import random

    from billing.ledger import BillState, _BillSnapshot

    rng = random.Random(20261207)
    for n in range(400):
        due = dt.date(2025, 1, 15) + dt.timedelta(days=rng.randrange(400))
        category = rng.choice(["residential", "general"])
        amount = D(rng.randrange(1, 50000)) / 100
        bill = _BillSnapshot(n, 1, "2025-01", category, due, amount, D(0))
        state = BillState(bill=bill, charged=amount, waived=D(rng.choice([0, 0, 1, 3])))  # type: ignore[arg-type]
        for _ in range(rng.randrange(4)):
            day = due + dt.timedelta(days=rng.randrange(-20, 120))
            state.applications.append((day, D(rng.randrange(0, 30000)) / 100, D(rng.randrange(0, 300)) / 100))
        for on in (due - dt.timedelta(days=3), due, due + dt.timedelta(days=rng.randrange(1, 500))):
            assert state.owed_on(on, RULES) == (state.outstanding(on), state.late_fee_owed(on, RULES)), (n, on)
