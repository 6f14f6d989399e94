"""billing: record_payment in one call on PostgreSQL (payment_record, payment_plan, payment_fee_for_days);
core: the transactional outbox (``outbox``), where payment_record puts its announcement

Revision ID: 0009_payment_record
Revises: 0008_trail_chains
Create Date: 2026-11-30 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from billing.payment_procedure import FUNCTIONS_DDL, FUNCTIONS_DROP_DDL

revision = "0009_payment_record"
down_revision = "0008_trail_chains"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in FUNCTIONS_DDL:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in FUNCTIONS_DROP_DDL:
            op.execute(statement)
    op.drop_table("outbox")
