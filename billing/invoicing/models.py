"""E-invoices (电子发票) issued for payments, and each account's choice of how it wants them."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import MONEY, Base, Money, utcnow


class InvoiceMode(enum.StrEnum):
    PER_PAYMENT = "per_payment"  # one invoice after each payment
    MONTHLY = "monthly"  # one invoice on the 1st for the previous month's payments


INVOICE_MODES = tuple(m.value for m in InvoiceMode)
RED = "red"  # the kind of a red-letter invoice (红字发票), which cancels all or part of an issued one


class Invoice(Base):
    """One issued e-invoice. ``source`` makes issuing idempotent (``payment:<id>``, ``month:<account>:<YYYY-MM>``,
    ``refund:<payment refund id>``); ``tax_document`` is true only when a real invoicing service issued it
    (``billing.invoicing.issuers``). A red invoice (kind ``red``) has negative amounts and names the invoice it
    cancels (``original_id``)."""

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("(kind = 'red' AND amount < 0) OR (kind <> 'red' AND amount > 0)", name="amount_signed"),
        CheckConstraint("kind IN ('per_payment', 'monthly', 'red')", name="kind_known"),
        CheckConstraint("(kind = 'red') = (original_id IS NOT NULL)", name="red_has_original"),
        Index("ix_invoices_account_id", "account_id"),
        Index("ix_invoices_original_id", "original_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_no: Mapped[str] = mapped_column(String(32), unique=True)
    check_code: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    period: Mapped[str | None] = mapped_column(String(7))  # monthly invoices: the month covered
    amount: Mapped[Money]  # 价税合计
    net_amount: Mapped[Decimal] = mapped_column(MONEY)  # 金额 (without tax)
    tax_amount: Mapped[Decimal] = mapped_column(MONEY)  # 税额
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(5, 4))  # e.g. 0.1300
    buyer_name: Mapped[str] = mapped_column(String(128))
    seller_name: Mapped[str] = mapped_column(String(128))
    payment_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    issuer: Mapped[str] = mapped_column(String(32))  # "local" (not a tax document) or the service's name
    tax_document: Mapped[bool] = mapped_column(default=False)
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    original_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))  # red: the invoice it cancels


class InvoicePreference(Base):
    """How an account wants its invoices and whether its e-invoices and monthly e-bills are e-mailed (absent:
    one invoice per payment, not e-mailed)."""

    __tablename__ = "invoice_preferences"
    __table_args__ = (CheckConstraint("mode IN ('per_payment', 'monthly')", name="mode_known"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16), default=InvoiceMode.PER_PAYMENT)
    email: Mapped[bool] = mapped_column(default=False)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
