"""trail: one chain per group of accounts (``trail_events.chain``), each with its own lock

Existing events stay in chain 0, where they were chained already; new events go to their account's chain.
``(chain, prev_hash)`` is unique (no fork in a chain) instead of ``hash`` (which nothing looks up).

Revision ID: 0008_trail_chains
Revises: 0007_trail_append
Create Date: 2026-11-30 17:20:00
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op

from core.trail import APPEND_DDL, APPEND_DROP_DDL

revision = "0008_trail_chains"
down_revision = "0007_trail_append"
branch_labels = None
depends_on = None


def _load_previous() -> Any:
    """Revision 0007's module (its frozen single-chain function, which the downgrade restores)."""
    spec = importlib.util.spec_from_file_location(
        "trail_append_0007", Path(__file__).with_name("202611301440_0007_trail_append.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_previous = _load_previous()


def upgrade() -> None:
    op.add_column("trail_events", sa.Column("chain", sa.SmallInteger(), server_default=sa.text("0"), nullable=False))
    op.create_index("ix_trail_events_chain", "trail_events", ["chain", "id"], unique=False)
    with op.batch_alter_table("trail_events") as batch:
        batch.drop_constraint("uq_trail_events_hash", type_="unique")
        batch.create_unique_constraint("uq_trail_events_chain_prev_hash", ["chain", "prev_hash"])
    if op.get_bind().dialect.name == "postgresql":
        for statement in (*_previous.SINGLE_CHAIN_APPEND_DROP_DDL, *APPEND_DDL):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in (*APPEND_DROP_DDL, *_previous.SINGLE_CHAIN_APPEND_DDL):
            op.execute(statement)
    with op.batch_alter_table("trail_events") as batch:
        batch.drop_constraint("uq_trail_events_chain_prev_hash", type_="unique")
        batch.create_unique_constraint("uq_trail_events_hash", ["hash"])
    op.drop_index("ix_trail_events_chain", table_name="trail_events")
    with op.batch_alter_table("trail_events") as batch:
        batch.drop_column("chain")
