"""Celery tasks: fan a notice out in batches, deliver a batch, resend deferred deliveries, make event notices.

All tasks take ids and plain values, are idempotent (unique rows, updates of pending rows only) and ack late,
so a task redelivered after its worker died repeats no message. Failed sends are retried with exponential
backoff; what still fails at the last attempt is dead-lettered.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import shared_task
from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core import clock
from core.db import db, utcnow
from core.locks import run_alone

from . import runtime
from .delivery import due_deliveries, plan_deliveries, send_deliveries, store_messages
from .events import bill_notice, payment_notice
from .interfaces import DeliveryError, Outgoing
from .models import Delivery, DeliveryStatus, Message, Notice
from .services import create_event_notice, resolve_recipients

log = logging.getLogger(__name__)


@contextmanager
def _session() -> Iterator[Session]:
    # a session of the task's own: eager runs may happen inside another session's after-commit hook
    session = db.new_session()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _backoff(retries: int) -> float:
    channels = runtime.current()
    return float(min(channels.retry_max_seconds, channels.retry_base_seconds * (2**retries)))


# Database trouble is retried with backoff; acks_late keeps the message until the task has finished.
RETRIED: dict[str, Any] = {
    "acks_late": True,
    "autoretry_for": (SQLAlchemyError,),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": 8,
}


@shared_task(
    name="notifications.fan_out_notice",
    **RETRIED,
)
def fan_out_notice(notice_id: int) -> dict[str, int]:
    """Resolve the notice's recipients and queue one ``deliver_batch`` per chunk of users."""
    with _session() as session:
        notice = session.get(Notice, notice_id)
        if notice is None:
            return {"batches": 0, "recipients": 0}
        recipients = resolve_recipients(session, notice)
        users = recipients.user_ids
        notice.recipients = len(users)
        notice.accounts = len(recipients.account_ids) or notice.accounts
        session.commit()
    size = runtime.current().batch_size
    batches = [users[i : i + size] for i in range(0, len(users), size)]
    for batch in batches:
        deliver_batch.delay(notice_id, batch)
    with _session() as session:
        session.execute(update(Notice).where(Notice.id == notice_id).values(fanned_out_at=utcnow()))
        session.commit()
    return {"batches": len(batches), "recipients": len(users)}


@shared_task(
    name="notifications.deliver_batch",
    acks_late=True,
    bind=True,
    max_retries=None,
    autoretry_for=(SQLAlchemyError,),
    retry_backoff=True,
    retry_backoff_max=600,
)
def deliver_batch(self: Any, notice_id: int, user_ids: list[int]) -> dict[str, int]:
    """Inbox rows and delivery rows for these users (bulk, ignoring what exists), then send what is pending."""
    channels = runtime.current()
    with _session() as session:
        if session.get(Notice, notice_id) is None:
            return {"sent": 0}
        store_messages(session, notice_id, user_ids)
        plan_deliveries(session, notice_id, user_ids, utcnow())
        session.commit()
        final = self.request.retries + 1 >= channels.max_attempts
        due = due_deliveries(session, notice_id, user_ids)
        report = send_deliveries(session, due, channels, final_attempt=final)
    if report.retry:
        raise self.retry(countdown=_backoff(self.request.retries))
    return {"sent": report.sent, "failed": report.failed, "dropped": report.dropped}


def _send_and_reschedule(session: Session, ids: list[int]) -> dict[str, int]:
    """Send these (pending) deliveries; what fails for now waits again, with backoff, for the next sweep."""
    channels = runtime.current()
    report = send_deliveries(session, ids, channels)
    for delivery in session.scalars(select(Delivery).where(Delivery.id.in_(report.retry))):
        delivery.status = DeliveryStatus.DEFERRED
        delivery.not_before = utcnow() + dt.timedelta(seconds=_backoff(delivery.attempts))
    session.commit()
    return {"sent": report.sent, "failed": report.failed, "retry": len(report.retry)}


