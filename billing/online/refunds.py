"""Refunds of online payments back through the provider that took them.

Rule: when a refund of an account's balance is approved (the existing two-person approval, ``billing.adjustments``),
it goes back through the providers of the account's online payments, newest payment first, as far as their
refundable amounts cover it (what was paid less what was already refunded or is being refunded); whatever they
do not cover is paid out at the counter as before. The provider calls happen after the approval commits (outbox
topic ``billing.online_refunds_approved``, task ``billing.send_online_refunds``); a refund counts as done only when
the provider confirms it (``confirmed``); one the provider refuses is ``failed`` and left to a clerk, one it could
not be asked about, or that it is still processing (WeChat Pay answers ``PROCESSING`` first), is asked again by
the periodic settle task. The provider's refund number (``refund_no``) makes
a repeated request refund once. A confirmed refund of an invoiced payment issues its red invoice
(``billing.invoicing.services.issue_red_invoice``).
"""

from __future__ import annotations

import logging
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing import topics
from billing.models import Account, Adjustment
from core import outbox
from core.db import utcnow

from .models import OrderStatus, PaymentOrder, PaymentRefund
from .providers import Provider, ProviderUnavailable

log = logging.getLogger(__name__)

REFUNDABLE = (OrderStatus.PAID, OrderStatus.PARTLY_REFUNDED)


def refund_through_providers(session: Session, account: Account, adjustment: Adjustment) -> list[PaymentRefund]:
    """Plan the approved refund ``adjustment`` over the account's online payments (in its transaction)."""
    taken = (
        select(PaymentRefund.order_id, func.sum(PaymentRefund.amount).label("amount"))
        .where(PaymentRefund.status != "failed")
        .group_by(PaymentRefund.order_id)
        .subquery()
    )
    rows = session.execute(
        select(PaymentOrder, func.coalesce(taken.c.amount, 0))
        .outerjoin(taken, taken.c.order_id == PaymentOrder.id)
        .where(PaymentOrder.account_id == account.id, PaymentOrder.status.in_([s.value for s in REFUNDABLE]))
        .order_by(PaymentOrder.paid_at.desc(), PaymentOrder.id.desc())
    ).all()
    remaining = adjustment.amount
    planned: list[PaymentRefund] = []
    for order, already in rows:
        refundable = (order.paid_amount or Decimal(0)) - Decimal(already)
        part = min(refundable, remaining)
        if part <= 0:
            continue
        planned.append(
            PaymentRefund(
                refund_no=f"RF{adjustment.id:010d}{order.id:010d}",
                order_id=order.id,
                adjustment_id=adjustment.id,
                amount=part,
                status="requested",
            )
        )
        remaining -= part
        if remaining <= 0:
            break
    if planned:
        session.add_all(planned)
        session.flush()
        outbox.put(session, topics.ONLINE_REFUNDS_APPROVED, {"refund_ids": [r.id for r in planned]})
    return planned


def send_refund(session: Session, provider: Provider, refund: PaymentRefund) -> str:
    """Ask the provider for one requested refund and record its answer (the caller commits)."""
    if refund.status != "requested":
        return refund.status
    order = session.scalar(select(PaymentOrder).where(PaymentOrder.id == refund.order_id).with_for_update())
    assert order is not None
    refund.tries += 1
    try:
        result = provider.refund(order.order_no, refund.amount, refund.refund_no)
    except ProviderUnavailable as exc:
        refund.message = str(exc)[:255]
        log.warning("online refund %s: provider unreachable: %s", refund.refund_no, exc)
        return refund.status
    if result.pending:  # accepted, still being processed (WeChat Pay): the minute task asks again
        refund.message = result.message[:255]
        log.info("online refund %s: %s is processing it", refund.refund_no, provider.name)
        return refund.status
    if not result.ok:
        refund.status = "failed"
        refund.message = result.message[:255]
        log.warning("online refund %s refused by %s: %s", refund.refund_no, provider.name, result.message)
        return refund.status
    refund.status = "confirmed"
    refund.confirmed_at = utcnow()
    if order.payment_id is not None:  # an invoiced payment refunded: its red invoice, in the same transaction
        from billing.invoicing.services import issue_red_invoice

        issue_red_invoice(session, order.payment_id, refund.amount, source=f"refund:{refund.id}")
    order.refunded_amount += refund.amount
    order.status = (
        OrderStatus.REFUNDED if order.refunded_amount >= (order.paid_amount or 0) else OrderStatus.PARTLY_REFUNDED
    )
    order.updated_at = utcnow()
    return refund.status
