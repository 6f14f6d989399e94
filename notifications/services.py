"""Notices, the inbox, push subscriptions and preferences: what the web layer and other packages call."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from core import clock, outbox, trail
from core.db import utcnow
from core.errors import InvalidInput, NotFound, Problem
from core.identity import Unit, User

from . import runtime
from .areas import accounts_by_number, accounts_in_area, users_of_accounts
from .commands import AnnounceOutage
from .models import Message, Notice, NoticeKind, Preference, PushSubscription
from .push_targets import PushTargetRefused, check_endpoint
from .topics import NOTICE_PUBLISHED, OUTAGE_SHEETS_DUE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipients:
    account_ids: list[int]
    user_ids: list[int]


def resolve_recipients(session: Session, notice: Notice) -> Recipients:
    """The affected accounts (area or list, within the sender's unit subtree) and the users to tell."""
    if notice.user_ids is not None:
        return Recipients([], sorted(set(notice.user_ids)))
    scope = session.get(Unit, notice.scope_unit_id) if notice.scope_unit_id else None
    if notice.area is not None:
        account_ids = accounts_in_area(session, notice.area, scope)
    else:
        account_ids, _missing = accounts_by_number(session, notice.account_nos or [], scope)
    return Recipients(account_ids, users_of_accounts(session, account_ids))


def _outage_scope(session: Session, actor: User, command: AnnounceOutage) -> Unit | None:
    """The sender's unit; every account listed must be in it (an outside one is reported unknown)."""
    scope = actor.unit
    if command.account_nos is not None:
        _found, missing = accounts_by_number(session, command.account_nos, scope)
        if missing:
            more = max(len(missing) - 20, 0)
            raise InvalidInput.fields({"account_nos": Problem("unknown_accounts", accounts=missing[:20], more=more)})
    return scope


def preview_outage(session: Session, actor: User, command: AnnounceOutage) -> Recipients:
    """Who an outage notice would reach, without storing anything (same checks as creating it)."""
    scope = _outage_scope(session, actor, command)
    probe = Notice(area=command.area, account_nos=command.account_nos, scope_unit_id=scope.id if scope else None)
    return resolve_recipients(session, probe)


def create_outage_notice(session: Session, actor: User, command: AnnounceOutage) -> tuple[Notice, Recipients]:
    """Resolve the affected accounts and users, and store the notice.

    Staff reach the accounts of their unit subtree only; account numbers outside it are reported unknown. The
    notice is published in the same transaction (``NOTICE_PUBLISHED``): once it commits, workers fan it out.
    """
    scope = _outage_scope(session, actor, command)
    notice = Notice(
        kind=NoticeKind.OUTAGE,
        title=command.title,
        body=command.body,
        data={},
        area=command.area,
        account_nos=command.account_nos,
        scope_unit_id=scope.id if scope else None,
        starts_at=command.starts_at.astimezone(dt.UTC),
        ends_at=command.ends_at.astimezone(dt.UTC),
        created_by=actor.id,
    )
    session.add(notice)
    session.flush()
    recipients = resolve_recipients(session, notice)
    notice.accounts = len(recipients.account_ids)
    notice.recipients = len(recipients.user_ids)
    trail.record(
        session,
        actor_id=actor.id,
        action="notice.outage_created",
        entity="notice",
        entity_id=str(notice.id),
        after={
            "title": notice.title,
            "starts_at": notice.starts_at,
            "ends_at": notice.ends_at,
            "accounts": notice.accounts,
            "recipients": notice.recipients,
        },
    )
    outbox.put(session, NOTICE_PUBLISHED, {"notice_id": notice.id})
    if command.account_nos:
        outbox.put(session, OUTAGE_SHEETS_DUE, outage_sheet(notice, scope, sorted(set(command.account_nos))))
    return notice, recipients


def outage_sheet(notice: Notice, unit: Unit | None, account_nos: list[str]) -> dict[str, Any]:
    """The outage notice sheet (停电通知单) served on each named account, as the archive files it: number
    ``TD-<notice id>``. An area announcement is a public notice (停电公告), not filed per account."""

    def when(value: dt.datetime | None) -> str:
        return clock.local(value).strftime("%Y-%m-%d %H:%M") if value else ""

    return {
        "document_no": f"TD-{notice.id}",
        "title": f"停电通知单：{notice.title}"[:200],
        "formed_on": clock.local(notice.created_at or utcnow()).date().isoformat(),
        "unit": unit.name if unit else "",
        "facts": [
            ["通知", notice.title],
            ["内容", notice.body],
            ["停电开始", when(notice.starts_at)],
            ["停电结束", when(notice.ends_at)],
            ["发布单位", unit.name if unit else ""],
        ],
        "account_nos": account_nos,
    }


def create_event_notice(
    session: Session,
    *,
    kind: str,
    title: str,
    body: str,
    dedupe_key: str,
    account_nos: list[str] | None = None,
    user_ids: list[int] | None = None,
    data: dict[str, Any] | None = None,
) -> Notice | None:
    """A notice for an event (bill, payment, reminder, finding); None if one with ``dedupe_key`` exists."""
    existing = session.scalar(select(Notice).where(Notice.dedupe_key == dedupe_key))
    if existing is not None:
        return None
    notice = Notice(
        kind=kind,
        title=title,
        body=body,
        data=data or {},
        account_nos=account_nos,
        user_ids=user_ids,
        dedupe_key=dedupe_key,
    )
    try:
        with session.begin_nested():
            session.add(notice)
    except IntegrityError:
        return None  # raced with another worker on the same event
    recipients = resolve_recipients(session, notice)
    notice.accounts = len(recipients.account_ids)
    notice.recipients = len(recipients.user_ids)
    return notice


# --- the inbox ------------------------------------------------------------------------------------


def inbox_query(user: User | BindParameter[Any], *, unread_only: bool = False) -> Any:
    """Rows of the user's inbox, newest first: each message's columns with its notice's (plain rows, no ORM
    objects: ``inbox_item`` reads them). ``user``: a user, or a bound parameter for the user's id."""
    stmt: Any = (
        select(
            Message.id,
            Notice.id.label("notice_id"),
            Notice.kind,
            Notice.title,
            Notice.body,
            Notice.data,
            Notice.starts_at,
            Notice.ends_at,
            Message.created_at,
            Message.read_at,
        )
        .join(Notice, Notice.id == Message.notice_id)
        .where(Message.user_id == (user if isinstance(user, BindParameter) else user.id))
        .order_by(Message.id.desc())
    )
    if unread_only:
        stmt = stmt.where(Message.read_at.is_(None))
    return stmt


def inbox_item(row: Any) -> dict[str, Any]:
    """One message of an ``inbox_query`` row as the inbox shows it."""
    return {
        "id": row.id,
        "notice_id": row.notice_id,
        "kind": row.kind,
        "title": row.title,
        "body": row.body,
        "data": row.data or {},
        "starts_at": row.starts_at,
        "ends_at": row.ends_at,
        "created_at": row.created_at,
        "read": row.read_at is not None,
        "read_at": row.read_at,
    }


def inbox(
    session: Session, user: User, *, limit: int = 50, offset: int = 0, unread_only: bool = False
) -> list[dict[str, Any]]:
    rows = session.execute(inbox_query(user, unread_only=unread_only).limit(limit).offset(offset)).all()
    return [inbox_item(row) for row in rows]


def _inbox_page_query(unread_only: bool) -> Any:
    """``inbox_page``'s statement for the user ``:user_id``, ``:limit`` rows from ``:offset``: the counts joined to
    the page's rows (one row of counts alone for a page with no rows: an empty inbox, a page past the end)."""
    user_id: BindParameter[int] = bindparam("user_id")
    counts = (
        select(func.count().label("all_count"), func.count().filter(Message.read_at.is_(None)).label("unread_count"))
        .where(Message.user_id == user_id)
        .subquery("counts")
    )
    rows = inbox_query(user_id, unread_only=unread_only)
    page = rows.limit(bindparam("limit")).offset(bindparam("offset")).subquery("page")
    return (
        select(counts.c.all_count, counts.c.unread_count, *page.c)
        .select_from(counts.outerjoin(page, true()))
        .order_by(page.c.id.desc())
    )


_INBOX_PAGE = {unread_only: _inbox_page_query(unread_only) for unread_only in (False, True)}  # built once


def inbox_page(
    session: Session, user: User, *, limit: int, offset: int, unread_only: bool = False
) -> tuple[list[dict[str, Any]], int, int]:
    """One page of the user's inbox with the number of messages it lists from and of those unread: one query."""
    params = {"user_id": user.id, "limit": limit, "offset": offset}
    rows = session.execute(_INBOX_PAGE[unread_only], params).all()
    unread = int(rows[0].unread_count)
    items = [inbox_item(row) for row in rows if row.id is not None]
    return items, unread if unread_only else int(rows[0].all_count), unread


def inbox_counts(session: Session, user: User) -> tuple[int, int]:
    """The number of messages in the user's inbox and of those unread, in one query."""
    unread = Message.read_at.is_(None)
    row = session.execute(
        select(func.count(), func.count().filter(unread)).select_from(Message).where(Message.user_id == user.id)
    ).one()
    return int(row[0]), int(row[1])


def unread_count(session: Session, user: User) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(Message).where(Message.user_id == user.id, Message.read_at.is_(None))
        )
        or 0
    )


