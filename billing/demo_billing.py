"""Demo billing data: Zhejiang tariffs and about 14 months of readings, bills and payments for the demo accounts.

Dates follow today's date: the last billed period is the latest one already past its due date, so the demo
customer's account 3301000001 shows paid bills, a bill crossing the 2,760 kWh tier boundary and one overdue
bill with a late fee.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from billing.ledger import bill_states
from billing.models import Account, Bill, MeterReading, Tariff
from billing.payments import record_payment, request_hash
from billing.rules import current_rules, next_period
from billing.run import _bill_chunk
from billing.tariffs import create_tariff

ZONE = ZoneInfo("Asia/Shanghai")
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
    present = set(session.execute(select(Tariff.code, Tariff.valid_from)).tuples())
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
    today = dt.datetime.now(ZONE).date()
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
        count, _skipped, _sent = _bill_chunk(session, period, ids, rules, None, issued_on)
        issued += count
        last = index == len(periods) - 1
        paid += _pay_period(session, rng, accounts, period, last, today)
    span = f"{periods[0]}..{periods[-1]}"
    return f"{tariffs} tariff tables; {len(rows)} readings, {issued} bills, {paid} payments over {span}"


def _pay_period(
    session: Session, rng: random.Random, accounts: list[Account], period: str, last: bool, today: dt.date
) -> int:
    bills = {
        b.account_id: b
        for b in session.scalars(
            select(Bill).where(Bill.period == period, Bill.account_id.in_([a.id for a in accounts]))
        )
    }
    made = 0
    for account in accounts:
        bill = bills.get(account.id)
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
        state = bill_states(session, account.id, [bill])[0]
        amount = state.outstanding() + state.late_fee_owed(day, current_rules())
        if rng.random() < 0.1:
            amount = (amount + Decimal(rng.choice([50, 100, 200]))).quantize(Decimal("1"))  # rounds up: balance
        if amount <= 0:
            continue
        channel = rng.choice(["bank", "bank", "app", "counter", "third_party"])
        paid_at = dt.datetime.combine(day, dt.time(rng.randint(8, 20), rng.randint(0, 59)), tzinfo=ZONE)
        fields = {
            "account_no": account.account_no,
            "amount": amount,
            "channel": channel,
            "paid_at": paid_at.astimezone(dt.UTC),
            "reference": f"DEMO-{account.account_no}-{period}",
        }
        record_payment(
            session,
            account,
            fields,
            idempotency_key=f"demo:{account.account_no}:{period}",
            digest=request_hash(fields, True),
            actor_id=None,
        )
        made += 1
    return made
