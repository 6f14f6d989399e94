"""Read functions for an account's bills, usage, tier progress and payments (the API and the portal call these).

Every function takes an ``Account`` the caller is already allowed to see (``billing.accounts.get_visible_account``)
and returns plain dicts of Decimals, dates and strings.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from billing.ledger import ZERO, BillState, Funded, account_bill_states, bill_states
from billing.models import Account, Bill, MeterChange, Payment, PaymentApplication, Tariff, TariffKind
from billing.readings import meter_change_dict
from billing.rules import Rules, current_rules, next_period, period_start
from billing.tariffs import account_price_table
from core.errors import NotFound

if TYPE_CHECKING:
    from billing.accounts import AccountCard


def bill_summary(state: BillState, on: dt.date, rules: Rules) -> dict[str, Any]:
    bill = state.bill
    return {
        "period": bill.period,
        "kwh": bill.kwh,
        "amount": bill.amount,
        "charged": state.charged,
        "due_date": bill.due_date,
        "paid_amount": state.paid_principal(),
        "late_fee_paid": state.paid_late_fee(),
        "outstanding": state.outstanding(),
        "late_fee_today": state.late_fee_owed(on, rules),
        "status": state.status(),
        "overdue": state.outstanding() > 0 and on > bill.due_date,
        "start_reading": bill.start_reading,
        "end_reading": bill.end_reading,
        "multiplier": bill.multiplier,
    }


def bills_for_year(
    session: Session, account: Funded, year: int | None, on: dt.date, states: list[BillState] | None = None
) -> list[dict[str, Any]]:
    """The account's bills (of ``year`` if given), newest period first, each with paid amount and status.
    ``states``: the account's ``account_bill_states`` when the caller read them already.

    Keys: period, kwh, amount, charged (amount plus approved corrections), due_date, paid_amount (principal),
    late_fee_paid, outstanding, late_fee_today (owed if paid on ``on``), status (unpaid/partial/paid), overdue,
    start_reading, end_reading and multiplier (null on bills issued before readings were kept on bills).
    """
    rules = current_rules()
    if states is None:
        states = account_bill_states(session, account.id)
    if year is not None:
        states = [s for s in states if s.bill.period.startswith(f"{year:04d}-")]
    return [bill_summary(s, on, rules) for s in reversed(states)]


def bill_detail(session: Session, account: Account, period: str, on: dt.date) -> dict[str, Any]:
    """One bill with its ``lines`` (item tier_1/tier_2/tier_3, peak/flat/valley or energy; kwh, price, amount),
    its payments (``applications``) and approved ``adjustments``. NotFound when there is no such bill."""
    bill = session.scalar(select(Bill).where(Bill.account_id == account.id, Bill.period == period))
    if bill is None:
        raise NotFound("bill_not_found")
    state = bill_states(session, account.id, [bill])[0]
    data = bill_summary(state, on, current_rules())
    tariff = session.get(Tariff, bill.tariff_id)
    data.update(
        account_no=account.account_no,
        tariff_code=tariff.code if tariff else None,
        issued_at=bill.issued_at,
        lines=[{"item": line.item, "kwh": line.kwh, "price": line.price, "amount": line.amount} for line in bill.lines],
        applications=[{"applied_on": d, "principal": p, "late_fee": f} for d, p, f in state.applications],
        **bill_readings(session, bill),
    )
    return data


@functools.cache
def _kwh_query() -> Select[Any]:
    return select(Bill.kwh).where(
        Bill.account_id == bindparam("account_id"), Bill.period.between(bindparam("first"), bindparam("last"))
    )


def bill_readings(session: Session, bill: Bill) -> dict[str, Any]:
    """What the bill was computed from: ``start_reading``, ``end_reading``, ``multiplier`` (null on bills issued
    before they were kept) and the ``meter_change`` in its period (``billing.readings.meter_change_dict``, or
    null): usage = (old_final - start) x old_multiplier + (end - new_start) x multiplier when there is one, else
    (end - start) x multiplier."""
    change = session.get(MeterChange, bill.meter_change_id) if bill.meter_change_id is not None else None
    return {
        "start_reading": bill.start_reading,
        "end_reading": bill.end_reading,
        "multiplier": bill.multiplier,
        "meter_change": None if change is None else meter_change_dict(change),
    }


def tier_progress(
    session: Session,
    account: Account | AccountCard,
    year: int,
    through: str | None = None,
    billed: dict[str, tuple[Decimal, Decimal]] | None = None,
) -> dict[str, Any]:
    """How far the account is into each annual tier of its tiered tariff in ``year`` (up to and including
    the period ``through`` when given, e.g. as of one bill). ``billed``: the account's ``billed_periods``, when
    the caller read them already.

    ``{"year", "kwh", "tiers": [{"tier", "from_kwh", "up_to_kwh", "price", "used_kwh", "remaining_kwh"}]}``;
    ``tiers`` is empty for TOU and flat tariffs. ``remaining_kwh`` is null for the open last tier.
    """
    last = min(f"{year}-12", through or f"{year}-12")
    kwh: Iterable[Decimal] = (
        session.scalars(_kwh_query(), {"account_id": account.id, "first": f"{year}-01", "last": last})
        if billed is None
        else (kwh for period, (kwh, _amount) in billed.items() if f"{year}-01" <= period <= last)
    )
    used = sum(kwh, Decimal(0))
    tariff = account_price_table(session, account.id, dt.date(year, 1, 1))
    tiers: list[dict[str, Any]] = []
    if tariff is not None and tariff.kind == TariffKind.TIERED:
        lower = Decimal(0)
        for tier in tariff.tiers:
            upper = tier.up_to_kwh
            in_tier = max(ZERO, (used if upper is None else min(used, upper)) - lower)
            tiers.append(
                {
                    "tier": tier.seq,
                    "from_kwh": lower,
                    "up_to_kwh": upper,
                    "price": tier.price,
                    "used_kwh": in_tier,
                    "remaining_kwh": None if upper is None else max(ZERO, upper - max(used, lower)),
                }
            )
            if upper is not None:
                lower = upper
    return {"year": year, "kwh": used, "tiers": tiers}


def billed_periods(session: Session, account: Account | AccountCard) -> dict[str, tuple[Decimal, Decimal]]:
    """The kWh and amount of each billed period of the account (one query)."""
    return {
        period: (kwh, amount)
        for period, kwh, amount in session.execute(
            select(Bill.period, Bill.kwh, Bill.amount).where(Bill.account_id == account.id)
        )
    }


def usage_series(
    session: Session,
    account: Account | AccountCard,
    months: int,
    today: dt.date,
    *,
    through: str | None = None,
    billed: dict[str, tuple[Decimal, Decimal]] | None = None,
) -> list[dict[str, Any]]:
    """The last ``months`` periods up to the current one (or up to the period ``through``, ``YYYY-MM``), oldest
    first; kWh and amount 0 where no bill. ``billed``: the account's ``billed_periods``, if read already."""
    months = max(1, min(months, 120))
    rows = billed_periods(session, account) if billed is None else billed
    year, month = (int(through[:4]), int(through[5:7])) if through else (today.year, today.month)
    for _ in range(months - 1):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    period = f"{year:04d}-{month:02d}"
    series = []
    for _ in range(months):
        kwh, amount = rows.get(period, (Decimal("0.00"), Decimal("0.00")))
        series.append({"period": period, "kwh": kwh, "amount": amount})
        period = next_period(period)
    return series


