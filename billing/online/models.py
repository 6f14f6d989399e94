"""Online payment orders (支付订单) and the log of every notice a provider sent about them."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import MONEY, Base, Money, utcnow


class OrderStatus(enum.StrEnum):
    CREATED = "created"  # made, the customer sent to the cashier
    PAYING = "paying"  # the provider knows the trade and waits for the buyer
    PAID = "paid"  # the provider's signed word (notice or query) said paid; the payment is recorded
    CLOSED = "closed"  # expired unpaid and closed at the provider
    FAILED = "failed"  # the provider closed the trade unpaid (the customer cancelled)
    REFUNDED = "refunded"
    PARTLY_REFUNDED = "partly_refunded"


ORDER_STATUSES = tuple(s.value for s in OrderStatus)


class PaymentOrder(Base):
    """One attempt to pay an account online. ``order_no`` is ours (the provider's out_trade_no)."""

    __tablename__ = "payment_orders"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "status IN ('created', 'paying', 'paid', 'closed', 'failed', 'refunded', 'partly_refunded')",
            name="status_known",
        ),
        Index("ix_payment_orders_account_id", "account_id"),
        Index("ix_payment_orders_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_no: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    amount: Mapped[Money]
    provider: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.CREATED)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    trade_no: Mapped[str | None] = mapped_column(String(64))  # the provider's trade number
    paid_amount: Mapped[Decimal | None] = mapped_column(MONEY)  # what the provider took
    paid_at: Mapped[dt.datetime | None]  # the provider's payment time
    settled_by: Mapped[str | None] = mapped_column(String(16))  # notice | query
    late: Mapped[bool] = mapped_column(default=False)  # paid after we had closed it (the money became a credit)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    refunded_amount: Mapped[Money] = mapped_column(default=Decimal("0.00"))


class NoticeOutcome(enum.StrEnum):
    SETTLED = "settled"  # this notice marked the order paid
    DUPLICATE = "duplicate"  # the order was already paid by this trade: acknowledged, nothing changed
    FORGED = "forged"  # the signature did not verify: refused, nothing changed
    UNKNOWN_ORDER = "unknown_order"  # signed, but for no order of ours (or another app): acknowledged, logged
    AMOUNT_DIFFERS = "amount_differs"  # paid, for another amount than the order's: recorded as received
    LATE = "late"  # paid after the order was closed: recorded, the money becomes a credit
    NOT_PAID = "not_paid"  # a status that is no payment (waiting, closed): the order follows it
    OTHER_TRADE = "other_trade"  # the order was paid by another trade: the second money is recorded too


class PaymentNotice(Base):
    """Every notice a provider POSTed, verified or not, with what it did (the trail of the online money)."""

    __tablename__ = "payment_notices"
    __table_args__ = (Index("ix_payment_notices_order_no", "order_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    order_no: Mapped[str] = mapped_column(String(64), default="")
    trade_no: Mapped[str] = mapped_column(String(64), default="")
    verified: Mapped[bool] = mapped_column(default=False)
    outcome: Mapped[str] = mapped_column(String(24))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    body: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)


class PaymentReconciliation(Base):
    """One provider's statement of one day matched against our orders (made by the morning task)."""

    __tablename__ = "payment_reconciliations"
    __table_args__ = (UniqueConstraint("provider", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    day: Mapped[dt.date]
    made_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    matched: Mapped[int] = mapped_column(default=0)
    missing_here: Mapped[int] = mapped_column(default=0)
    missing_there: Mapped[int] = mapped_column(default=0)
    amount_differs: Mapped[int] = mapped_column(default=0)


STATEMENT_KINDS = ("missing_here", "missing_there", "amount_differs")  # what a clerk looks at (matched: counted)


class StatementItem(Base):
    """One trade of a reconciliation that did not match (the clerk's report, the audit rule BZ-STATEMENT-MISMATCH).
    ``account_id`` is the order's account when the order is ours; ``recorded`` says a trade missing here was
    recorded from the statement."""

    __tablename__ = "payment_statement_items"
    __table_args__ = (
        CheckConstraint("kind IN ('missing_here', 'missing_there', 'amount_differs')", name="kind_known"),
        Index("ix_payment_statement_items_reconciliation_id", "reconciliation_id"),
        Index("ix_payment_statement_items_account_id", "account_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reconciliation_id: Mapped[int] = mapped_column(ForeignKey("payment_reconciliations.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(16))
    day: Mapped[dt.date]
    kind: Mapped[str] = mapped_column(String(16))
    order_no: Mapped[str] = mapped_column(String(64), default="")
    trade_no: Mapped[str] = mapped_column(String(64), default="")
    ours: Mapped[Decimal | None] = mapped_column(MONEY)
    theirs: Mapped[Decimal | None] = mapped_column(MONEY)
    recorded: Mapped[bool] = mapped_column(default=False)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))


class PaymentRefund(Base):
    """Part of an approved refund going back through the provider that took an online payment."""

    __tablename__ = "payment_refunds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("status IN ('requested', 'confirmed', 'failed')", name="status_known"),
        Index("ix_payment_refunds_order_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_no: Mapped[str] = mapped_column(String(40), unique=True)  # the provider's out_request_no
    order_id: Mapped[int] = mapped_column(ForeignKey("payment_orders.id"))
    adjustment_id: Mapped[int] = mapped_column(ForeignKey("adjustments.id"))
    amount: Mapped[Money]
    status: Mapped[str] = mapped_column(String(16), default="requested")
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[dt.datetime | None]
    tries: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(String(255), default="")
