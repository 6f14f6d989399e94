"""Online payment's periodic work: settle the orders whose notice is late or never comes."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from sqlalchemy import select

from core.db import db
from core.locks import run_alone

from . import provider
from .services import open_orders, settle_order

log = logging.getLogger(__name__)

NOTICE_GRACE = dt.timedelta(minutes=1)  # a notice normally comes within seconds: ask only after this


@shared_task(name="billing.settle_payment_orders", acks_late=True)
@run_alone("billing.settle_payment_orders")
def settle_payment_orders(older_than_seconds: float = NOTICE_GRACE.total_seconds()) -> dict[str, int]:
    """Ask the provider about every open order older than the grace period (celery beat, every minute): paid
    ones are recorded, expired unpaid ones closed. Each order is its own transaction."""
    counts: dict[str, int] = {}
    session = db.new_session()
    try:
        found = open_orders(session, dt.timedelta(seconds=older_than_seconds))
        session.rollback()
        for order_no, name in found:
            status = settle_order(session, provider(name), order_no)
            session.commit()
            counts[status] = counts.get(status, 0) + 1
        # refunds whose provider could not be reached are asked for again
        from .models import PaymentRefund

        waiting = list(
            session.scalars(
                select(PaymentRefund.id).where(PaymentRefund.status == "requested", PaymentRefund.tries < 20).limit(100)
            )
        )
        session.rollback()
        if waiting:
            send_online_refunds.run(refund_ids=waiting)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    return counts


@shared_task(name="billing.reconcile_payment_statements", acks_late=True)
@run_alone("billing.reconcile_payment_statements")
def reconcile_payment_statements(day: str | None = None) -> dict[str, int]:
    """Match each offered provider's statement of ``day`` (default: yesterday) against our orders (celery beat,
    every morning). A provider that cannot be reached is tried again at the next run."""
    from core import clock

    from . import offered
    from .providers import ProviderUnavailable
    from .services import reconcile

    chosen = dt.date.fromisoformat(day) if day else clock.today_local() - dt.timedelta(days=1)
    found: dict[str, int] = {}
    session = db.new_session()
    try:
        for name in offered():
            try:
                report = reconcile(session, provider(name), chosen)
            except ProviderUnavailable as exc:
                session.rollback()
                log.warning("reconciliation of %s for %s failed: %s", name, chosen, exc)
                continue
            found[name] = report.missing_here + report.missing_there + report.amount_differs
            session.commit()
    finally:
        session.close()
    return found


@shared_task(name="billing.send_online_refunds", acks_late=True)
def send_online_refunds(refund_ids: list[int]) -> dict[str, int]:
    """Send approved refunds to their providers (each its own transaction); a refund already answered is left."""
    from .models import PaymentOrder, PaymentRefund
    from .refunds import send_refund

    counts: dict[str, int] = {}
    session = db.new_session()
    try:
        for refund_id in refund_ids:
            refund = session.get(PaymentRefund, int(refund_id))
            order = session.get(PaymentOrder, refund.order_id) if refund is not None else None
            if refund is None or order is None:
                continue
            status = send_refund(session, provider(order.provider), refund)
            session.commit()
            counts[status] = counts.get(status, 0) + 1
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    return counts


def refunds_approved(payloads: list[dict[str, list[int]]]) -> None:
    """Outbox subscriber: send the batch's refunds."""
    ids = [int(i) for p in payloads for i in p.get("refund_ids", [])]
    if ids:
        send_online_refunds.apply_async(kwargs={"refund_ids": ids})
