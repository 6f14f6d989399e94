"""identity: one-time codes sent by SMS to prove a customer's mobile number at sign-up (``phone_codes``)

Revision ID: 0013_phone_codes
Revises: 0012_sign_in_sessions
Create Date: 2026-12-07 13:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_phone_codes"
down_revision = "0012_sign_in_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "phone_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_codes")),
    )
    op.create_index(op.f("ix_phone_codes_phone"), "phone_codes", ["phone"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_phone_codes_phone"), table_name="phone_codes")
    op.drop_table("phone_codes")
