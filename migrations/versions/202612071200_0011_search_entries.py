"""archive: the PostgreSQL search backend's index (``search_entries`` with a GIN-indexed tsvector, and
``search_index_state`` naming the live generation); unused with SEARCH_BACKEND=whoosh

Revision ID: 0011_search_entries
Revises: 0009_payment_record
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011_search_entries"
down_revision = "0010_payment_record_event"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_entries",
        sa.Column("generation", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("document_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("account_no", sa.String(length=20), nullable=False),
        sa.Column("holder_name", sa.String(length=128), nullable=False),
        sa.Column("unit_path", sa.String(length=512), nullable=False),
        sa.Column("doc_type", sa.String(length=40), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("formed_on", sa.Date(), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("terms", postgresql.TSVECTOR().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("generation", "document_id", name=op.f("pk_search_entries")),
        postgresql_with={"toast_tuple_target": 8160},
    )
    if op.get_bind().dialect.name == "postgresql":  # the tsvector stays in the row (a search reads every match's)
        op.execute("ALTER TABLE search_entries ALTER COLUMN terms SET STORAGE MAIN")
    with op.batch_alter_table("search_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_search_entries_account_no"), ["account_no"], unique=False)
        batch_op.create_index("ix_search_entries_terms", ["terms"], unique=False, postgresql_using="gin")

    op.create_table(
        "search_index_state",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("live_generation", sa.Integer(), nullable=False),
        sa.Column("last_generation", sa.Integer(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_search_index_state_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_index_state")),
    )


def downgrade() -> None:
    op.drop_table("search_index_state")
    with op.batch_alter_table("search_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_search_entries_terms", postgresql_using="gin")
        batch_op.drop_index(batch_op.f("ix_search_entries_account_no"))

    op.drop_table("search_entries")
