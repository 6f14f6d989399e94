"""trail: trail_append() appends an event in one call (lock, chain end, insert) on PostgreSQL

Revision ID: 0007_trail_append
Revises: 0006_archive
Create Date: 2026-11-30 14:40:00
"""

from __future__ import annotations

from alembic import op

from core.trail import APPEND_DDL, APPEND_DROP_DDL

revision = "0007_trail_append"
down_revision = "0006_archive"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in APPEND_DDL:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in APPEND_DROP_DDL:
            op.execute(statement)
