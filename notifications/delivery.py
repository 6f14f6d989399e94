"""Fan-out and delivery: inbox rows in bulk, one delivery row per channel, sends that can run twice.

Every step is an insert that ignores what already exists or an update of rows still pending, so a task that
is retried, or redelivered after its worker died, neither loses nor duplicates a message.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from core import clock
from core.db import utcnow
from core.identity import Role, User

from .interfaces import Attachment, DeliveryError, Outgoing, PushTarget
from .models import Channel, DeadLetter, Delivery, DeliveryStatus, Message, Notice, Preference, PushSubscription
from .runtime import Channels

QUIET_CHANNELS = {Channel.PUSH, Channel.SMS}  # e-mail waits in the mailbox anyway
_COMMIT_EVERY = 25


def insert_ignore(session: Session, table: Table, rows: list[dict[str, Any]], keys: list[str]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING in one statement (PostgreSQL and SQLite)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(table).on_conflict_do_nothing(index_elements=keys), rows)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(table).on_conflict_do_nothing(index_elements=keys), rows)


def quiet_until(pref: Preference | None, now: dt.datetime) -> dt.datetime | None:
    """The end of the user's quiet hours if ``now`` falls inside them, else None."""
    if pref is None or pref.quiet_start is None or pref.quiet_end is None or pref.quiet_start == pref.quiet_end:
        return None
    local = clock.local(now)
    start, end, t = pref.quiet_start, pref.quiet_end, local.timetz().replace(tzinfo=None)
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_day = local.date() if t < end else local.date() + dt.timedelta(days=1)
    return clock.at_local(end_day, end).astimezone(dt.UTC)


def sms_phone(user: User, pref: Preference | None) -> str | None:
    if pref is not None and pref.sms_phone:
        return pref.sms_phone
    if user.role == Role.CUSTOMER and user.username.isdigit():
        return user.username  # customers sign in with their phone number
    return None


def store_messages(session: Session, notice_id: int, user_ids: Sequence[int]) -> None:
    now = utcnow()
    insert_ignore(
        session,
        Message.__table__,  # type: ignore[arg-type]
        [{"notice_id": notice_id, "user_id": uid, "created_at": now} for uid in user_ids],
        ["notice_id", "user_id"],
    )


def plan_deliveries(session: Session, notice_id: int, user_ids: Sequence[int], now: dt.datetime) -> None:
    """One delivery row per message and enabled channel that has somewhere to send to."""
    messages = session.execute(
        select(Message.id, Message.user_id).where(Message.notice_id == notice_id, Message.user_id.in_(user_ids))
    ).all()
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))}
    prefs = {p.user_id: p for p in session.scalars(select(Preference).where(Preference.user_id.in_(user_ids)))}
    with_push = set(session.scalars(select(PushSubscription.user_id).where(PushSubscription.user_id.in_(user_ids))))
    rows: list[dict[str, Any]] = []
    for message_id, user_id in messages:
        user, pref = users.get(user_id), prefs.get(user_id)
        if user is None or not user.active:
            continue
        wanted = []
        if user_id in with_push and (pref is None or pref.push):
            wanted.append(Channel.PUSH)
        if user.email and (pref is None or pref.email):
            wanted.append(Channel.EMAIL)
        if pref is not None and pref.sms and sms_phone(user, pref):
            wanted.append(Channel.SMS)
        quiet = quiet_until(pref, now)
        for channel in wanted:
            deferred = quiet is not None and channel in QUIET_CHANNELS
            rows.append(
                {
                    "message_id": message_id,
                    "channel": channel.value,
                    "status": (DeliveryStatus.DEFERRED if deferred else DeliveryStatus.PENDING).value,
                    "not_before": quiet if deferred else None,
                    "attempts": 0,
                    "last_error": "",
                    "updated_at": now,
                }
            )
    insert_ignore(session, Delivery.__table__, rows, ["message_id", "channel"])  # type: ignore[arg-type]


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    retry: list[int] = field(default_factory=list)  # delivery ids that failed for now


def due_deliveries(session: Session, notice_id: int, user_ids: Sequence[int]) -> list[int]:
    stmt = (
        select(Delivery.id)
        .join(Message, Message.id == Delivery.message_id)
        .where(
            Message.notice_id == notice_id,
            Message.user_id.in_(user_ids),
            Delivery.status == DeliveryStatus.PENDING,
        )
        .order_by(Delivery.id)
    )
    return list(session.scalars(stmt))


def _outgoing(notice: Notice, message_id: int, channels: Channels) -> Outgoing:
    ttl = 86_400
    if notice.starts_at is not None:
        ttl = max(3600, min(28 * 86_400, int((notice.starts_at - utcnow()).total_seconds())))
    return Outgoing(
        message_id=message_id,
        title=notice.title,
        body=notice.body,
        url=f"{channels.app_url}/notifications#m{message_id}",
        ttl_seconds=ttl,
    )


