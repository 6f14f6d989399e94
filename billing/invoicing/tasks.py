"""E-invoice work: issue after each payment (outbox), monthly on the 1st (beat), announce e-bills to e-mail."""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task

from core import clock
from core.db import db
from core.locks import run_alone

from .services import announce_bills, issue_for_payments, issue_monthly


def _in_session(work: Any) -> Any:
    session = db.new_session()
    try:
        result = work(session)
        session.commit()
        return result
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@shared_task(name="billing.issue_invoices", acks_late=True)
def issue_invoices(payment_ids: list[int]) -> dict[str, int]:
    """One invoice per payment for the accounts that want one per payment (safe to run twice)."""
    return {"issued": _in_session(lambda s: len(issue_for_payments(s, payment_ids)))}


@shared_task(name="billing.issue_monthly_invoices", acks_late=True)
@run_alone("billing.issue_monthly_invoices")
def issue_monthly_invoices(period: str | None = None) -> dict[str, int]:
    """The monthly invoices of ``period`` (default: last month; celery beat on the 1st)."""
    if period is None:
        period = (clock.today_local().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    return {"issued": _in_session(lambda s: len(issue_monthly(s, period)))}


@shared_task(name="billing.announce_ebills", acks_late=True)
def announce_ebills(bill_ids: list[int]) -> dict[str, int]:
    return {"announced": _in_session(lambda s: announce_bills(s, bill_ids))}


def payments_recorded(payloads: list[dict[str, Any]]) -> None:
    """Outbox subscriber of ``PAYMENT_RECORDED``: invoice the batch."""
    issue_invoices.apply_async(([int(p["payment_id"]) for p in payloads],))


def bills_issued(payloads: list[dict[str, Any]]) -> None:
    """Outbox subscriber of ``BILLS_ISSUED``: announce the subscribed accounts' e-bills."""
    announce_ebills.apply_async(([int(i) for p in payloads for i in p["bill_ids"]],))
