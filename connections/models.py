"""Applications (业扩报装 and 变更用电), their steps with due dates, their timeline and the customer's uploads.

An application belongs to one unit (the account's, or the unit chosen at acceptance for a new connection) and
walks its type's steps (``flows.FLOWS``) in order. Each step has a limit in working days and a due date; the
application's ``due_on`` is the due date of its current step, so queues sort and "overdue" filters on one column.
While the application waits for the customer (documents, fees) its clock stops: ``awaiting_since`` is set and the
working days waited are added to the step's limit when the customer answers.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")


class ApplicationType(enum.StrEnum):
    NEW_LV_RESIDENTIAL = "new_lv_residential"  # 低压居民新装
    NEW_LV_BUSINESS = "new_lv_business"  # 低压非居民新装
    NEW_HV_SINGLE = "new_hv_single"  # 高压新装（单电源）
    NEW_HV_DUAL = "new_hv_dual"  # 高压新装（双电源）
    CAPACITY_INCREASE = "capacity_increase"  # 增容
    CAPACITY_REDUCTION = "capacity_reduction"  # 减容
    SUSPENSION = "suspension"  # 暂停
    RESUMPTION = "resumption"  # 恢复
    NAME_CHANGE = "name_change"  # 更名
    TRANSFER = "transfer"  # 过户
    CATEGORY_CHANGE = "category_change"  # 改类
    CLOSURE = "closure"  # 销户


class StepName(enum.StrEnum):
    ACCEPTANCE = "acceptance"  # 受理
    SITE_SURVEY = "site_survey"  # 现场勘查
    SUPPLY_PLAN = "supply_plan"  # 供电方案答复
    DESIGN_REVIEW = "design_review"  # 设计文件审查
    INTERIM_CHECK = "interim_check"  # 中间检查
    COMPLETION_CHECK = "completion_check"  # 竣工检验
    CONTRACT = "contract"  # 签订供用电合同
    CONNECTION = "connection"  # 装表接电
    EXECUTION = "execution"  # 变更实施 (the step that changes an account outside a connection)
    ARCHIVING = "archiving"  # 归档 (the dossier handed over to the marketing unit)


class ApplicationStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"  # 办理中
    AWAITING_CUSTOMER = "awaiting_customer"  # 待客户补充 (the clock stops)
    COMPLETED = "completed"  # 已办结
    WITHDRAWN = "withdrawn"  # 已撤回


class UploadKind(enum.StrEnum):
    ID_CARD = "id_card"  # 身份证
    BUSINESS_LICENCE = "business_licence"  # 营业执照
    PROPERTY_PROOF = "property_proof"  # 产权证明
    OTHER = "other"  # 其他资料


OPEN_STATUSES = (ApplicationStatus.IN_PROGRESS.value, ApplicationStatus.AWAITING_CUSTOMER.value)


def _values(kind: type[enum.StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in kind)


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("application_no"),
        CheckConstraint(f"type IN ({_values(ApplicationType)})", name="type_known"),
        CheckConstraint(f"status IN ({_values(ApplicationStatus)})", name="status_known"),
        CheckConstraint("capacity_kva IS NULL OR capacity_kva >= 0", name="capacity_non_negative"),
        CheckConstraint("rating_score IS NULL OR rating_score BETWEEN 1 AND 5", name="rating_range"),
        Index("ix_applications_unit_id_status_due_on", "unit_id", "status", "due_on"),
        Index("ix_applications_account_id", "account_id"),
        Index("ix_applications_applicant_id", "applicant_id"),
        Index("ix_applications_holder_key", "holder_key"),
        Index("ix_applications_type_received_on", "type", "received_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_no: Mapped[str] = mapped_column(String(20))
    type: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(20), default=ApplicationStatus.IN_PROGRESS)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    # the account the application changes; for a new connection, the account its connection step opened
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    applicant_name: Mapped[str] = mapped_column(String(128))
    applicant_phone: Mapped[str] = mapped_column(String(20))
    # who the applicant is, for matching (拆分容量): the keyed hash of the ID's last four digits, or the credit code
    id_last4_hash: Mapped[str | None] = mapped_column(String(64))
    credit_code: Mapped[str | None] = mapped_column(String(18))
    holder_key: Mapped[str] = mapped_column(String(200))  # name + ID hash or credit code, normalised
    address: Mapped[str] = mapped_column(String(255), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    capacity_kva: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))  # asked for (new, increase, reduction)
    category: Mapped[str | None] = mapped_column(String(24))  # asked for (new, category change)
    new_holder_name: Mapped[str | None] = mapped_column(String(128))  # name change, transfer
    note: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    received_on: Mapped[dt.date]  # local day of receipt: the clock starts here
    current_step: Mapped[str | None] = mapped_column(String(20))
    due_on: Mapped[dt.date | None]  # the current step's due date; None once done or withdrawn, or while waiting
    total_due_on: Mapped[dt.date | None]  # the commitment for the whole application, where one is published
    awaiting_since: Mapped[dt.date | None]  # waiting for the customer since (the clock is stopped)
    awaiting_reason: Mapped[str | None] = mapped_column(String(500))
    completed_on: Mapped[dt.date | None]
    withdrawn_on: Mapped[dt.date | None]
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    rating_score: Mapped[int | None]
    rating_comment: Mapped[str | None] = mapped_column(String(500))
    rated_at: Mapped[dt.datetime | None]

    steps: Mapped[list[ApplicationStep]] = relationship(
        back_populates="application", order_by="ApplicationStep.position", cascade="all, delete-orphan"
    )
    events: Mapped[list[ApplicationEvent]] = relationship(
        back_populates="application", order_by="ApplicationEvent.id", cascade="all, delete-orphan"
    )


class ApplicationStep(Base):
    """One step of an application with its limit, due date, when and by whom it was done, and its fields."""

    __tablename__ = "application_steps"
    __table_args__ = (UniqueConstraint("application_id", "step"), Index("ix_application_steps_step", "step"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(20))
    position: Mapped[int]
    limit_days: Mapped[int]  # working days from the previous step's completion (the receipt for the first)
    waited_days: Mapped[int] = mapped_column(default=0)  # working days the clock stood still in this step
    due_on: Mapped[dt.date | None]  # planned from the previous step's actual or planned date
    done_on: Mapped[dt.date | None]
    done_at: Mapped[dt.datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    fields: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    application: Mapped[Application] = relationship(back_populates="steps")


class ApplicationEvent(Base):
    """The application's timeline: received, each step, returned to and answered by the customer, withdrawn,
    assigned, rated."""

    __tablename__ = "application_events"
    __table_args__ = (Index("ix_application_events_application_id_id", "application_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(20))  # received, a step name, returned, resumed, withdrawn, ...
    note: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    application: Mapped[Application] = relationship(back_populates="events")


class ApplicationUpload(Base):
    """A paper the customer sent with the application (an ID card, a licence, a property proof), checked before it
    is kept, filed into the dossier once the account has one."""

    __tablename__ = "application_uploads"
    __table_args__ = (CheckConstraint(f"kind IN ({_values(UploadKind)})", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
