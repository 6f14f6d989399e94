"""Read-side queries of notifications that the staff pages, the public map and the API show, within scope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.identity import Unit, User
from core.scope import can_see_unit, in_scope

from .models import DeadLetter, Delivery, Message, Notice


def visible_notice(session: Session, user: User, notice_id: int) -> Notice:
    """A notice the staff member may see: one scoped to their unit subtree, or one they sent."""
    notice = session.get(Notice, notice_id)
    if notice is None or user.unit is None:
        raise NotFound("notice_not_found")
    if notice.created_by == user.id:
        return notice
    scope = session.get(Unit, notice.scope_unit_id) if notice.scope_unit_id else None
    if not can_see_unit(user, scope):
        raise NotFound("notice_not_found")
    return notice


def visible_notices(user: User) -> Select[Any]:
    """Notices the staff member sent or that were scoped to their unit subtree, newest first."""
    return (
        select(Notice)
        .where((Notice.created_by == user.id) | in_scope(user, Notice.scope_unit_id))
        .order_by(Notice.id.desc())
    )


def notice_progress(session: Session, notice: Notice) -> dict[str, Any]:
    messages = session.scalar(select(func.count()).select_from(Message).where(Message.notice_id == notice.id)) or 0
    read = (
        session.scalar(
            select(func.count()).select_from(Message).where(Message.notice_id == notice.id, Message.read_at.isnot(None))
        )
        or 0
    )
    by_channel: dict[str, dict[str, int]] = {}
    rows = session.execute(
        select(Delivery.channel, Delivery.status, func.count())
        .join(Message, Message.id == Delivery.message_id)
        .where(Message.notice_id == notice.id)
        .group_by(Delivery.channel, Delivery.status)
    ).all()
    for channel, status, count in rows:
        by_channel.setdefault(channel, {})[status] = count
    return {
        "messages": messages,
        "read": read,
        "deliveries": by_channel,
        "percent": round(100 * messages / notice.recipients, 1) if notice.recipients else 100.0,
    }


def dead_letters(session: Session, notice: Notice, limit: int) -> list[DeadLetter]:
    """The deliveries of a notice that gave up, oldest first."""
    return list(
        session.scalars(
            select(DeadLetter)
            .join(Delivery, Delivery.id == DeadLetter.delivery_id)
            .join(Message, Message.id == Delivery.message_id)
            .where(Message.notice_id == notice.id)
            .order_by(DeadLetter.id)
            .limit(limit)
        )
    )


def own_messages(session: Session, user: User, ids: Iterable[int]) -> list[Message]:
    """The user's own inbox messages among ``ids`` (another user's message is not found)."""
    return list(session.scalars(select(Message).where(Message.user_id == user.id, Message.id.in_(list(ids)))))


def current_outages(session: Session) -> list[Notice]:
    """Outage notices with an area that have not ended, for the public map."""
    now = dt.datetime.now(dt.UTC)
    return list(
        session.scalars(
            select(Notice).where(Notice.kind == "outage", Notice.area.isnot(None), Notice.ends_at >= now).limit(50)
        )
    )