@shared_task(name="notifications.send_deferred_deliveries", acks_late=True)
@run_alone("notifications.send_deferred_deliveries")
def send_deferred_deliveries(limit: int = 5000) -> dict[str, int]:
    """Release deliveries whose quiet hours (or retry wait) are over and send them (celery beat, every minute)."""
    now = utcnow()
    with _session() as session:
        ids = list(
            session.scalars(
                select(Delivery.id)
                .where(Delivery.status == DeliveryStatus.DEFERRED, Delivery.not_before <= now)
                .order_by(Delivery.id)
                .limit(limit)
            )
        )
        if not ids:
            return {"released": 0, "sent": 0}
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.status == DeliveryStatus.DEFERRED)
            .values(status=DeliveryStatus.PENDING, updated_at=now)
        )
        session.commit()
        result = _send_and_reschedule(session, ids)
    return {"released": len(ids), "sent": result["sent"]}


STALLED_AFTER = dt.timedelta(hours=2)  # longer than the longest retry backoff (an hour)


@shared_task(name="notifications.resume_stalled_work", acks_late=True)
@run_alone("notifications.resume_stalled_work")
def resume_stalled_work(limit: int = 5000) -> dict[str, int]:
    """The safety net (celery beat): notices whose batches were lost get fanned out again (idempotent), and
    deliveries left pending by a lost task are sent."""
    now = utcnow()
    with _session() as session:
        recent = select(Notice.id, Notice.recipients).where(
            Notice.fanned_out_at.isnot(None),
            Notice.fanned_out_at < now - STALLED_AFTER,
            Notice.created_at > now - dt.timedelta(days=3),
        )
        in_recent = Message.notice_id.in_(recent.with_only_columns(Notice.id))
        counts = dict(
            session.execute(
                select(Message.notice_id, func.count()).where(in_recent).group_by(Message.notice_id)
            ).all()
        )  # fmt: skip
        short = [nid for nid, recipients in session.execute(recent).all() if counts.get(nid, 0) < recipients]
        stale = list(
            session.scalars(
                select(Delivery.id)
                .where(Delivery.status == DeliveryStatus.PENDING, Delivery.updated_at < now - STALLED_AFTER)
                .order_by(Delivery.id)
                .limit(limit)
            )
        )
        result = _send_and_reschedule(session, stale) if stale else {"sent": 0}
    for notice_id in short:
        fan_out_notice.delay(notice_id)
    return {"notices_resumed": len(short), "deliveries_resent": len(stale), "sent": result["sent"]}


@shared_task(
    name="notifications.notify_event",
    **RETRIED,
)
def notify_event(
    kind: str,
    dedupe_key: str,
    title: str,
    body: str,
    account_nos: list[str] | None = None,
    user_ids: list[int] | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, int]:
    """One notice per event (``dedupe_key``), delivered to the account's customers or to the given users."""
    with _session() as session:
        notice = create_event_notice(
            session,
            kind=kind,
            title=title,
            body=body,
            dedupe_key=dedupe_key,
            account_nos=account_nos,
            user_ids=user_ids,
            data=data,
        )
        if notice is None:
            # already known: finish its fan-out only if a crash stopped it before the batches were queued
            notice = session.scalar(select(Notice).where(Notice.dedupe_key == dedupe_key))
            if notice is None or notice.fanned_out_at is not None:
                return {"recipients": 0}
        session.commit()
        notice_id, recipients = notice.id, notice.recipients
    fan_out_notice.delay(notice_id)
    return {"notice_id": notice_id, "recipients": recipients}


def _notify_each(events: list[dict[str, Any]]) -> int:
    """``notify_event`` for each event, in one commit; the fan-outs are queued after it. Returns how many."""
    to_fan_out: list[int] = []
    with _session() as session:
        for event in events:
            notice = create_event_notice(session, **event)
            if notice is None:
                # already known: finish its fan-out only if a crash stopped it before the batches were queued
                notice = session.scalar(select(Notice).where(Notice.dedupe_key == event["dedupe_key"]))
                if notice is None or notice.fanned_out_at is not None:
                    continue
            session.flush()
            to_fan_out.append(notice.id)
        session.commit()
    for notice_id in to_fan_out:
        fan_out_notice.delay(notice_id)
    return len(to_fan_out)


