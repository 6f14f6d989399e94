"""trail: trail_append() appends an event in one call (lock, chain end, insert) on PostgreSQL

Revision ID: 0007_trail_append
Revises: 0006_archive
Create Date: 2026-11-30 14:40:00
"""

from __future__ import annotations

from alembic import op

# The function as this revision made it (frozen here: core.trail's current one belongs to later revisions).
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

revision = "0007_trail_append"
down_revision = "0006_archive"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in SINGLE_CHAIN_APPEND_DDL:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in SINGLE_CHAIN_APPEND_DROP_DDL:
            op.execute(statement)
