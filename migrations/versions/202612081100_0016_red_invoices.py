"""billing: red-letter invoices (kind red, negative amounts, the invoice they cancel)

Revision ID: 0016_red_invoices
Revises: 0015_desk
Create Date: 2026-12-07 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_red_invoices"
down_revision = "0015_desk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.add_column(sa.Column("original_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_invoices_original_id_invoices"), "invoices", ["original_id"], ["id"])
        batch.create_index(op.f("ix_invoices_original_id"), ["original_id"])
        batch.drop_constraint(op.f("ck_invoices_amount_positive"), type_="check")
        batch.drop_constraint(op.f("ck_invoices_kind_known"), type_="check")
        batch.create_check_constraint(
            op.f("ck_invoices_amount_signed"), "(kind = 'red' AND amount < 0) OR (kind <> 'red' AND amount > 0)"
        )
        batch.create_check_constraint(op.f("ck_invoices_kind_known"), "kind IN ('per_payment', 'monthly', 'red')")
        batch.create_check_constraint(
            op.f("ck_invoices_red_has_original"), "(kind = 'red') = (original_id IS NOT NULL)"
        )


def downgrade() -> None:
    op.execute("DELETE FROM invoices WHERE kind = 'red'")
    with op.batch_alter_table("invoices") as batch:
        batch.drop_constraint(op.f("ck_invoices_red_has_original"), type_="check")
        batch.drop_constraint(op.f("ck_invoices_kind_known"), type_="check")
        batch.drop_constraint(op.f("ck_invoices_amount_signed"), type_="check")
        batch.create_check_constraint(op.f("ck_invoices_kind_known"), "kind IN ('per_payment', 'monthly')")
        batch.create_check_constraint(op.f("ck_invoices_amount_positive"), "amount > 0")
        batch.drop_index(op.f("ix_invoices_original_id"))
        batch.drop_constraint(op.f("fk_invoices_original_id_invoices"), type_="foreignkey")
        batch.drop_column("original_id")
