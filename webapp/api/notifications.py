"""Notifications: the caller's inbox, preferences and push subscriptions; staff outage notices."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from flask import current_app, request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from core.commands import RowId
from core.db import db
from core.errors import InvalidInput, NotFound, Problem
from core.identity import ALL_ROLES, STAFF_ROLES, Role
from notifications.channels import application_server_key
from notifications.commands import AnnounceOutage
from notifications.models import Notice
from notifications.queries import dead_letters, notice_progress, own_messages, visible_notice, visible_notices
from notifications.services import (
    create_outage_notice,
    inbox_page,
    mark_all_read,
    preference_json,
    preferences,
    preview_outage,
    set_preferences,
    subscribe_push,
    unread_count,
    unsubscribe_push,
)

from . import api
from .framework import PUBLIC, ApiModel, PageQuery, allow, caller, endpoint, paginate, register_resource

ANYONE_SIGNED_IN = allow(*ALL_ROLES)
NOTICE_SENDERS = allow(Role.ARCHIVIST, Role.CLERK, Role.ADMIN)  # supervisors are read-only
STAFF_NOTICE = allow(*STAFF_ROLES, resource="notice")


register_resource("notice", lambda session, user, path: visible_notice(session, user, int(path["notice_id"])))


# --- the inbox ------------------------------------------------------------------------------------


class InboxQuery(PageQuery):
    unread: bool = False


@endpoint(
    api, "/me/notifications", access=ANYONE_SIGNED_IN, query=InboxQuery, summary="The caller's inbox, newest first"
)
def my_notifications(query: InboxQuery) -> Any:
    offset = (query.page - 1) * query.per_page
    items, total, unread = inbox_page(
        db.session, caller(), limit=query.per_page, offset=offset, unread_only=query.unread
    )  # every message is of a notice: the join drops none, so the page's counts are the inbox's
    return {"items": items, "page": query.page, "per_page": query.per_page, "total": total, "unread": unread}


class ReadIn(ApiModel):
    ids: list[RowId] | None = Field(None, max_length=1000, description="messages to mark read")
    all: bool = False
    read: bool = Field(True, description="false marks the given messages unread again")


@endpoint(
    api,
    "/me/notifications/read",
    methods=["POST"],
    access=ANYONE_SIGNED_IN,
    body=ReadIn,
    summary="Mark inbox messages read (or unread); ``all`` marks everything read",
)
def mark_my_notifications(body: ReadIn) -> Any:
    user = caller()
    if not body.all and not body.ids:
        raise InvalidInput.fields({"ids": Problem("ids_or_all")})
    if body.all:
        updated = mark_all_read(db.session, user)
    else:
        assert body.ids is not None
        messages = own_messages(db.session, user, body.ids)
        if len(messages) != len(set(body.ids)):
            raise NotFound("message_not_found")
        now = dt.datetime.now(dt.UTC)
        for message in messages:
            message.read_at = (message.read_at or now) if body.read else None
        updated = len(messages)
    db.session.flush()
    return {"updated": updated, "unread": unread_count(db.session, user)}


# --- preferences and push subscriptions -----------------------------------------------------------


class QuietHours(BaseModel):
    start: str = Field(pattern=r"^\d{2}:\d{2}$", examples=["22:00"])
    end: str = Field(pattern=r"^\d{2}:\d{2}$", examples=["07:00"])


class PreferencesIn(ApiModel):
    push: bool | None = None
    email: bool | None = None
    sms: bool | None = None
    sms_phone: str | None = Field(None, max_length=20)
    quiet_hours: QuietHours | None = Field(None, description="local time; null turns them off")


@endpoint(api, "/me/notification-preferences", access=ANYONE_SIGNED_IN, summary="Channels and quiet hours")
def my_preferences() -> Any:
    return preference_json(preferences(db.session, caller()))


@endpoint(
    api,
    "/me/notification-preferences",
    methods=["PUT"],
    access=ANYONE_SIGNED_IN,
    body=PreferencesIn,
    summary="Change channels and quiet hours (fields given only; the inbox is always on)",
)
def change_my_preferences(body: PreferencesIn) -> Any:
    data = body.model_dump(exclude_unset=True)
    pref = set_preferences(db.session, caller(), data)
    return preference_json(pref)


class SubscriptionKeys(BaseModel):
    p256dh: str
    auth: str


class PushSubscriptionIn(BaseModel):
    """A browser ``PushSubscription.toJSON()``."""

    endpoint: str = Field(max_length=1024)
    keys: SubscriptionKeys
    expirationTime: float | None = None


@endpoint(
    api,
    "/me/push-subscriptions",
    methods=["POST"],
    access=ANYONE_SIGNED_IN,
    body=PushSubscriptionIn,
    status=201,
    summary="Register this browser for Web Push (the PushSubscription JSON)",
)
def add_push_subscription(body: PushSubscriptionIn) -> Any:
    sub, created = subscribe_push(
        db.session, caller(), body.model_dump(), user_agent=request.headers.get("User-Agent", "")
    )
    return {"id": sub.id, "endpoint": sub.endpoint, "created_at": sub.created_at}, 201 if created else 200


class EndpointQuery(BaseModel):
    endpoint: str = Field(max_length=1024)


@endpoint(
    api,
    "/me/push-subscriptions",
    methods=["DELETE"],
    access=ANYONE_SIGNED_IN,
    query=EndpointQuery,
    status=204,
    summary="Stop Web Push to this browser (``?endpoint=``)",
)
def remove_push_subscription(query: EndpointQuery) -> Any:
    if not unsubscribe_push(db.session, caller(), query.endpoint):
        raise NotFound("subscription_not_found")
    return "", 204


@endpoint(api, "/push/vapid-public-key", access=PUBLIC, summary="The VAPID public key for PushManager.subscribe")
def vapid_public_key() -> Any:
    return {"public_key": application_server_key(current_app.extensions["griddesk_vapid"])}


# --- outage notices (staff) -----------------------------------------------------------------------


@endpoint(
    api,
    "/notices/outages",
    methods=["POST"],
    access=NOTICE_SENDERS,
    body=AnnounceOutage,
    status=202,
    summary="Announce a planned outage to the customers of the affected accounts; workers deliver it",
    extra_responses={422: "bad area, unknown accounts, or times"},
)
def announce_outage(body: AnnounceOutage) -> Any:
    notice, recipients = create_outage_notice(db.session, caller(), body)
    return {
        "notice_id": notice.id,
        "recipients": len(recipients.user_ids),
        "accounts": len(recipients.account_ids),
    }, 202


@endpoint(
    api,
    "/notices/outages/preview",
    methods=["POST"],
    access=NOTICE_SENDERS,
    body=AnnounceOutage,
    summary="How many accounts and customers an outage notice would reach (nothing is stored or sent)",
)
def preview_outage_notice(body: AnnounceOutage) -> Any:
    recipients = preview_outage(db.session, caller(), body)
    return {"recipients": len(recipients.user_ids), "accounts": len(recipients.account_ids)}


def notice_json(session: Session, notice: Notice) -> dict[str, Any]:
    return {
        "id": notice.id,
        "kind": notice.kind,
        "title": notice.title,
        "body": notice.body,
        "starts_at": notice.starts_at,
        "ends_at": notice.ends_at,
        "area": notice.area,
        "account_nos": notice.account_nos,
        "accounts": notice.accounts,
        "recipients": notice.recipients,
        "created_at": notice.created_at,
        "progress": notice_progress(session, notice),
    }


class NoticeListQuery(PageQuery):
    kind: (
        Literal[
            "outage",
            "bill_issued",
            "due_reminder",
            "arrears_reminder",
            "payment_received",
            "ticket_update",
            "application_update",
            "document",
        ]
        | None
    ) = None


@endpoint(api, "/notices", access=allow(*STAFF_ROLES), query=NoticeListQuery, summary="Notices of the caller's units")
def list_notices(query: NoticeListQuery) -> Any:
    stmt = visible_notices(caller())
    if query.kind:
        stmt = stmt.where(Notice.kind == query.kind)
    return paginate(db.session, stmt, query, lambda n: notice_json(db.session, n))


@endpoint(api, "/notices/<int:notice_id>", access=STAFF_NOTICE, summary="A notice with its delivery progress")
def get_notice(notice_id: int) -> Any:
    notice = visible_notice(db.session, caller(), notice_id)
    letters = dead_letters(db.session, notice, 100)
    return {
        **notice_json(db.session, notice),
        "dead_letters": [
            {"channel": d.channel, "target": d.target, "error": d.error, "attempts": d.attempts, "at": d.created_at}
            for d in letters
        ],
    }
