"""An account's money position: what each bill still owes, late fees on any day, and applying money.

Nothing here edits a bill. What a bill charges is its amount plus approved corrections; what it has been paid
is the sum of its ``PaymentApplication`` rows; approved waivers reduce its late fee.

Late fee (电费违约金): counted per day from the day after the due date until the payment day (that day
included) on the principal still unpaid that day. Residential bills pay ``residential_rate`` a day; other
categories ``current_year_rate`` for days in the due date's calendar year and ``earlier_years_rate`` for days
in later years (the arrears have become an earlier year's). A bill's total fee under ``minimum_fee`` (but
above zero) is charged as ``minimum_fee``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol, cast

from sqlalchemy import String, bindparam, literal, null, select, union_all
from sqlalchemy.orm import Session

from billing.models import (
    Account,
    Adjustment,
    AdjustmentKind,
    AdjustmentStatus,
    Bill,
    Category,
    Payment,
    PaymentApplication,
)
from billing.rules import CENT, Rules, current_rules

ZERO = Decimal("0.00")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _fee_for_days(
    principal: Decimal, start: dt.date, end: dt.date, due: dt.date, residential: bool, rules: Rules
) -> Decimal:
    """Unrounded fee on ``principal`` for the days start..end inclusive."""
    total = Decimal(0)
    if end < start or principal <= 0:
        return total
    for year in range(start.year, end.year + 1):
        first = max(start, dt.date(year, 1, 1))
        last = min(end, dt.date(year, 12, 31))
        days = (last - first).days + 1
        if days <= 0:
            continue
        if residential:
            rate = rules.residential_rate
        else:
            rate = rules.current_year_rate if year == due.year else rules.earlier_years_rate
        total += principal * rate * days
    return total


@dataclass
class BillState:
    """One bill with the money that touched it, able to answer for any day."""

    bill: Bill
    charged: Decimal  # amount plus approved corrections
    waived: Decimal = ZERO
    applications: list[tuple[dt.date, Decimal, Decimal]] = field(default_factory=list)  # (day, principal, fee)

    def paid_principal(self, on: dt.date | None = None) -> Decimal:
        return sum((p for day, p, _f in self.applications if on is None or day <= on), ZERO)

    def paid_late_fee(self, on: dt.date | None = None) -> Decimal:
        return sum((f for day, _p, f in self.applications if on is None or day <= on), ZERO)

    def outstanding(self, on: dt.date | None = None) -> Decimal:
        return max(self.charged - self.paid_principal(on), ZERO)

    def accrued_late_fee(self, on: dt.date, rules: Rules) -> Decimal:
        """The bill's whole late fee from its due date to ``on`` (before waivers and fee payments)."""
        due = self.bill.due_date
        if on <= due:
            return ZERO
        paid_by_due = ZERO
        refunded = False
        for day, principal, _fee in self.applications:
            if day <= due:
                paid_by_due += principal
            refunded = refunded or principal < 0
        return self._accrued_after_due(on, rules, self.charged - paid_by_due, refunded)

    def _accrued_after_due(self, on: dt.date, rules: Rules, outstanding: Decimal, refunded: bool) -> Decimal:
        """``accrued_late_fee`` for ``on`` after the due date, given the principal outstanding at the due date and
        whether any application took principal back."""
        if outstanding <= 0 and not refunded:
            return ZERO  # paid in full by the due date (most bills): nothing accrues
        due = self.bill.due_date
        residential = self.bill.category == Category.RESIDENTIAL
        fee = Decimal(0)
        start = due + dt.timedelta(days=1)
        for day, principal, _fee in sorted(self.applications, key=lambda a: a[0]):
            if day <= due or day > on:
                continue
            fee += _fee_for_days(outstanding, start, day, due, residential, rules)
            outstanding -= principal
            start = max(start, day + dt.timedelta(days=1))
        fee += _fee_for_days(outstanding, start, on, due, residential, rules)
        fee = money(fee)
        if ZERO < fee < rules.minimum_fee:
            fee = rules.minimum_fee
        return fee

    def late_fee_owed(self, on: dt.date, rules: Rules) -> Decimal:
        return max(self.accrued_late_fee(on, rules) - self.paid_late_fee(on) - self.waived, ZERO)

    def owed_on(self, on: dt.date, rules: Rules) -> tuple[Decimal, Decimal]:
        """``(outstanding(on), late_fee_owed(on, rules))`` in one pass over the applications (the summary's)."""
        due = self.bill.due_date
        paid_principal = paid_fee = paid_by_due = ZERO
        refunded = False
        for day, principal, fee in self.applications:
            if day <= on:
                paid_principal += principal
                paid_fee += fee
            if day <= due:
                paid_by_due += principal
            refunded = refunded or principal < 0
        outstanding = self.charged - paid_principal
        accrued = ZERO if on <= due else self._accrued_after_due(on, rules, self.charged - paid_by_due, refunded)
        late_fee = accrued - paid_fee - self.waived
        return (outstanding if outstanding > 0 else ZERO), (late_fee if late_fee > 0 else ZERO)

    def status(self, on: dt.date | None = None) -> str:
        paid = self.paid_principal(on)
        if paid >= self.charged:
            return "paid"
        return "partial" if paid > 0 else "unpaid"


