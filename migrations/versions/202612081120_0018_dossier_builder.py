"""archive: who builds the dossier (建档单位), by capacity tier

Revision ID: 0017_builder
Revises: 0017_ticket_follow
Create Date: 2026-12-08 11:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_builder"
down_revision = "0017_ticket_follow"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("builder", sa.String(length=24), server_default="", nullable=False))
    # the dossiers kept so far were built by whoever their account's tier names (archive.checklists)
    op.execute(
        """
        UPDATE dossiers SET builder = (
            SELECT CASE
                WHEN accounts.capacity_kva >= 315 THEN 'market_development'
                WHEN accounts.capacity_kva >= 50 THEN 'marketing_unit'
                ELSE 'marketing_department'
            END
            FROM accounts WHERE accounts.account_no = dossiers.account_no
        )
        WHERE EXISTS (SELECT 1 FROM accounts WHERE accounts.account_no = dossiers.account_no)
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.drop_column("builder")
