"""audit: findings of an application without an account (a new connection before its connection step)

A finding belongs to an account or, without one, to its application's unit: ``findings.account_id`` may be null and
``findings.unit_id`` (the account's unit, else the application's) carries the scope.

Revision ID: 0019_findings_unit
Revises: 0017_builder
Create Date: 2026-12-08 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_findings_unit"
down_revision = "0017_builder"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
    # every finding so far sits on an account: its unit is the account's
    op.execute(
        "UPDATE findings SET unit_id = (SELECT accounts.unit_id FROM accounts WHERE accounts.id = findings.account_id)"
    )
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.alter_column("unit_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("account_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(op.f("fk_findings_unit_id_units"), "units", ["unit_id"], ["id"])
        batch_op.create_index("ix_findings_unit_id", ["unit_id"], unique=False)


def downgrade() -> None:
    # findings without an account cannot go back to a table that requires one
    op.execute("DELETE FROM finding_events WHERE finding_id IN (SELECT id FROM findings WHERE account_id IS NULL)")
    op.execute("DELETE FROM findings WHERE account_id IS NULL")
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index("ix_findings_unit_id")
        batch_op.drop_constraint(op.f("fk_findings_unit_id_units"), type_="foreignkey")
        batch_op.alter_column("account_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("unit_id")
