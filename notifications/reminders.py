"""Due-date and arrears reminders, run daily by celery beat (at ``REMINDER_HOUR``, local time).

A reminder is a notice like any other (one per bill, or one per account and week for arrears), made through
``notify_event`` with a ``dedupe_key``, so running the job twice on a day reminds nobody twice.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from billing.ledger import bill_states
from billing.models import Account, Adjustment, Bill, PaymentApplication
from billing.rules import current_rules

from .models import NoticeKind

CHUNK = 1000
ARREARS_LOOKBACK = dt.timedelta(days=3 * 366)


def _maybe_unpaid(stmt: Select[Any]) -> Select[Any]:
    """Cheap SQL pre-filter: bills whose charge (with approved corrections) exceeds the principal paid."""
    paid = (
        select(func.coalesce(func.sum(PaymentApplication.principal), 0))
        .where(PaymentApplication.bill_id == Bill.id)
        .scalar_subquery()
    )
    corrected = (
        select(func.coalesce(func.sum(Adjustment.amount), 0))
        .where(Adjustment.bill_id == Bill.id, Adjustment.kind == "correction", Adjustment.status == "approved")
        .scalar_subquery()
    )
    return stmt.where(Bill.amount + corrected > paid)


def _chunks(session: Session, stmt: Select[Any]) -> Iterator[list[Bill]]:
    bills = list(session.scalars(stmt.order_by(Bill.id)))
    for start in range(0, len(bills), CHUNK):
        yield bills[start : start + CHUNK]


def _account_numbers(session: Session, account_ids: set[int]) -> dict[int, str]:
    rows = session.execute(select(Account.id, Account.account_no).where(Account.id.in_(account_ids)))
    return {row.id: row.account_no for row in rows}


def due_reminders(session: Session, on: dt.date, days_before: int) -> list[dict[str, Any]]:
    """One reminder per bill falling due ``days_before`` days after ``on`` that still owes money."""
    due = on + dt.timedelta(days=days_before)
    events = []
    for chunk in _chunks(session, _maybe_unpaid(select(Bill).where(Bill.due_date == due))):
        numbers = _account_numbers(session, {b.account_id for b in chunk})
        for state in bill_states(session, 0, chunk):
            owed = state.outstanding(on)
            if owed <= 0:
                continue
            bill, account_no = state.bill, numbers[state.bill.account_id]
            events.append(
                {
                    "kind": NoticeKind.DUE_REMINDER.value,
                    "dedupe_key": f"due:{bill.id}:{bill.due_date.isoformat()}",
                    "title": "电费缴费提醒",
                    "body": f"户号 {account_no} {bill.period} 电费尚有 ¥{owed:,.2f} 未缴，将于 "
                    f"{bill.due_date.isoformat()} 到期，请按时缴纳，逾期将产生电费违约金。",
                    "account_nos": [account_no],
                    "data": {
                        "account_no": account_no,
                        "period": bill.period,
                        "amount": str(owed),
                        "due_date": bill.due_date.isoformat(),
                    },
                }
            )
    return events


def arrears_reminders(session: Session, on: dt.date) -> list[dict[str, Any]]:
    """One reminder per account with overdue money, at most once per ISO week."""
    rules = current_rules()
    stmt = _maybe_unpaid(select(Bill).where(Bill.due_date < on, Bill.due_date >= on - ARREARS_LOOKBACK))
    owed: dict[int, Decimal] = defaultdict(Decimal)
    fees: dict[int, Decimal] = defaultdict(Decimal)
    periods: dict[int, list[str]] = defaultdict(list)
    for chunk in _chunks(session, stmt):
        for state in bill_states(session, 0, chunk):
            outstanding = state.outstanding(on)
            if outstanding <= 0:
                continue
            account_id = state.bill.account_id
            owed[account_id] += outstanding
            fees[account_id] += state.late_fee_owed(on, rules)
            periods[account_id].append(state.bill.period)
    numbers = _account_numbers(session, set(owed)) if owed else {}
    year, week, _ = on.isocalendar()
    events = []
    for account_id, total in sorted(owed.items()):
        account_no = numbers[account_id]
        months = sorted(periods[account_id])
        events.append(
            {
                "kind": NoticeKind.ARREARS_REMINDER.value,
                "dedupe_key": f"arrears:{account_no}:{year}-W{week:02d}",
                "title": "欠费提醒",
                "body": f"户号 {account_no} 欠电费 ¥{total:,.2f}（{'、'.join(months)}），截至 {on.isoformat()} "
                f"电费违约金 ¥{fees[account_id]:,.2f}。请尽快缴纳，以免影响正常用电。",
                "account_nos": [account_no],
                "data": {
                    "account_no": account_no,
                    "arrears": str(total),
                    "late_fee": str(fees[account_id]),
                    "periods": months,
                },
            }
        )
    return events
