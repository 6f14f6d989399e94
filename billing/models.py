"""Billing models. The account number (户号) is the join key across billing, archive and notifications."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import cast

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Numeric, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from billing import payment_procedure
from core.db import KWH, Base, Money, utcnow
from core.identity import Unit


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
        Index("ix_accounts_reading_book_id_book_seq", "reading_book_id", "book_seq"),
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
    # the reading book (抄表段) the account is read in, and its place on the book's route
    reading_book_id: Mapped[int | None] = mapped_column(ForeignKey("reading_books.id"))
    book_seq: Mapped[int | None]

    unit: Mapped[Unit] = relationship()


class ReadingBook(Base):
    """A reading book (抄表段): one unit's route of accounts, read in ``Account.book_seq`` order."""

    __tablename__ = "reading_books"
    __table_args__ = (Index("ix_reading_books_unit_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit] = relationship()


# --- tariffs, readings, bills, payments, adjustments -------------------------------------------

PRICE = Numeric(10, 4, asdecimal=True)


class TariffKind(enum.StrEnum):
    TIERED = "tiered"  # 阶梯: annual cumulative kWh tiers
    TOU = "tou"  # 峰谷: peak / flat / valley bands
    FLAT = "flat"


class Tariff(Base):
    """A price table valid from ``valid_from`` to ``valid_to`` (inclusive; open-ended when null)."""

    __tablename__ = "tariffs"
    __table_args__ = (
        UniqueConstraint("code", "valid_from"),
        CheckConstraint("kind IN ('tiered', 'tou', 'flat')", name="kind_known"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), index=True)
    category: Mapped[str] = mapped_column(String(24))
    kind: Mapped[str] = mapped_column(String(8))
    valid_from: Mapped[dt.date]
    valid_to: Mapped[dt.date | None]
    price: Mapped[Decimal | None] = mapped_column(PRICE)
    peak_price: Mapped[Decimal | None] = mapped_column(PRICE)
    flat_price: Mapped[Decimal | None] = mapped_column(PRICE)
    valley_price: Mapped[Decimal | None] = mapped_column(PRICE)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    tiers: Mapped[list[TariffTier]] = relationship(order_by="TariffTier.seq", cascade="all, delete-orphan")


class TariffTier(Base):
    __tablename__ = "tariff_tiers"
    __table_args__ = (UniqueConstraint("tariff_id", "seq"), CheckConstraint("price >= 0", name="price_non_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id", ondelete="CASCADE"))
    seq: Mapped[int]
    up_to_kwh: Mapped[Decimal | None] = mapped_column(KWH)  # annual cumulative bound; null = no bound
    price: Mapped[Decimal] = mapped_column(PRICE)


class ReadingStatus(enum.StrEnum):
    PASSED = "passed"  # every check passed: it bills (at once, or in the bill run)
    HELD = "held"  # a check failed: waits in the review queue (异常复核) and makes no bill
    ACCEPTED = "accepted"  # held, then accepted as entered by a second person
    CORRECTED = "corrected"  # held, then corrected by a second person (``entered_reading`` keeps the first value)


class MeterReading(Base):
    """A cumulative meter reading for a period; TOU meters also carry the three band registers.

    ``checks`` are the checks it failed when entered (``[{"code": ..., **params}]``); a held reading bills only
    once a second person (``reviewed_by``, never ``recorded_by``) accepted or corrected it.
    """

    __tablename__ = "meter_readings"
    __table_args__ = (
        UniqueConstraint("account_id", "period"),
        CheckConstraint("reading >= 0", name="non_negative"),
        CheckConstraint("status IN ('passed', 'held', 'accepted', 'corrected')", name="status_known"),
        CheckConstraint(
            "reviewed_by IS NULL OR recorded_by IS NULL OR reviewed_by <> recorded_by", name="second_person"
        ),
        CheckConstraint("(status IN ('accepted', 'corrected')) = (reviewed_by IS NOT NULL)", name="review_complete"),
        Index("ix_meter_readings_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    period: Mapped[str] = mapped_column(String(7))
    reading: Mapped[Decimal] = mapped_column(KWH)
    peak: Mapped[Decimal | None] = mapped_column(KWH)
    flat: Mapped[Decimal | None] = mapped_column(KWH)
    valley: Mapped[Decimal | None] = mapped_column(KWH)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=ReadingStatus.PASSED)
    checks: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    entered_reading: Mapped[Decimal | None] = mapped_column(KWH)  # the value first entered, when corrected
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None]
    review_note: Mapped[str] = mapped_column(String(500), default="")

    account: Mapped[Account] = relationship()


class MeterChangeKind(enum.StrEnum):
    REPLACEMENT = "replacement"  # 换表: a new meter
    ROLLOVER = "rollover"  # 翻转: the register passed its full scale and started again


class MeterChange(Base):
    """A meter replaced (or rolled over) before the reading of ``period``, the first one on the new register.

    The period's usage is the old meter's ``old_final`` less the previous reading, times ``old_multiplier``, plus
    the period's reading less ``new_start``, times ``multiplier`` (a rollover: ``old_final`` is the full scale,
    e.g. 100000, and ``new_start`` 0).
    """

    __tablename__ = "meter_changes"
    __table_args__ = (
        UniqueConstraint("account_id", "period"),
        CheckConstraint("kind IN ('replacement', 'rollover')", name="kind_known"),
        CheckConstraint("old_final >= 0 AND new_start >= 0", name="non_negative"),
        CheckConstraint("multiplier > 0 AND old_multiplier > 0", name="multiplier_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    period: Mapped[str] = mapped_column(String(7))
    kind: Mapped[str] = mapped_column(String(16))
    changed_on: Mapped[dt.date]
    old_final: Mapped[Decimal] = mapped_column(KWH)
    new_start: Mapped[Decimal] = mapped_column(KWH)
    old_multiplier: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    multiplier: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    note: Mapped[str] = mapped_column(String(500), default="")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReadingImport(Base):
    """A handheld reader's file being entered row by row in the background; the counts are what the page polls.

    ``rows`` are the file's parsed rows, ``done`` how many are entered (each chunk commits its rows and the count
    together, so a redelivered task goes on where the last one stopped); ``report`` lists the rows held or
    refused (``line``, ``account_no``, ``period``, ``outcome``, ``reading_id``/``checks`` or ``code``/``params``/
    ``fields``). ``unit_id`` is the importer's unit: who may see the import.
    """

    __tablename__ = "reading_imports"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status_known"),
        Index("ix_reading_imports_unit_id", "unit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    imported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    rows: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    billed: Mapped[int] = mapped_column(default=0)
    held: Mapped[int] = mapped_column(default=0)
    refused: Mapped[int] = mapped_column(default=0)
    report: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]


class Bill(Base):
    """An issued bill: never edited. Payments are ``PaymentApplication`` rows, corrections ``Adjustment`` rows."""

    __tablename__ = "bills"
    __table_args__ = (
        UniqueConstraint("account_id", "period"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    period: Mapped[str] = mapped_column(String(7))
    category: Mapped[str] = mapped_column(String(24))  # the account's category when issued (late-fee rates)
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id"))
    reading_id: Mapped[int | None] = mapped_column(ForeignKey("meter_readings.id"))
    kwh: Mapped[Decimal] = mapped_column(KWH)
    amount: Mapped[Money]
    due_date: Mapped[dt.date]
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # the readings it was computed from (null on bills issued before they were kept); with a meter change in the
    # period the start is the old meter's and the end the new one's (``meter_change_id``)
    start_reading: Mapped[Decimal | None] = mapped_column(KWH)
    end_reading: Mapped[Decimal | None] = mapped_column(KWH)
    multiplier: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    meter_change_id: Mapped[int | None] = mapped_column(ForeignKey("meter_changes.id"))

    lines: Mapped[list[BillLine]] = relationship(order_by="BillLine.seq", cascade="all, delete-orphan")


class BillLine(Base):
    __tablename__ = "bill_lines"
    __table_args__ = (UniqueConstraint("bill_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"))
    seq: Mapped[int]
    item: Mapped[str] = mapped_column(String(16))  # tier_1, tier_2, tier_3, peak, flat, valley, energy
    kwh: Mapped[Decimal] = mapped_column(KWH)
    price: Mapped[Decimal] = mapped_column(PRICE)
    amount: Mapped[Money]


class Channel(enum.StrEnum):
    COUNTER = "counter"  # 柜台
    BANK = "bank"  # 银行代扣
    APP = "app"  # 线上
    THIRD_PARTY = "third_party"  # 第三方


class Payment(Base):
    """Money received once. ``idempotency_key`` is unique: a replay finds the first payment."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("channel IN ('counter', 'bank', 'app', 'third_party')", name="channel_known"),
        Index("ix_payments_account_id", "account_id"),
        Index("ix_payments_channel_reference", "channel", "reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    amount: Mapped[Money]
    channel: Mapped[str] = mapped_column(String(16))
    paid_at: Mapped[dt.datetime]
    reference: Mapped[str] = mapped_column(String(64), default="")
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("payment_imports.id"))
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    applications: Mapped[list[PaymentApplication]] = relationship(order_by="PaymentApplication.id")


class PaymentApplication(Base):
    """Part of a payment settling one bill's late fee and principal on a day (money from balance included)."""

    __tablename__ = "payment_applications"
    __table_args__ = (
        CheckConstraint("principal >= 0 AND late_fee >= 0", name="non_negative"),
        # covering on PostgreSQL: a bill's applications (the account summary and the payment path read them per
        # bill) come from the index alone, so the planner walks it instead of hashing the whole table
        Index(
            "ix_payment_applications_bill_id",
            "bill_id",
            postgresql_include=["applied_on", "principal", "late_fee", "id"],
        ),
        Index("ix_payment_applications_payment_id", "payment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))  # null: credit from a correction
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id"))
    applied_on: Mapped[dt.date]
    principal: Mapped[Money]
    late_fee: Mapped[Money]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    bill: Mapped[Bill] = relationship()


class AdjustmentKind(enum.StrEnum):
    REFUND = "refund"  # 退费: pays balance back
    CORRECTION = "correction"  # 退补: changes what a bill charges by ``amount`` (negative = credit)
    WAIVER = "waiver"  # 违约金减免


class AdjustmentStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Adjustment(Base):
    """A request needing a second person. Takes effect only when approved; bills and payments stay as issued."""

    __tablename__ = "adjustments"
    __table_args__ = (
        CheckConstraint("kind IN ('refund', 'correction', 'waiver')", name="kind_known"),
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status_known"),
        CheckConstraint("decided_by IS NULL OR decided_by <> requested_by", name="second_person"),
        CheckConstraint("(status = 'pending') = (decided_by IS NULL)", name="decision_complete"),
        Index("ix_adjustments_account_id", "account_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("bills.id"))
    amount: Mapped[Money]
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default=AdjustmentStatus.PENDING)
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None]
    decision_note: Mapped[str] = mapped_column(String(500), default="")

    account: Mapped[Account] = relationship()
    bill: Mapped[Bill | None] = relationship()


class PaymentImport(Base):
    """One imported payment file and its reconciliation report (``report``: rows with their outcome)."""

    __tablename__ = "payment_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    imported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    matched: Mapped[int] = mapped_column(default=0)
    unknown_account: Mapped[int] = mapped_column(default=0)
    duplicate: Mapped[int] = mapped_column(default=0)
    amount_mismatch: Mapped[int] = mapped_column(default=0)
    report: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)


# record_payment's one-call form on PostgreSQL (billing.payment_procedure), created with the payments table
payment_procedure.create_with(cast(Table, Payment.__table__))
