"""Notices, inbox messages, per-channel deliveries, dead letters, push subscriptions and preferences.

A notice is what happened (an outage, a bill); a message is one user's inbox row for it (unique per notice and
user); a delivery is one channel's attempt to reach that user (unique per message and channel). The unique
constraints are what make every task safe to run twice.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")


class NoticeKind(enum.StrEnum):
    OUTAGE = "outage"  # 计划停电
    BILL_ISSUED = "bill_issued"
    DUE_REMINDER = "due_reminder"
    ARREARS_REMINDER = "arrears_reminder"
    PAYMENT_RECEIVED = "payment_received"
    FINDING_ASSIGNED = "finding_assigned"
    TICKET_UPDATE = "ticket_update"  # a 95598 ticket moved (its reporter, or supervisors for an escalation)
    APPLICATION_UPDATE = "application_update"  # a business handling application moved (its applicant)
    DOCUMENT = "document"  # an e-invoice or e-bill, e-mailed with its PDF attached (billing.documents_issued)


class Channel(enum.StrEnum):
    PUSH = "push"
    EMAIL = "email"
    SMS = "sms"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DEFERRED = "deferred"  # waiting for the end of the user's quiet hours
    SENT = "sent"
    FAILED = "failed"  # for good: see the dead letter
    DROPPED = "dropped"  # nowhere to send any more (push subscription gone)


class Notice(Base):
    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        Index("ix_notices_kind_created_at", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # outage: a GeoJSON Polygon (WGS-84) or an explicit account list; resolved within scope_unit_id's subtree
    area: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    account_nos: Mapped[list[str] | None] = mapped_column(JSON)
    user_ids: Mapped[list[int] | None] = mapped_column(JSON)  # direct recipients (staff notices)
    scope_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    starts_at: Mapped[dt.datetime | None]
    ends_at: Mapped[dt.datetime | None]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    dedupe_key: Mapped[str | None] = mapped_column(String(120))
    accounts: Mapped[int] = mapped_column(default=0)
    recipients: Mapped[int] = mapped_column(default=0)
    fanned_out_at: Mapped[dt.datetime | None]


class Message(Base):
    """One user's inbox entry for a notice."""

    __tablename__ = "notice_messages"
    __table_args__ = (
        UniqueConstraint("notice_id", "user_id"),
        Index("ix_notice_messages_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None]


class Delivery(Base):
    """The delivery log: one row per message and channel, with its attempts and outcome."""

    __tablename__ = "notice_deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "channel"),
        Index("ix_notice_deliveries_status_not_before", "status", "not_before"),
        CheckConstraint("channel IN ('push', 'email', 'sms')", name="channel_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(BigId, ForeignKey("notice_messages.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[dt.datetime | None]
    last_error: Mapped[str] = mapped_column(String(500), default="")
    sent_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DeadLetter(Base):
    """A delivery that failed for good, with what was tried, for people to look at."""

    __tablename__ = "notice_dead_letters"
    __table_args__ = (UniqueConstraint("delivery_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(BigId, ForeignKey("notice_deliveries.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))
    target: Mapped[str] = mapped_column(String(255), default="")
    error: Mapped[str] = mapped_column(String(500))
    attempts: Mapped[int]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PushSubscription(Base):
    __tablename__ = "push_subscriptions"
    __table_args__ = (UniqueConstraint("endpoint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1024))
    p256dh: Mapped[str] = mapped_column(String(255))
    auth: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_sent_at: Mapped[dt.datetime | None]


class Preference(Base):
    """A user's channels and quiet hours (local time, ``core.clock``). The inbox is always on."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    push: Mapped[bool] = mapped_column(default=True)
    email: Mapped[bool] = mapped_column(default=True)
    sms: Mapped[bool] = mapped_column(default=False)
    sms_phone: Mapped[str | None] = mapped_column(String(32))
    quiet_start: Mapped[dt.time | None] = mapped_column(Time)
    quiet_end: Mapped[dt.time | None] = mapped_column(Time)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
