"""Read-only statement queries for the customer's own view of an account (the portal's bills pages).

Like ``billing.services`` these take an ``Account`` the caller may already see and never write.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.models import Account, Bill


def bill_years(session: Session, account: Account) -> list[int]:
    """The calendar years in which the account has bills, newest first (empty when it has none)."""
    years = session.scalars(select(func.substr(Bill.period, 1, 4)).where(Bill.account_id == account.id).distinct())
    return sorted({int(y) for y in years}, reverse=True)


def latest_period(session: Session, account: Account) -> str | None:
    """The period (YYYY-MM) of the account's newest bill, or None."""
    return session.scalar(select(func.max(Bill.period)).where(Bill.account_id == account.id))
