"""Tickets (工单), their steps with due times, their timeline, photos, and incidents grouping fault reports.

A ticket belongs to one unit (the account's, or the unit whose accounts lie nearest the reported pin) and moves
through its kind's steps (``flows``); each step has a due time set when the ticket is received (or reopened), and
the ticket's ``due_at`` is the due time of its next open step, so queues sort and "overdue" filters on one column.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")


class TicketKind(enum.StrEnum):
    FAULT_REPAIR = "fault_repair"  # 故障报修
    COMPLAINT = "complaint"  # 投诉
    REPORT = "report"  # 举报
    OPINION = "opinion"  # 意见
    SUGGESTION = "suggestion"  # 建议
    PRAISE = "praise"  # 表扬
    ENQUIRY = "enquiry"  # 咨询
    METER_CHECK = "meter_check"  # 校表申请


class TicketStatus(enum.StrEnum):
    RECEIVED = "received"  # 已受理
    DISPATCHED = "dispatched"  # 已派工
    ON_SITE = "on_site"  # 已到达现场
    RESTORED = "restored"  # 已恢复送电
    CONTACTED = "contacted"  # 已联系客户
    TESTED = "tested"  # 已校验
    REPLIED = "replied"  # 已答复
    CLOSED = "closed"  # 已办结
    MERGED = "merged"  # 已合并 (a duplicate of another ticket)


class IncidentStatus(enum.StrEnum):
    OPEN = "open"  # reports still coming in
    ANNOUNCED = "announced"  # an outage notice went out
    RESTORED = "restored"  # power back: its tickets are closed


KIND_VALUES = ", ".join(f"'{k.value}'" for k in TicketKind)
STATUS_VALUES = ", ".join(f"'{s.value}'" for s in TicketStatus)
INCIDENT_VALUES = ", ".join(f"'{s.value}'" for s in IncidentStatus)


class Incident(Base):
    """Fault reports close in place and time, taken as one fault (a line down, a transformer out)."""

    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint(f"status IN ({INCIDENT_VALUES})", name="status_known"),
        Index("ix_incidents_status_last_reported_at", "status", "last_reported_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    status: Mapped[str] = mapped_column(String(16), default=IncidentStatus.OPEN)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    first_reported_at: Mapped[dt.datetime]
    last_reported_at: Mapped[dt.datetime]
    ticket_count: Mapped[int] = mapped_column(default=0)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", ondelete="SET NULL"))
    restored_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("ticket_no"),
        CheckConstraint(f"kind IN ({KIND_VALUES})", name="kind_known"),
        CheckConstraint(f"status IN ({STATUS_VALUES})", name="status_known"),
        CheckConstraint("rating_score IS NULL OR rating_score BETWEEN 1 AND 5", name="rating_range"),
        Index("ix_tickets_unit_id_status_due_at", "unit_id", "status", "due_at"),
        Index("ix_tickets_account_id_kind_received_at", "account_id", "kind", "received_at"),
        Index("ix_tickets_reporter_id", "reporter_id"),
        Index("ix_tickets_kind_received_at", "kind", "received_at"),
        Index("ix_tickets_incident_id", "incident_id"),
        UniqueConstraint("follow_token_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_no: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=TicketStatus.RECEIVED)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    # a passer-by's e-mail address for progress notices, and the SHA-256 of their follow-up link's token (the
    # token itself is shown once, when the report is received)
    contact_email: Mapped[str | None] = mapped_column(String(254))
    follow_token_hash: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    area_class: Mapped[str] = mapped_column(String(8), default="urban")  # urban, rural, remote: repair limits
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    due_at: Mapped[dt.datetime | None]  # the next open step's due time; None once closed
    closed_at: Mapped[dt.datetime | None]
    crew: Mapped[str | None] = mapped_column(String(64))  # the repair crew dispatched
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cause: Mapped[str | None] = mapped_column(String(200))
    reply: Mapped[str | None] = mapped_column(Text)
    rating_score: Mapped[int | None]
    rating_comment: Mapped[str | None] = mapped_column(String(500))
    rated_at: Mapped[dt.datetime | None]
    reopened: Mapped[int] = mapped_column(default=0)
    escalated_at: Mapped[dt.datetime | None]
    repeated: Mapped[bool] = mapped_column(default=False)  # 重复投诉: another complaint of the account within 90 days
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))

    steps: Mapped[list[TicketStep]] = relationship(
        back_populates="ticket", order_by="TicketStep.position", cascade="all, delete-orphan"
    )
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )


class TicketStep(Base):
    """One step of a ticket's flow with its due time (the SLA clock) and when it was done."""

    __tablename__ = "ticket_steps"
    __table_args__ = (UniqueConstraint("ticket_id", "step"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(16))
    position: Mapped[int]
    due_at: Mapped[dt.datetime | None]
    done_at: Mapped[dt.datetime | None]

    ticket: Mapped[Ticket] = relationship(back_populates="steps")


class TicketEvent(Base):
    """The ticket's timeline: received, each step, notes, rating, reopening, merging, escalation."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket_id_id", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(16))  # a status, or note, rated, reopened, escalated
    note: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class TicketPhoto(Base):
    """A photo the reporter sent with the ticket (checked to be an image before it is kept)."""

    __tablename__ = "ticket_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    content_type: Mapped[str] = mapped_column(String(32))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
