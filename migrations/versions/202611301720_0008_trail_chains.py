"""trail: one chain per group of accounts (``trail_events.chain``), each with its own lock

Existing events stay in chain 0, where they were chained already; new events go to their account's chain.
``(chain, prev_hash)`` is unique (no fork in a chain) instead of ``hash`` (which nothing looks up).

Revision ID: 0008_trail_chains
Revises: 0007_trail_append
Create Date: 2026-11-30 17:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_trail_chains"
down_revision = "0007_trail_append"
branch_labels = None
depends_on = None

# trail_append as this revision makes it (a frozen copy: core.trail's current text may be newer)
APPEND_DDL = (
    """
    CREATE OR REPLACE FUNCTION trail_append(
        p_at timestamptz, p_actor_id integer, p_action text, p_entity text, p_entity_id text,
        p_before json, p_after json, p_account_no text, p_chain smallint, p_rest text
    ) RETURNS TABLE (event_id bigint, event_prev_hash text, event_hash text) LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        prev text;
        digest text;
        new_id bigint;
    BEGIN
        PERFORM pg_advisory_xact_lock(7110422, p_chain);
        SELECT t.hash INTO prev FROM trail_events t WHERE t.chain = p_chain ORDER BY t.id DESC LIMIT 1;
        prev := coalesce(prev, '0000000000000000000000000000000000000000000000000000000000000000');
        digest := encode(sha256(convert_to('["' || prev || '",' || p_rest, 'UTF8')), 'hex');
        INSERT INTO trail_events
            (at, actor_id, action, entity, entity_id, before, after, prev_hash, hash, account_no, chain)
        VALUES (p_at, p_actor_id, p_action, p_entity, p_entity_id, p_before, p_after, prev, digest, p_account_no,
                p_chain)
        RETURNING id INTO new_id;
        RETURN QUERY SELECT new_id, prev, digest;
    END
    $$
    """,
)
APPEND_DROP_DDL = (
    "DROP FUNCTION IF EXISTS trail_append(timestamptz, integer, text, text, text, json, json, text, smallint, text)",
)

# trail_append as revision 0007 made it (the downgrade restores it)
SINGLE_CHAIN_APPEND_DDL = (
    """
    CREATE OR REPLACE FUNCTION trail_append(
        p_at timestamptz, p_actor_id integer, p_action text, p_entity text, p_entity_id text,
        p_before json, p_after json, p_account_no text, p_rest text
    ) RETURNS TABLE (event_id bigint, event_prev_hash text, event_hash text) LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        prev text;
        digest text;
        new_id bigint;
    BEGIN
        PERFORM pg_advisory_xact_lock(7110422);
        SELECT t.hash INTO prev FROM trail_events t ORDER BY t.id DESC LIMIT 1;
        prev := coalesce(prev, '0000000000000000000000000000000000000000000000000000000000000000');
        digest := encode(sha256(convert_to('["' || prev || '",' || p_rest, 'UTF8')), 'hex');
        INSERT INTO trail_events (at, actor_id, action, entity, entity_id, before, after, prev_hash, hash, account_no)
        VALUES (p_at, p_actor_id, p_action, p_entity, p_entity_id, p_before, p_after, prev, digest, p_account_no)
        RETURNING id INTO new_id;
        RETURN QUERY SELECT new_id, prev, digest;
    END
    $$
    """,
)
SINGLE_CHAIN_APPEND_DROP_DDL = (
    "DROP FUNCTION IF EXISTS trail_append(timestamptz, integer, text, text, text, json, json, text, text)",
)


def upgrade() -> None:
    op.add_column("trail_events", sa.Column("chain", sa.SmallInteger(), server_default=sa.text("0"), nullable=False))
    op.create_index("ix_trail_events_chain", "trail_events", ["chain", "id"], unique=False)
    with op.batch_alter_table("trail_events") as batch:
        batch.drop_constraint("uq_trail_events_hash", type_="unique")
        batch.create_unique_constraint("uq_trail_events_chain_prev_hash", ["chain", "prev_hash"])
    if op.get_bind().dialect.name == "postgresql":
        for statement in (*SINGLE_CHAIN_APPEND_DROP_DDL, *APPEND_DDL):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in (*APPEND_DROP_DDL, *SINGLE_CHAIN_APPEND_DDL):
            op.execute(statement)
    with op.batch_alter_table("trail_events") as batch:
        batch.drop_constraint("uq_trail_events_chain_prev_hash", type_="unique")
        batch.create_unique_constraint("uq_trail_events_hash", ["hash"])
    op.drop_index("ix_trail_events_chain", table_name="trail_events")
    with op.batch_alter_table("trail_events") as batch:
        batch.drop_column("chain")