def send_deliveries(
    session: Session, delivery_ids: Sequence[int], channels: Channels, *, final_attempt: bool = False
) -> SendReport:
    """Send each pending delivery once; commits as it goes so a crash repeats little.

    Transient failures stay pending (their ids come back in ``retry``) unless ``final_attempt``, when they are
    dead-lettered like permanent ones.
    """
    report = SendReport()
    if not delivery_ids:
        return report
    rows = session.execute(
        select(Delivery, Message.user_id, Notice)
        .join(Message, Message.id == Delivery.message_id)
        .join(Notice, Notice.id == Message.notice_id)
        .where(Delivery.id.in_(delivery_ids), Delivery.status == DeliveryStatus.PENDING)
        .order_by(Delivery.id)
    ).all()
    user_ids = {r.user_id for r in rows}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))}
    prefs = {p.user_id: p for p in session.scalars(select(Preference).where(Preference.user_id.in_(user_ids)))}
    subscriptions: dict[int, list[PushSubscription]] = defaultdict(list)
    for sub in session.scalars(select(PushSubscription).where(PushSubscription.user_id.in_(user_ids))):
        subscriptions[sub.user_id].append(sub)
    mailer = channels.mailer_factory() if any(r.Delivery.channel == Channel.EMAIL for r in rows) else None
    sent_ids: list[int] = []
    attached: dict[int, Attachment] = {}
    try:
        for number, row in enumerate(rows, start=1):
            delivery, user_id, notice = row.Delivery, row.user_id, row.Notice
            outgoing = _outgoing(notice, delivery.message_id, channels)
            user = users.get(user_id)
            try:
                if user is None:
                    raise DeliveryError("the user no longer exists", permanent=True)
                if delivery.channel == Channel.EMAIL and (notice.data or {}).get("attachment"):
                    outgoing = replace(outgoing, attachments=(_attachment(session, notice, channels, attached),))
                target = _send(
                    session, delivery.channel, user, prefs.get(user_id), subscriptions, outgoing, channels, mailer
                )
            except DeliveryError as exc:
                _record_failure(
                    session,
                    delivery,
                    exc,
                    report,
                    final_attempt,
                    _target_of(delivery.channel, user),
                    channels.max_attempts,
                )
                continue
            if target is None:
                delivery.status = DeliveryStatus.DROPPED
                delivery.last_error = "no push subscription left"
                report.dropped += 1
            else:
                sent_ids.append(delivery.id)
            if number % _COMMIT_EVERY == 0:
                _mark_sent(session, sent_ids, report)
                session.commit()
        _mark_sent(session, sent_ids, report)
        session.commit()
    finally:
        if mailer is not None:
            mailer.close()
    return report


def _attachment(session: Session, notice: Notice, channels: Channels, made: dict[int, Attachment]) -> Attachment:
    """The PDF an e-mail of ``notice`` carries (billing renders it; once per notice and batch)."""
    if notice.id not in made:
        from billing.invoicing import public_url
        from billing.invoicing.documents import document_pdf

        try:
            filename, content = document_pdf(session, notice.data["attachment"], public_url(channels.app_url))
        except Exception as exc:  # the document is gone or cannot be drawn: say so in the delivery log
            raise DeliveryError(f"attachment: {type(exc).__name__}", permanent=True) from exc
        made[notice.id] = Attachment(filename, content)
    return made[notice.id]


def _target_of(channel: str, user: User | None) -> str:
    if user is None:
        return ""
    return {"email": user.email or "", "sms": user.username}.get(channel, "")


def _mark_sent(session: Session, sent_ids: list[int], report: SendReport) -> None:
    if not sent_ids:
        return
    now = utcnow()
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(sent_ids), Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SENT, sent_at=now, updated_at=now, attempts=Delivery.attempts + 1)
    )
    report.sent += len(sent_ids)
    sent_ids.clear()


def _send(
    session: Session,
    channel: str,
    user: User,
    pref: Preference | None,
    subscriptions: dict[int, list[PushSubscription]],
    outgoing: Outgoing,
    channels: Channels,
    mailer: Any,
) -> str | None:
    """Send on one channel; returns where it went, or None when there is nowhere left to send."""
    if channel == Channel.EMAIL:
        if not user.email:
            raise DeliveryError("the user has no e-mail address", permanent=True)
        mailer.send(user.email, outgoing)
        return user.email
    if channel == Channel.SMS:
        phone = sms_phone(user, pref)
        if not phone:
            raise DeliveryError("the user has no phone number", permanent=True)
        channels.sms.send(phone, outgoing)
        return phone
    if channels.push is None:
        raise DeliveryError("Web Push is not configured (VAPID keys)", permanent=True)
    delivered, last_error = None, None
    for sub in list(subscriptions.get(user.id, [])):
        try:
            channels.push.send(PushTarget(sub.endpoint, sub.p256dh, sub.auth), outgoing)
        except DeliveryError as exc:
            if exc.gone:  # 404/410: the browser unsubscribed; never send there again
                subscriptions[user.id].remove(sub)
                session.delete(sub)
                continue
            last_error = exc
            continue
        delivered = sub.endpoint
        sub.last_sent_at = utcnow()
    if delivered is None and last_error is not None:
        raise last_error
    return delivered


def _record_failure(
    session: Session,
    delivery: Delivery,
    exc: DeliveryError,
    report: SendReport,
    final_attempt: bool,
    target: str,
    max_attempts: int,
) -> None:
    delivery.attempts += 1
    delivery.last_error = str(exc)[:500]
    if exc.permanent or final_attempt or delivery.attempts >= max_attempts:
        delivery.status = DeliveryStatus.FAILED
        insert_ignore(
            session,
            DeadLetter.__table__,  # type: ignore[arg-type]
            [
                {
                    "delivery_id": delivery.id,
                    "channel": delivery.channel,
                    "target": target[:255],
                    "error": str(exc)[:500],
                    "attempts": delivery.attempts,
                    "created_at": utcnow(),
                }
            ],
            ["delivery_id"],
        )
        report.failed += 1
    else:
        report.retry.append(delivery.id)
