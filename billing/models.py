"""Billing models. The account number (户号) is the join key across billing, archive and notifications."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Money, utcnow
from core.identity import Unit, User


class Category(enum.StrEnum):
    RESIDENTIAL = "residential"  # 居民
    GENERAL = "general"  # 一般工商业
    LARGE_INDUSTRIAL = "large_industrial"  # 大工业
    AGRICULTURAL = "agricultural"  # 农业


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # 报停
    CLOSED = "closed"  # 销户


class Account(Base):
    """A power account (户). ``id_last4_hash`` is a keyed hash: it can be matched, never read back."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("capacity_kva >= 0", name="capacity_non_negative"),
        Index("ix_accounts_unit_id", "unit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_no: Mapped[str] = mapped_column(String(20), unique=True)
    holder_name: Mapped[str] = mapped_column(String(128))
    id_last4_hash: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(255), default="")
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    category: Mapped[str] = mapped_column(String(24))
    capacity_kva: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    tariff_code: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    status: Mapped[str] = mapped_column(String(16), default=AccountStatus.ACTIVE)
    connected_on: Mapped[dt.date | None]
    meter_multiplier: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal(1))
    balance: Mapped[Money] = mapped_column(default=Decimal("0.00"))  # 预存: money paid ahead
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit] = relationship()


class AccountBinding(Base):
    """A customer's claim on an account, made by proving holder name and the last 4 ID digits."""

    __tablename__ = "account_bindings"
    __table_args__ = (UniqueConstraint("user_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
    account: Mapped[Account] = relationship()