def mark_read(session: Session, user: User, message_id: int, *, read: bool = True) -> Message:
    message = session.scalar(select(Message).where(Message.id == message_id, Message.user_id == user.id))
    if message is None:
        raise NotFound("message_not_found")
    if read and message.read_at is None:
        message.read_at = utcnow()
    elif not read:
        message.read_at = None
    session.flush()
    return message


def mark_all_read(session: Session, user: User) -> int:
    result = session.execute(
        update(Message).where(Message.user_id == user.id, Message.read_at.is_(None)).values(read_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- push subscriptions and preferences -----------------------------------------------------------


def subscribe_push(
    session: Session, user: User, data: dict[str, Any], user_agent: str = ""
) -> tuple[PushSubscription, bool]:
    """Store a browser PushSubscription (``{endpoint, keys: {p256dh, auth}}``); returns (row, created).

    The same endpoint again updates its keys and owner (a browser moves to whoever signed in last).
    """
    problems: dict[str, Problem] = {}
    endpoint = str(data.get("endpoint") or "")
    keys = data.get("keys") if isinstance(data.get("keys"), dict) else {}
    assert isinstance(keys, dict)
    if not endpoint.startswith(("https://", "http://")) or len(endpoint) > 1024:
        problems["endpoint"] = Problem("push_endpoint")
    p256dh, auth = str(keys.get("p256dh") or ""), str(keys.get("auth") or "")
    if not 80 <= len(p256dh) <= 100:
        problems["keys.p256dh"] = Problem("push_key")
    if not 16 <= len(auth) <= 32:
        problems["keys.auth"] = Problem("push_auth_secret")
    if problems:
        raise InvalidInput.fields(problems)
    try:
        check_endpoint(endpoint, runtime.current().push_local_hosts)
    except PushTargetRefused as exc:
        log.info("push subscription refused: %s", exc)
        raise InvalidInput.fields(
            {"endpoint": Problem("push_endpoint_not_allowed")}, "push_endpoint_not_allowed"
        ) from exc
    existing = session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    if existing is not None:
        existing.user_id, existing.p256dh, existing.auth = user.id, p256dh, auth
        existing.user_agent = user_agent[:255]
        session.flush()
        return existing, False
    sub = PushSubscription(user_id=user.id, endpoint=endpoint, p256dh=p256dh, auth=auth, user_agent=user_agent[:255])
    session.add(sub)
    session.flush()
    return sub, True


def unsubscribe_push(session: Session, user: User, endpoint: str) -> bool:
    sub = session.scalar(
        select(PushSubscription).where(PushSubscription.endpoint == endpoint, PushSubscription.user_id == user.id)
    )
    if sub is None:
        return False
    session.delete(sub)
    session.flush()
    return True


def preferences(session: Session, user: User) -> Preference:
    """The user's preferences (defaults when never set: push and e-mail on, SMS off, no quiet hours)."""
    pref = session.get(Preference, user.id)
    return pref if pref is not None else Preference(user_id=user.id, push=True, email=True, sms=False)


def preference_json(pref: Preference) -> dict[str, Any]:
    return {
        "push": pref.push,
        "email": pref.email,
        "sms": pref.sms,
        "sms_phone": pref.sms_phone,
        "quiet_hours": {"start": pref.quiet_start.strftime("%H:%M"), "end": pref.quiet_end.strftime("%H:%M")}
        if pref.quiet_start and pref.quiet_end
        else None,
        "timezone": clock.zone().key,
    }


def _time(value: Any, field: str, problems: dict[str, Problem]) -> dt.time | None:
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        problems[field] = Problem("not_a_time")
        return None


def set_preferences(session: Session, user: User, data: dict[str, Any]) -> Preference:
    """Change the fields given; ``quiet_hours: null`` turns quiet hours off."""
    problems: dict[str, Problem] = {}
    pref = session.get(Preference, user.id)
    if pref is None:
        pref = Preference(user_id=user.id, push=True, email=True, sms=False)
        session.add(pref)
    for channel in ("push", "email", "sms"):
        if channel in data and data[channel] is not None:
            setattr(pref, channel, bool(data[channel]))
    if "sms_phone" in data:
        phone = str(data["sms_phone"] or "").strip()
        if phone and (not phone.lstrip("+").isdigit() or not 5 <= len(phone) <= 20):
            problems["sms_phone"] = Problem("not_a_phone")
        pref.sms_phone = phone or None
    if "quiet_hours" in data:
        quiet = data["quiet_hours"]
        if quiet is None:
            pref.quiet_start = pref.quiet_end = None
        elif isinstance(quiet, dict):
            start = _time(quiet.get("start"), "quiet_hours.start", problems)
            end = _time(quiet.get("end"), "quiet_hours.end", problems)
            if start is not None and end is not None and start == end:
                problems["quiet_hours.end"] = Problem("same_as_start")
            pref.quiet_start, pref.quiet_end = start, end
        else:
            problems["quiet_hours"] = Problem("quiet_hours_format")
    if problems:
        raise InvalidInput.fields(problems)
    session.flush()
    return pref
