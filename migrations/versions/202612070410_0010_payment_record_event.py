"""billing: payment_record takes its trail event as core.trail prepares it (``p_event``, ``p_after``: the known
parts, cut where the function puts the payment id, the applications and the rest) instead of a head and the
middle of the after snapshot built by billing

Revision ID: 0010_payment_record_event
Revises: 0009_payment_record
Create Date: 2026-12-07 04:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0010_payment_record_event"
down_revision = "0009_payment_record"
branch_labels = None
depends_on = None

# payment_record as this revision makes it (frozen: billing.payment_procedure's current text may be newer)
RECORD_DDL = """
CREATE OR REPLACE FUNCTION payment_record(
    p_account_id integer, p_account_no text, p_amount numeric, p_channel text, p_paid_at timestamptz,
    p_paid_on date, p_reference text, p_idempotency_key text, p_request_hash text, p_import_id integer,
    p_recorded_by integer, p_now timestamptz, p_rates numeric[], p_chain smallint, p_event text[], p_after text[],
    p_announce boolean
) RETURNS TABLE (
    payment_id integer, recorded_at timestamptz, created boolean, balance numeric, applied text, to_balance numeric
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    new_id integer;
    stored_no text;
    new_balance numeric;
    rest numeric := p_amount::numeric(14, 2);
    step record;
    applied_json text := '';
    rest_json text;
BEGIN
    INSERT INTO payments (account_id, amount, channel, paid_at, reference, idempotency_key, request_hash,
                          import_id, recorded_by, recorded_at)
    VALUES (p_account_id, p_amount, p_channel, p_paid_at, p_reference, p_idempotency_key, p_request_hash,
            p_import_id, p_recorded_by, p_now)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id INTO new_id;
    IF new_id IS NULL THEN  -- the key's first payment committed while this INSERT waited, or long before
        RETURN QUERY SELECT p.id, p.recorded_at, false, NULL::numeric, NULL::text, NULL::numeric
            FROM payments p WHERE p.idempotency_key = p_idempotency_key;
        RETURN;
    END IF;
    SELECT a.account_no, a.balance INTO stored_no, new_balance
        FROM accounts a WHERE a.id = p_account_id FOR NO KEY UPDATE;
    IF stored_no IS DISTINCT FROM p_account_no THEN
        RAISE EXCEPTION USING MESSAGE = 'account ' || p_account_id || ' is not number ' || p_account_no;
    END IF;
    FOR step IN SELECT * FROM payment_plan(p_account_id, rest, p_paid_on, p_rates) LOOP
        INSERT INTO payment_applications (payment_id, bill_id, applied_on, principal, late_fee, created_at)
        VALUES (new_id, step.bill_id, p_paid_on, step.principal, step.late_fee, p_now);
        rest := rest - step.principal - step.late_fee;
        applied_json := applied_json || CASE WHEN applied_json = '' THEN '[' ELSE ',[' END || step.bill_id
            || ',' || to_json(step.principal::text) || ',' || to_json(step.late_fee::text) || ']';
    END LOOP;
    IF rest > 0 THEN
        UPDATE accounts SET balance = accounts.balance + rest WHERE id = p_account_id;
        new_balance := new_balance + rest;
    END IF;
    applied_json := '[' || applied_json || ']';
    rest_json := to_json(rest::text)::text;
    PERFORM trail_append(p_now, p_recorded_by, 'payment.recorded', 'payment', new_id::text, 'null'::json,
                         (p_after[1] || applied_json || p_after[2] || rest_json || p_after[3])::json, stored_no,
                         p_chain, p_event[1] || to_json(new_id::text) || p_event[2] || applied_json || p_event[3]
                         || rest_json || p_event[4]);
    IF p_announce THEN  -- billing.topics.PAYMENT_RECORDED, as outbox.put would write it
        INSERT INTO outbox (topic, payload, created_at)
        VALUES ('billing.payment_recorded', json_build_object('payment_id', new_id), p_now);
    END IF;
    RETURN QUERY SELECT new_id, p_now, true, new_balance, applied_json, rest;
END
$$
"""
RECORD_DROP_DDL = (
    "DROP FUNCTION IF EXISTS payment_record(integer, text, numeric, text, timestamptz, date, text, text, text,"
    " integer, integer, timestamptz, numeric[], smallint, text[], text[], boolean)"
)

# payment_record as revision 0009 made it (restored by the downgrade)
PREVIOUS_RECORD_DDL = """
CREATE OR REPLACE FUNCTION payment_record(
    p_account_id integer, p_account_no text, p_amount numeric, p_channel text, p_paid_at timestamptz,
    p_paid_on date, p_reference text, p_idempotency_key text, p_request_hash text, p_import_id integer,
    p_recorded_by integer, p_now timestamptz, p_rates numeric[], p_chain smallint, p_event_head text,
    p_after_mid text, p_announce boolean
) RETURNS TABLE (
    payment_id integer, recorded_at timestamptz, created boolean, balance numeric, applied text, to_balance numeric
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    new_id integer;
    stored_no text;
    new_balance numeric;
    rest numeric := p_amount::numeric(14, 2);
    step record;
    applied_json text := '';
    after_json text;
BEGIN
    INSERT INTO payments (account_id, amount, channel, paid_at, reference, idempotency_key, request_hash,
                          import_id, recorded_by, recorded_at)
    VALUES (p_account_id, p_amount, p_channel, p_paid_at, p_reference, p_idempotency_key, p_request_hash,
            p_import_id, p_recorded_by, p_now)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id INTO new_id;
    IF new_id IS NULL THEN  -- the key's first payment committed while this INSERT waited, or long before
        RETURN QUERY SELECT p.id, p.recorded_at, false, NULL::numeric, NULL::text, NULL::numeric
            FROM payments p WHERE p.idempotency_key = p_idempotency_key;
        RETURN;
    END IF;
    SELECT a.account_no, a.balance INTO stored_no, new_balance
        FROM accounts a WHERE a.id = p_account_id FOR NO KEY UPDATE;
    IF stored_no IS DISTINCT FROM p_account_no THEN
        RAISE EXCEPTION USING MESSAGE = 'account ' || p_account_id || ' is not number ' || p_account_no;
    END IF;
    FOR step IN SELECT * FROM payment_plan(p_account_id, rest, p_paid_on, p_rates) LOOP
        INSERT INTO payment_applications (payment_id, bill_id, applied_on, principal, late_fee, created_at)
        VALUES (new_id, step.bill_id, p_paid_on, step.principal, step.late_fee, p_now);
        rest := rest - step.principal - step.late_fee;
        applied_json := applied_json || CASE WHEN applied_json = '' THEN '[' ELSE ',[' END || step.bill_id
            || ',' || to_json(step.principal::text) || ',' || to_json(step.late_fee::text) || ']';
    END LOOP;
    IF rest > 0 THEN
        UPDATE accounts SET balance = accounts.balance + rest WHERE id = p_account_id;
        new_balance := new_balance + rest;
    END IF;
    after_json := '{"account_no":' || to_json(stored_no) || ',"amount":' || to_json(p_amount::numeric(14, 2)::text)
        || ',"applied":[' || applied_json || '],' || p_after_mid || ',"to_balance":' || to_json(rest::text) || '}';
    PERFORM trail_append(p_now, p_recorded_by, 'payment.recorded', 'payment', new_id::text, 'null'::json,
                         after_json::json, stored_no, p_chain,
                         p_event_head || to_json(new_id::text) || ',null,' || after_json || ']');
    IF p_announce THEN  -- billing.payments.PAYMENT_RECORDED, as outbox.put would write it
        INSERT INTO outbox (topic, payload, created_at)
        VALUES ('billing.payment_recorded', json_build_object('payment_id', new_id), p_now);
    END IF;
    RETURN QUERY SELECT new_id, p_now, true, new_balance, '[' || applied_json || ']', rest;
END
$$
"""
PREVIOUS_RECORD_DROP_DDL = (
    "DROP FUNCTION IF EXISTS payment_record(integer, text, numeric, text, timestamptz, date, text, text, text,"
    " integer, integer, timestamptz, numeric[], smallint, text, text, boolean)"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PREVIOUS_RECORD_DROP_DDL)
        op.execute(RECORD_DDL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(RECORD_DROP_DDL)
        op.execute(PREVIOUS_RECORD_DDL)