def bill_states(session: Session, account_id: int, bills: list[Bill] | None = None) -> list[BillState]:
    """States of the account's bills (or of ``bills``), oldest period first."""
    if bills is None:
        bills = list(session.scalars(select(Bill).where(Bill.account_id == account_id).order_by(Bill.period)))
    if not bills:
        return []
    ids = [b.id for b in bills]
    states = {b.id: BillState(bill=b, charged=b.amount) for b in bills}
    for bill_id, day, principal, fee in session.execute(
        select(
            PaymentApplication.bill_id,
            PaymentApplication.applied_on,
            PaymentApplication.principal,
            PaymentApplication.late_fee,
        ).where(PaymentApplication.bill_id.in_(ids))
    ):
        states[bill_id].applications.append((day, principal, fee))
    for adj_bill_id, kind, amount in session.execute(
        select(Adjustment.bill_id, Adjustment.kind, Adjustment.amount).where(
            Adjustment.bill_id.in_(ids), Adjustment.status == AdjustmentStatus.APPROVED
        )
    ):
        if adj_bill_id is None:
            continue
        if kind == AdjustmentKind.CORRECTION:
            states[adj_bill_id].charged += amount
        elif kind == AdjustmentKind.WAIVER:
            states[adj_bill_id].waived += amount
    return sorted(states.values(), key=lambda s: s.bill.period)


@dataclass(slots=True)
class _BillSnapshot:
    """What ``open_bill_states`` knows of a bill (cheaper than an ORM ``Bill``: payments are hot)."""

    id: int
    account_id: int
    period: str
    category: str
    due_date: dt.date
    amount: Decimal
    kwh: Decimal
    start_reading: Decimal | None = None
    end_reading: Decimal | None = None
    multiplier: Decimal | None = None


@functools.cache
def _open_bills_query() -> Any:
    """The account's bills with their applications, and its approved adjustments (built once: payments are hot)."""
    return ledger_rows_of(bindparam("account_id")).order_by("seq")


