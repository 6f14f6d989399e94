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