def payment_dict(payment: Payment, periods: dict[int, str]) -> dict[str, Any]:
    applied = [
        {
            "period": periods.get(a.bill_id, ""),
            "principal": a.principal,
            "late_fee": a.late_fee,
            "applied_on": a.applied_on,
        }
        for a in payment.applications
    ]
    used = sum((a.principal + a.late_fee for a in payment.applications), ZERO)
    return {
        "id": payment.id,
        "paid_at": payment.paid_at,
        "amount": payment.amount,
        "channel": payment.channel,
        "reference": payment.reference,
        "applied": applied,
        "unapplied": payment.amount - used,
    }


def payments_with_applications(
    session: Session, account: Account, limit: int = 200, offset: int = 0
) -> list[dict[str, Any]]:
    """The account's payments, newest first, each with ``applied: [{period, principal, late_fee, applied_on}]``
    (money from balance applied to later bills included) and ``unapplied`` (still in the balance)."""
    payments = list(
        session.scalars(
            select(Payment)
            .where(Payment.account_id == account.id)
            .order_by(Payment.paid_at.desc(), Payment.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )
    periods = dict(session.execute(select(Bill.id, Bill.period).where(Bill.account_id == account.id)).all())
    return [payment_dict(p, periods) for p in payments]


def payment_count(session: Session, account: Account) -> int:
    from sqlalchemy import func

    return int(session.scalar(select(func.count(Payment.id)).where(Payment.account_id == account.id)) or 0)


def applications_by_payment(session: Session, payment_ids: list[int]) -> dict[int, list[PaymentApplication]]:
    result: dict[int, list[PaymentApplication]] = defaultdict(list)
    for application in session.scalars(
        select(PaymentApplication).where(PaymentApplication.payment_id.in_(payment_ids))
    ):
        if application.payment_id is not None:
            result[application.payment_id].append(application)
    return result


__all__ = [
    "bill_detail",
    "bills_for_year",
    "payments_with_applications",
    "period_start",
    "tier_progress",
    "usage_series",
]