def ledger_rows_of(account_id: Any) -> Any:
    """The rows ``account_bill_states`` reads for the account ``account_id`` (a parameter, or a column of an
    enclosing statement that reads the account too): its bills with their applications and its approved
    adjustments, as one UNION ALL ordered by nothing (``seq`` gives the applications' order)."""
    money_cols = (
        Bill.amount,
        PaymentApplication.applied_on,
        PaymentApplication.principal,
        PaymentApplication.late_fee,
        Bill.kwh,
        Bill.start_reading,
        Bill.end_reading,
        Bill.multiplier,
    )
    bills = (
        select(
            literal("bill", String).label("src"),
            Bill.id.label("bill_id"),
            Bill.period,
            Bill.category,
            Bill.due_date,
            *money_cols,
            PaymentApplication.id.label("seq"),
        )
        .outerjoin(PaymentApplication, PaymentApplication.bill_id == Bill.id)
        .where(Bill.account_id == account_id)
    )
    adjustments = select(
        Adjustment.kind,
        Adjustment.bill_id,
        null().cast(Bill.period.type),
        null().cast(Bill.category.type),
        null().cast(Bill.due_date.type),
        Adjustment.amount,
        null().cast(PaymentApplication.applied_on.type),
        null().cast(PaymentApplication.principal.type),
        null().cast(PaymentApplication.late_fee.type),
        null().cast(Bill.kwh.type),
        null().cast(Bill.start_reading.type),
        null().cast(Bill.end_reading.type),
        null().cast(Bill.multiplier.type),
        Adjustment.id,
    ).where(
        Adjustment.account_id == account_id,
        Adjustment.status == AdjustmentStatus.APPROVED,
        Adjustment.bill_id.is_not(None),
    )
    return union_all(bills, adjustments)


def account_bill_states(session: Session, account_id: int) -> list[BillState]:
    """``bill_states`` of every bill of the account in one query, oldest period first.

    Plain rows are read (the account's bills with their applications, and its approved adjustments, in one
    UNION ALL driven by the account's indexes); the states' ``bill`` objects are plain snapshots (not ORM
    objects) with the bill's id, account_id, period, category, due date, amount and kWh.
    """
    return bill_states_of_rows(account_id, session.execute(_open_bills_query(), {"account_id": account_id}))


def bill_states_of_rows(account_id: int, rows: Any) -> list[BillState]:
    """``account_bill_states`` of rows read by ``ledger_rows_of`` (in ``seq`` order), oldest period first."""
    states, _adjusted = _states_of_rows(account_id, rows)
    return sorted(states.values(), key=lambda s: s.bill.period)


def _states_of_rows(account_id: int, result: Any) -> tuple[dict[int, BillState], set[int]]:
    rows: list[Any] = list(result)
    states: dict[int, BillState] = {}
    adjusted: set[int] = set()
    for src, bill_id, period, category, due_date, amount, day, principal, fee, kwh, start, end, mult, _seq in rows:
        if src != "bill":
            continue
        state = states.get(bill_id)
        if state is None:
            snapshot = _BillSnapshot(bill_id, account_id, period, category, due_date, amount, kwh, start, end, mult)
            state = states[bill_id] = BillState(bill=cast(Bill, snapshot), charged=amount)
        if day is not None:
            state.applications.append((day, principal, fee))
    for src, bill_id, _period, _category, _due_date, amount, *_rest in rows:
        if src == "bill" or bill_id not in states:
            continue
        adjusted.add(bill_id)
        if src == AdjustmentKind.CORRECTION:
            states[bill_id].charged += amount
        elif src == AdjustmentKind.WAIVER:
            states[bill_id].waived += amount
    return states, adjusted


def open_bill_states(session: Session, account_id: int, on: dt.date) -> list[BillState]:
    """``bill_states`` of the bills that money paid on ``on`` can still go to, oldest period first (one query).

    Left out are bills whose principal is fully paid by applications dated no later than ``on`` and that have no
    approved adjustment: money applied fee-first settles a bill's late fee before its last principal, so such a
    bill owes nothing on ``on`` (``plan_application`` would skip it). The rows are those of
    ``account_bill_states``.
    """
    states, adjusted = _states_of_rows(account_id, session.execute(_open_bills_query(), {"account_id": account_id}))
    return sorted(
        (
            s
            for s in states.values()
            if s.bill.amount > s.paid_principal()
            or s.bill.id in adjusted
            or any(d > on for d, _p, _f in s.applications)
        ),
        key=lambda s: s.bill.period,
    )


class Funded(Protocol):
    """What ``account_position`` reads of an account: an ORM ``Account`` or a read path's plain card."""

    @property
    def id(self) -> int: ...

    @property
    def balance(self) -> Decimal: ...


@dataclass(frozen=True)
class Position:
    balance: Decimal
    arrears: Decimal
    late_fee_today: Decimal


