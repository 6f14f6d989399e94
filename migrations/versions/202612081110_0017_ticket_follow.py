"""Tickets: a passer-by's e-mail address and follow-up link (token hash).

Revision ID: 0017_ticket_follow
Revises: 0016_red_invoices
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_ticket_follow"
down_revision = "0016_red_invoices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("follow_token_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_tickets_follow_token_hash"), ["follow_token_hash"])


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_tickets_follow_token_hash"), type_="unique")
        batch_op.drop_column("follow_token_hash")
        batch_op.drop_column("contact_email")
