"""billing: online payment orders, the log of the providers' notices, statement reconciliations

Revision ID: 0014_payonline
Revises: 0012_readpath
Create Date: 2026-12-07 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_payonline"
down_revision = "0012_readpath"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_no", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trade_no", sa.String(length=64), nullable=True),
        sa.Column("paid_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_by", sa.String(length=16), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("refunded_amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_orders_amount_positive")),
        sa.CheckConstraint(
            "status IN ('created', 'paying', 'paid', 'closed', 'failed', 'refunded', 'partly_refunded')",
            name=op.f("ck_payment_orders_status_known"),
        ),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_payment_orders_account_id_accounts")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_payment_orders_created_by_users")),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name=op.f("fk_payment_orders_payment_id_payments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_orders")),
        sa.UniqueConstraint("order_no", name=op.f("uq_payment_orders_order_no")),
    )
    op.create_index("ix_payment_orders_account_id", "payment_orders", ["account_id"], unique=False)
    op.create_index("ix_payment_orders_status_expires_at", "payment_orders", ["status", "expires_at"], unique=False)
    op.create_table(
        "payment_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("order_no", sa.String(length=64), nullable=False),
        sa.Column("trade_no", sa.String(length=64), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_notices")),
    )
    op.create_index("ix_payment_notices_order_no", "payment_notices", ["order_no"], unique=False)
    op.create_table(
        "payment_reconciliations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("missing_here", sa.Integer(), nullable=False),
        sa.Column("missing_there", sa.Integer(), nullable=False),
        sa.Column("amount_differs", sa.Integer(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_reconciliations")),
        sa.UniqueConstraint("provider", "day", name=op.f("uq_payment_reconciliations_provider_day")),
    )

    op.create_table(
        "payment_refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("refund_no", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("adjustment_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=255), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_refunds_amount_positive")),
        sa.CheckConstraint(
            "status IN ('requested', 'confirmed', 'failed')", name=op.f("ck_payment_refunds_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["adjustment_id"], ["adjustments.id"], name=op.f("fk_payment_refunds_adjustment_id_adjustments")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["payment_orders.id"], name=op.f("fk_payment_refunds_order_id_payment_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refunds")),
        sa.UniqueConstraint("refund_no", name=op.f("uq_payment_refunds_refund_no")),
    )
    op.create_index("ix_payment_refunds_order_id", "payment_refunds", ["order_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_payment_refunds_order_id", table_name="payment_refunds")
    op.drop_table("payment_refunds")
    op.drop_table("payment_reconciliations")
    op.drop_index("ix_payment_notices_order_no", table_name="payment_notices")
    op.drop_table("payment_notices")
    op.drop_index("ix_payment_orders_status_expires_at", table_name="payment_orders")
    op.drop_index("ix_payment_orders_account_id", table_name="payment_orders")
    op.drop_table("payment_orders")
