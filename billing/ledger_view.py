"""Read helpers for the clerk's pages: an account's whole ledger, one payment's receipt, a payment in scope.

They only read, and they build on ``billing.services`` and ``billing.ledger``: amounts come from the same
functions the API uses, so the pages and the API never disagree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.accounts import visible_accounts
from billing.adjustments import adjustment_dict
from billing.ledger import account_position
from billing.models import Account, Adjustment, Bill, Payment
from billing.services import bills_for_year, payment_dict, payments_with_applications
from core.errors import NotFound
from core.identity import User

MAX_PAYMENTS_SHOWN = 200


def user_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    """Display names (name, else username) of the given user ids."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.name, User.username).where(User.id.in_(wanted)))
    return {uid: name or username for uid, name, username in rows}


def account_ledger(session: Session, account: Account, on: dt.date) -> dict[str, Any]:
    """Everything a clerk reads about an account the caller may see, as of ``on``.

    Keys: ``position`` (balance, arrears, late_fee_today), ``bills`` (newest first, as
    ``services.bills_for_year``), ``payments`` (newest first, each with ``applied``, ``unapplied``,
    ``recorded_by_name``, ``import_id``), ``adjustments`` (newest first, with requester and decider names).
    """
    payments = payments_with_applications(session, account, limit=MAX_PAYMENTS_SHOWN)
    extra = {
        pid: (recorded_by, import_id)
        for pid, recorded_by, import_id in session.execute(
            select(Payment.id, Payment.recorded_by, Payment.import_id).where(
                Payment.id.in_([p["id"] for p in payments])
            )
        )
    }
    adjustments = [
        adjustment_dict(a)
        for a in session.scalars(
            select(Adjustment).where(Adjustment.account_id == account.id).order_by(Adjustment.id.desc())
        )
    ]
    names = user_names(
        session,
        {e[0] for e in extra.values()}
        | {a["requested_by"] for a in adjustments}
        | {a["decided_by"] for a in adjustments},
    )
    for payment in payments:
        recorded_by, import_id = extra.get(payment["id"], (None, None))
        payment["recorded_by_name"] = names.get(recorded_by, "") if recorded_by else ""
        payment["import_id"] = import_id
    for adj in adjustments:
        adj["requested_by_name"] = names.get(adj["requested_by"], "")
        adj["decided_by_name"] = names.get(adj["decided_by"], "") if adj["decided_by"] else ""
    return {
        "position": account_position(session, account, on),
        "bills": bills_for_year(session, account, None, on),
        "payments": payments,
        "payments_truncated": len(payments) >= MAX_PAYMENTS_SHOWN,
        "adjustments": adjustments,
    }


def visible_payment(session: Session, user: User, payment_id: int) -> tuple[Payment, Account]:
    """The payment and its account when the account is in the user's scope; NotFound otherwise."""
    payment = session.get(Payment, payment_id)
    account = None
    if payment is not None:
        account = session.scalar(visible_accounts(user).where(Account.id == payment.account_id))
    if payment is None or account is None:
        raise NotFound("payment_not_found")
    return payment, account


def payment_receipt(session: Session, payment: Payment, account: Account) -> dict[str, Any]:
    """A receipt: the payment (``payment_dict`` shape: applied, unapplied), the account and holder, who
    recorded it and when."""
    bill_ids = {a.bill_id for a in payment.applications}
    periods: dict[int, str] = {}
    if bill_ids:
        periods = {
            bid: period for bid, period in session.execute(select(Bill.id, Bill.period).where(Bill.id.in_(bill_ids)))
        }
    data = payment_dict(payment, periods)
    names = user_names(session, {payment.recorded_by})
    data.update(
        account_no=account.account_no,
        holder_name=account.holder_name,
        address=account.address,
        unit_name=account.unit.name,
        recorded_by_name=names.get(payment.recorded_by, "") if payment.recorded_by else "",
        recorded_at=payment.recorded_at,
        import_id=payment.import_id,
    )
    return data