def account_position(
    session: Session, account: Funded, on: dt.date, rules: Rules | None = None, states: list[BillState] | None = None
) -> Position:
    """Balance (预存), unpaid principal and the late fee owed if paid on ``on`` (one query; none when the caller
    read the account's ``states`` already)."""
    rules = rules or current_rules()
    if states is None:
        states = account_bill_states(session, account.id)
    arrears = fee = ZERO
    for state in states:
        outstanding, late_fee = state.owed_on(on, rules)
        arrears += outstanding
        fee += late_fee
    return Position(balance=account.balance, arrears=arrears, late_fee_today=fee)


def plan_application(
    states: list[BillState], amount: Decimal, on: dt.date, rules: Rules
) -> tuple[list[tuple[BillState, Decimal, Decimal]], Decimal]:
    """How ``amount`` paid on ``on`` settles the bills, oldest first, late fee before principal.

    Returns ``[(state, principal, late_fee)]`` and the rest (balance). The states are updated in memory.
    """
    remaining = amount
    plan: list[tuple[BillState, Decimal, Decimal]] = []
    for state in sorted(states, key=lambda s: s.bill.period):
        if remaining <= 0:
            break
        fee = min(state.late_fee_owed(on, rules), remaining)
        remaining -= fee
        principal = min(state.outstanding(), remaining)
        remaining -= principal
        if fee > 0 or principal > 0:
            state.applications.append((on, principal, fee))
            plan.append((state, principal, fee))
    return plan, remaining


def apply_money(
    session: Session,
    account: Account,
    amount: Decimal,
    on: dt.date,
    rules: Rules,
    payment_id: int | None,
) -> tuple[list[PaymentApplication], Decimal]:
    """Apply ``amount`` to the oldest unpaid bills (late fee before principal); returns the rest.

    The caller holds the account's row lock.
    """
    plan, remaining = plan_application(open_bill_states(session, account.id, on), amount, on, rules)
    made: list[PaymentApplication] = []
    for state, principal, fee in plan:
        application = PaymentApplication(
            payment_id=payment_id, bill_id=state.bill.id, applied_on=on, principal=principal, late_fee=fee
        )
        session.add(application)
        made.append(application)
    session.flush()
    return made, remaining


def bill_states_by_account(session: Session, account_ids: list[int]) -> dict[int, list[BillState]]:
    """``bill_states`` for many accounts in a few queries (batch jobs)."""
    result: dict[int, list[BillState]] = {i: [] for i in account_ids}
    bills = list(session.scalars(select(Bill).where(Bill.account_id.in_(account_ids))))
    if not bills:
        return result
    for state in bill_states(session, 0, bills):
        result[state.bill.account_id].append(state)
    return result


def apply_balance(session: Session, account: Account, on: dt.date, rules: Rules) -> list[PaymentApplication]:
    """Use the account's balance for unpaid bills, drawing on the oldest payments with money left over."""
    if account.balance <= 0:
        return []
    leftovers: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for payment_id, amount in session.execute(
        select(Payment.id, Payment.amount).where(Payment.account_id == account.id).order_by(Payment.paid_at, Payment.id)
    ):
        leftovers[payment_id] = amount
    for used_id, principal, fee in session.execute(
        select(PaymentApplication.payment_id, PaymentApplication.principal, PaymentApplication.late_fee).where(
            PaymentApplication.payment_id.in_(list(leftovers))
        )
    ):
        if used_id is not None:
            leftovers[used_id] -= principal + fee
    available = account.balance
    made: list[PaymentApplication] = []
    for payment_id, left in leftovers.items():
        take = min(left, available)
        if take <= 0:
            continue
        applied, rest = apply_money(session, account, take, on, rules, payment_id)
        made.extend(applied)
        used = take - rest
        available -= used
        account.balance -= used
        if rest > 0 or available <= 0:
            break
    if available > 0:  # credit without a payment behind it (an approved correction)
        applied, rest = apply_money(session, account, available, on, rules, None)
        made.extend(applied)
        account.balance -= available - rest
    session.flush()
    return made
