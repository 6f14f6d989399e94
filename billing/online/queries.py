"""Reading payment orders: one order or an account's orders, always within the caller's scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from billing.models import Account
from core.errors import NotFound
from core.identity import User
from core.scope import account_in_scope, sees_everything

from .models import PaymentOrder, PaymentReconciliation, StatementItem


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


def _money(value: Any) -> str:
    return "" if value is None else f"{value:.2f}"


def reconciliation_items(session: Session, report: PaymentReconciliation, user: User) -> list[dict[str, Any]]:
    """The trades of a reconciliation that did not match and that the user may see, in the order they were found,
    with the account number where the order is ours: ``{kind, order_no, trade_no, ours, theirs, recorded,
    account_no}``. An item of an account is seen by the staff whose unit subtree holds the account; an item of no
    order of ours (no account, so no unit) only by staff of the root unit."""
    visible = account_in_scope(user, StatementItem.account_id)
    if sees_everything(user):
        visible = or_(visible, StatementItem.account_id.is_(None))
    rows = session.execute(
        select(StatementItem, Account.account_no)
        .outerjoin(Account, Account.id == StatementItem.account_id)
        .where(StatementItem.reconciliation_id == report.id, visible)
        .order_by(StatementItem.id)
    ).all()
    return [
        {
            "kind": item.kind,
            "order_no": item.order_no,
            "trade_no": item.trade_no,
            "ours": _money(item.ours),
            "theirs": _money(item.theirs),
            "recorded": "yes" if item.recorded else "",
            "account_no": account_no or "",
        }
        for item, account_no in rows
    ]


def recent_reconciliations(session: Session, limit: int = 30) -> list[PaymentReconciliation]:
    return list(
        session.scalars(
            select(PaymentReconciliation)
            .order_by(PaymentReconciliation.day.desc(), PaymentReconciliation.provider)
            .limit(limit)
        )
    )
