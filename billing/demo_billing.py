"""Demo billing data: Zhejiang tariffs and about 14 months of readings, bills and payments for the demo accounts.

Dates follow today's date: the last billed period is the latest one already past its due date, so the demo
customer's account 3301000001 shows paid bills, a bill crossing the 2,760 kWh tier boundary and one overdue
bill with a late fee.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from billing.ledger import bill_states_by_account, plan_application
from billing.models import Account, Bill, MeterReading, Payment, PaymentApplication, Tariff
from billing.payments import request_hash
from billing.rules import current_rules, next_period
from billing.run import _bill_chunk
from billing.tariffs import create_tariff
from core import clock, trail

MONTHS = 14
# Zhejiang grid sales prices (yuan/kWh, incl. funds and surcharges), simplified to one table per code.
ZJ_TARIFFS: list[dict[str, Any]] = [
    {
        "code": "ZJ-RES-TIER",
        "category": "residential",
        "kind": "tiered",
        "valid_from": "2020-01-01",
        "tiers": [
            {"up_to_kwh": "2760", "price": "0.538"},
            {"up_to_kwh": "4800", "price": "0.588"},
            {"up_to_kwh": None, "price": "0.838"},
        ],
    },
    {
        "code": "ZJ-RES-TOU",
        "category": "residential",
        "kind": "tou",
        "valid_from": "2020-01-01",
        "tou": {"peak": "0.568", "flat": "0.568", "valley": "0.288"},
    },
    {"code": "ZJ-GEN-FLAT", "category": "general", "kind": "flat", "valid_from": "2020-01-01", "price": "0.6644"},
    {
        "code": "ZJ-LI-TOU",
        "category": "large_industrial",
        "kind": "tou",
        "valid_from": "2020-01-01",
        "tou": {"peak": "1.0824", "flat": "0.6544", "valley": "0.3064"},
    },
    {"code": "ZJ-AGR-FLAT", "category": "agricultural", "kind": "flat", "valid_from": "2020-01-01", "price": "0.4830"},
]
# monthly kWh factor by calendar month (Hangzhou: summer air conditioning, some winter heating)
SEASON = {1: 1.15, 2: 1.0, 3: 0.85, 4: 0.8, 5: 0.9, 6: 1.1, 7: 1.5, 8: 1.6, 9: 1.2, 10: 0.9, 11: 0.9, 12: 1.1}
DEMO_CUSTOMER_ACCOUNT = "3301000001"


def load_tariffs(session: Session, tables: list[dict[str, Any]]) -> int:
    """Create the tables not present yet (by code and valid_from); returns how many were created."""
    present = set(session.execute(select(Tariff.code, Tariff.valid_from)))
    created = 0
    for table in tables:
        key = (str(table.get("code")), dt.date.fromisoformat(str(table.get("valid_from"))))
        if key in present:
            continue
        create_tariff(session, dict(table), actor_id=None)
        created += 1
    return created


def demo_periods(today: dt.date) -> list[str]:
    """The last ``MONTHS`` periods whose bills are already due before ``today``, oldest first."""
    rules = current_rules()
    year, month = today.year, today.month
    period = f"{year - (month == 1):04d}-{(month - 2) % 12 + 1:02d}"
    while rules.due_date(period) >= today:
        y, m = (int(p) for p in period.split("-"))
        period = f"{y - (m == 1):04d}-{(m - 2) % 12 + 1:02d}"
    periods = [period]
    for _ in range(MONTHS - 1):
        y, m = (int(p) for p in periods[0].split("-"))
        periods.insert(0, f"{y - (m == 1):04d}-{(m - 2) % 12 + 1:02d}")
    return periods


def _monthly_kwh(rng: random.Random, account: Account, month: int) -> Decimal:
    capacity = float(account.capacity_kva)
    base = {"residential": 260.0, "agricultural": 40.0 * capacity, "general": 90.0 * capacity}.get(
        account.category, 250.0 * capacity
    )
    if account.account_no == DEMO_CUSTOMER_ACCOUNT:
        base = 330.0  # crosses 2,760 kWh in late summer
    return Decimal(round(base * SEASON[month] * rng.uniform(0.85, 1.15)))


def seed_billing(session: Session) -> str:
    tariffs = load_tariffs(session, ZJ_TARIFFS)
    if session.scalar(select(Bill.id).limit(1)) is not None:
        return f"{tariffs} tariff tables created; bills present already"
    today = clock.today_local()
    periods = demo_periods(today)
    rng = random.Random(3)
    accounts = list(session.scalars(select(Account).order_by(Account.id)))
    with_readings = set(session.scalars(select(MeterReading.account_id).distinct()))
    accounts = [a for a in accounts if a.id not in with_readings]
    rows: list[dict[str, Any]] = []
    for account in accounts:
        total = Decimal(rng.randint(1000, 90000))
        tou = account.tariff_code.endswith("TOU")
        start = next_period(periods[0])  # placeholder to compute the starting period below
        del start
        y, m = (int(p) for p in periods[0].split("-"))
        first = f"{y - (m == 1):04d}-{(m - 2) % 12 + 1:02d}"
        shares = (Decimal("0.3"), Decimal("0.45"), Decimal("0.25"))
        bands = [total * s for s in shares]
        for index, period in enumerate([first, *periods]):
            if index:
                kwh = _monthly_kwh(rng, account, int(period[5:]))
                total += kwh
                bands = [b + (kwh * s).quantize(Decimal(1)) for b, s in zip(bands, shares, strict=True)]
            row: dict[str, Any] = {"account_id": account.id, "period": period, "reading": total}
            row.update(peak=None, flat=None, valley=None)
            if tou:
                row.update(peak=bands[0], flat=bands[1], valley=bands[2], reading=sum(bands, Decimal(0)))
            rows.append(row)
    if rows:
        session.execute(insert(MeterReading), rows)
    ids = [a.id for a in accounts]
    rules = current_rules()
    issued = paid = 0
    for index, period in enumerate(periods):
        y, m = (int(p) for p in period.split("-"))
        issued_on = dt.date(y + (m == 12), m % 12 + 1, 1)
        count, _skipped = _bill_chunk(session, period, ids, rules, None, issued_on, announce=False)
        issued += count
        last = index == len(periods) - 1
        paid += _pay_period(session, rng, accounts, period, last, today)
    span = f"{periods[0]}..{periods[-1]}"
    return f"{tariffs} tariff tables; {len(rows)} readings, {issued} bills, {paid} payments over {span}"


def _pay_period(
    session: Session, rng: random.Random, accounts: list[Account], period: str, last: bool, today: dt.date
) -> int:
    """The period's payments, planned in memory with the ledger's own rules and written in bulk."""
    rules = current_rules()
    states = bill_states_by_account(session, [a.id for a in accounts])
    payments: list[dict[str, Any]] = []
    plans: list[list[tuple[int, Decimal, Decimal]]] = []
    for account in accounts:
        bill = next((s.bill for s in states[account.id] if s.bill.period == period), None)
        if bill is None:
            continue
        roll = rng.random()
        if last and (account.account_no == DEMO_CUSTOMER_ACCOUNT or roll < 0.15):
            continue  # overdue: the customer sees the late fee growing
        if roll < 0.03:
            continue  # a few never pay (arrears for the audit and the clerk's pages)
        late = roll < 0.12 or (account.account_no == DEMO_CUSTOMER_ACCOUNT and period.endswith("-07"))
        day = bill.due_date + dt.timedelta(days=rng.randint(3, 20) if late else -rng.randint(0, 12))
        if day >= today:
            continue
        open_states = states[account.id]
        amount = sum((s.outstanding() + s.late_fee_owed(day, rules) for s in open_states), Decimal("0.00"))
        if rng.random() < 0.03:
            amount = (amount / 10 + 1).quantize(Decimal("1"), rounding=ROUND_DOWN) * 10  # rounds up: balance
        if amount <= 0:
            continue
        plan, rest = plan_application(open_states, amount, day, rules)
        account.balance += rest
        paid_at = clock.at_local(day, dt.time(rng.randint(8, 20), rng.randint(0, 59)))
        fields = {
            "account_no": account.account_no,
            "amount": amount,
            "channel": rng.choice(["bank", "bank", "app", "counter", "third_party"]),
            "paid_at": paid_at.astimezone(dt.UTC),
            "reference": f"DEMO-{account.account_no}-{period}",
        }
        payments.append(
            {
                "account_id": account.id,
                **{k: v for k, v in fields.items() if k != "account_no"},
                "idempotency_key": f"demo:{account.account_no}:{period}",
                "request_hash": request_hash(fields, True),
            }
        )
        plans.append([(state.bill.id, principal, fee) for state, principal, fee in plan])
    if not payments:
        return 0
    ids = list(session.scalars(insert(Payment).returning(Payment.id, sort_by_parameter_order=True), payments))
    rows = [
        {
            "payment_id": pid,
            "bill_id": bill_id,
            "applied_on": clock.local(p["paid_at"]).date(),
            "principal": pr,
            "late_fee": fee,
        }
        for pid, p, plan in zip(ids, payments, plans, strict=True)
        for bill_id, pr, fee in plan
    ]
    if rows:
        session.execute(insert(PaymentApplication), rows)
    numbers = {a.id: a.account_no for a in accounts}
    trail.record_many(
        session,
        [
            {
                "actor_id": None,
                "action": "payment.recorded",
                "entity": "payment",
                "entity_id": pid,
                "after": {
                    "account_no": numbers[p["account_id"]],
                    "amount": p["amount"],
                    "channel": p["channel"],
                    "paid_at": p["paid_at"],
                    "reference": p["reference"],
                    "idempotency_key": p["idempotency_key"],
                    "applied": [list(x) for x in plan],
                    "demo": True,
                },
            }
            for pid, p, plan in zip(ids, payments, plans, strict=True)
        ],
    )
    session.flush()
    return len(payments)
