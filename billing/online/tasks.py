"""Online payment's periodic work: settle the orders whose notice is late or never comes."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task

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