@shared_task(
    name="notifications.notify_bills_issued",
    **RETRIED,
)
def notify_bills_issued(bill_ids: list[int]) -> dict[str, int]:
    """``notify_event`` for each bill announced (``BILLS_ISSUED``), read from the committed bills (one commit)."""
    from billing.models import Account, Bill

    with _session() as session:
        rows = session.execute(
            select(Bill.id.label("bill_id"), Account.account_no, Bill.period, Bill.amount, Bill.due_date)
            .join(Account, Account.id == Bill.account_id)
            .where(Bill.id.in_(bill_ids))
            .order_by(Bill.id)
        )
        events = [bill_notice(dict(row)) for row in rows.mappings().all()]
    return {"notices": _notify_each(events)}


@shared_task(
    name="notifications.notify_payments_received",
    **RETRIED,
)
def notify_payments_received(payment_ids: list[int]) -> dict[str, int]:
    """A "payment received" notice for each payment (read from the committed payments), in one commit."""
    from billing.models import Account, Payment

    with _session() as session:
        rows = session.execute(
            select(Payment.id.label("payment_id"), Account.account_no, Payment.amount, Payment.channel)
            .join(Account, Account.id == Payment.account_id)
            .where(Payment.id.in_(payment_ids))
            .order_by(Payment.id)
        )
        events = [payment_notice(dict(row)) for row in rows.mappings().all()]
    return {"notices": _notify_each(events)}


def _reminder_day(on: str | None) -> dt.date:
    return dt.date.fromisoformat(on) if on else clock.today_local()


@shared_task(name="notifications.send_due_reminders", acks_late=True)
@run_alone("notifications.send_due_reminders")
def send_due_reminders(on: str | None = None, days_before: int | None = None) -> dict[str, int]:
    """Remind the customers of bills falling due soon (celery beat, daily); one reminder per bill ever."""
    from .reminders import due_reminders

    days = runtime.current().due_reminder_days if days_before is None else days_before
    with _session() as session:
        events = due_reminders(session, _reminder_day(on), days)
    for event in events:
        notify_event.delay(**event)
    return {"reminders": len(events)}


@shared_task(name="notifications.send_arrears_reminders", acks_late=True)
@run_alone("notifications.send_arrears_reminders")
def send_arrears_reminders(on: str | None = None) -> dict[str, int]:
    """Remind the customers of accounts with overdue bills (celery beat, daily); once a week per account."""
    from .reminders import arrears_reminders

    with _session() as session:
        events = arrears_reminders(session, _reminder_day(on))
    for event in events:
        notify_event.delay(**event)
    return {"reminders": len(events)}


# a passer-by's follow-up page (the portal's route for a ticket's token)
FOLLOW_PATH = "/service/follow/{token}"


@shared_task(name="notifications.mail_ticket_follower", acks_late=True, bind=True, max_retries=8)
def mail_ticket_follower(self: Any, dedupe_key: str, to: str, title: str, body: str, token: str | None = None) -> bool:
    """An e-mail to a passer-by who reported a fault without an account, at a step of their ticket: once per
    event (``dedupe_key``, kept as a notice with no recipients), the follow-up link in the first one. A refused
    address is given up (logged); a server that is down is tried again later. True when sent now."""
    channels = runtime.current()
    with _session() as session:
        if session.scalar(select(Notice.id).where(Notice.dedupe_key == dedupe_key)) is not None:
            return False
        if token:
            body = f"{body}\n\n查看处理进度：{channels.app_url}{FOLLOW_PATH.format(token=token)}"
        notice = Notice(kind="ticket_update", title=title[:200], body=body, dedupe_key=dedupe_key, data={})
        notice.fanned_out_at = utcnow()
        session.add(notice)
        session.flush()
        mailer = channels.mailer_factory()
        try:
            mailer.send(to, Outgoing(message_id=notice.id, title=title, body=body, url="/"))
        except DeliveryError as exc:
            if not exc.permanent:
                session.rollback()
                raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
            log.warning("ticket follower's mail given up: %s", exc)
        finally:
            mailer.close()
        session.commit()
    return True
