"""Reading payment orders: one order or an account's orders, always within the caller's scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.models import Account
from core.errors import NotFound
from core.identity import User
from core.scope import account_in_scope

from .models import PaymentOrder, PaymentReconciliation


def visible_order(session: Session, user: User, order_no: str) -> PaymentOrder:
    """The order if the user may see its account; NotFound otherwise (never reveal that it exists)."""
    order = session.scalar(
        select(PaymentOrder).where(PaymentOrder.order_no == order_no, account_in_scope(user, PaymentOrder.account_id))
    )
    if order is None:
        raise NotFound("payment_order_not_found")
    return order


def account_orders(session: Session, account_id: int, limit: int = 50) -> list[PaymentOrder]:
    """The account's orders, newest first (the caller has checked the account is visible)."""
    stmt = (
        select(PaymentOrder)
        .where(PaymentOrder.account_id == account_id)
        .order_by(PaymentOrder.created_at.desc(), PaymentOrder.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def order_dict(session: Session, order: PaymentOrder) -> dict[str, Any]:
    account = session.get(Account, order.account_id)
    return {
        "order_no": order.order_no,
        "account_no": account.account_no if account else "",
        "amount": order.amount,
        "provider": order.provider,
        "status": order.status,
        "created_at": order.created_at,
        "expires_at": order.expires_at,
        "trade_no": order.trade_no,
        "paid_amount": order.paid_amount,
        "paid_at": order.paid_at,
        "payment_id": order.payment_id,
    }


def find_reconciliation(session: Session, provider: str, day: dt.date) -> PaymentReconciliation:
    """The stored reconciliation of the provider's day; NotFound when that day has not been reconciled."""
    report = session.scalar(
        select(PaymentReconciliation).where(
            PaymentReconciliation.provider == provider, PaymentReconciliation.day == day
        )
    )
    if report is None:
        raise NotFound("reconciliation_not_found")
    return report
