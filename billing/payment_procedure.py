"""``record_payment`` on PostgreSQL in one round trip: the rules of ``billing.ledger`` as database functions.

A payment posted through Python costs a dozen statements and about 3 ms of interpreter time, which capped
payment posting near 600 a second on two cores however free the database was. On PostgreSQL the whole of it
(the idempotent insert, the account's row lock, the plan of oldest bill first with its late fee before its
principal, the applications, the balance and the trail event) is one call of ``payment_record``.

The rules are written twice, so they are tested twice: ``payment_plan`` must plan as
``ledger.plan_application(ledger.open_bill_states(...))`` does (tests/billing/test_payment_procedure.py
compares both on many generated ledgers), and the trail event it appends must be the one ``trail.record``
would append (``trail.verify`` recomputes its hash in Python). Rates and the minimum fee are not written
twice: the caller passes the configured ``Rules``.

Statements in a VOLATILE PL/pgSQL function each take a fresh snapshot (READ COMMITTED), so the open bills are
read after the account's row lock is granted, as in the Python path.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import DDL, Table, bindparam, event, text

from core.db import UtcDateTime

# Late fee of ``principal`` for the days p_start..p_end inclusive, unrounded (ledger._fee_for_days).
# p_rates: residential, current year, earlier years (a day); the year of p_due decides what is "current".
FEE_FOR_DAYS_DDL = """
CREATE OR REPLACE FUNCTION payment_fee_for_days(
    p_principal numeric, p_start date, p_end date, p_due date, p_residential boolean, p_rates numeric[]
) RETURNS numeric LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    total numeric := 0;
    days integer;
BEGIN
    IF p_end < p_start OR p_principal <= 0 THEN
        RETURN total;
    END IF;
    FOR y IN extract(year FROM p_start)::integer .. extract(year FROM p_end)::integer LOOP
        days := least(p_end, make_date(y, 12, 31)) - greatest(p_start, make_date(y, 1, 1)) + 1;
        CONTINUE WHEN days <= 0;
        total := total + p_principal * days * CASE
            WHEN p_residential THEN p_rates[1]
            WHEN y = extract(year FROM p_due) THEN p_rates[2]
            ELSE p_rates[3]
        END;
    END LOOP;
    RETURN total;
END
$$
"""

# How p_amount paid on p_on settles the account's bills (ledger.open_bill_states + ledger.plan_application):
# oldest period first, each bill's late fee owed on p_on before its principal. One row per bill touched.
# p_rates: residential, current year, earlier years, minimum fee.
PLAN_DDL = """
CREATE OR REPLACE FUNCTION payment_plan(p_account_id integer, p_amount numeric, p_on date, p_rates numeric[])
RETURNS TABLE (bill_id integer, principal numeric, late_fee numeric) LANGUAGE plpgsql STABLE AS $$
DECLARE
    remaining numeric := p_amount;
    b record;
    accrued numeric;
    owed numeric;
    unpaid numeric;
    start_day date;
    i integer;
BEGIN
    FOR b IN
        SELECT bl.id, bl.due_date, bl.amount, bl.category = 'residential' AS residential,
               bl.amount + coalesce(adj.corrections, 0) AS charged, coalesce(adj.waivers, 0) AS waived,
               adj.bill_id IS NOT NULL AS adjusted,
               coalesce(app.days, '{}') AS days, coalesce(app.principals, '{}') AS principals,
               coalesce(app.fees, '{}') AS fees, coalesce(app.paid, 0) AS paid, coalesce(app.later, false) AS later
        FROM bills bl
        LEFT JOIN LATERAL (
            SELECT array_agg(a.applied_on ORDER BY a.applied_on, a.id) AS days,
                   array_agg(a.principal ORDER BY a.applied_on, a.id) AS principals,
                   array_agg(a.late_fee ORDER BY a.applied_on, a.id) AS fees,
                   sum(a.principal) AS paid, bool_or(a.applied_on > p_on) AS later
            FROM payment_applications a WHERE a.bill_id = bl.id
        ) app ON true
        LEFT JOIN (
            SELECT d.bill_id,
                   sum(d.amount) FILTER (WHERE d.kind = 'correction') AS corrections,
                   sum(d.amount) FILTER (WHERE d.kind = 'waiver') AS waivers
            FROM adjustments d
            WHERE d.account_id = p_account_id AND d.status = 'approved' AND d.bill_id IS NOT NULL
            GROUP BY d.bill_id
        ) adj ON adj.bill_id = bl.id
        WHERE bl.account_id = p_account_id
        ORDER BY bl.period
    LOOP
        EXIT WHEN remaining <= 0;
        -- open: principal unpaid, or adjusted, or money applied after p_on (ledger.open_bill_states)
        CONTINUE WHEN NOT (b.amount > b.paid OR b.adjusted OR b.later);
        -- the late fee accrued to p_on (BillState.accrued_late_fee), less fees paid by p_on and waivers
        accrued := 0;
        IF p_on > b.due_date THEN
            unpaid := b.charged;
            FOR i IN 1 .. coalesce(array_length(b.days, 1), 0) LOOP
                IF b.days[i] <= b.due_date THEN
                    unpaid := unpaid - b.principals[i];
                END IF;
            END LOOP;
            start_day := b.due_date + 1;
            FOR i IN 1 .. coalesce(array_length(b.days, 1), 0) LOOP
                CONTINUE WHEN b.days[i] <= b.due_date OR b.days[i] > p_on;
                accrued := accrued
                    + payment_fee_for_days(unpaid, start_day, b.days[i], b.due_date, b.residential, p_rates);
                unpaid := unpaid - b.principals[i];
                start_day := greatest(start_day, b.days[i] + 1);
            END LOOP;
            accrued := round(
                accrued + payment_fee_for_days(unpaid, start_day, p_on, b.due_date, b.residential, p_rates), 2
            );
            IF accrued > 0 AND accrued < p_rates[4] THEN
                accrued := p_rates[4];
            END IF;
        END IF;
        owed := accrued - b.waived;
        FOR i IN 1 .. coalesce(array_length(b.days, 1), 0) LOOP
            IF b.days[i] <= p_on THEN
                owed := owed - b.fees[i];
            END IF;
        END LOOP;
        late_fee := least(greatest(owed, 0), remaining);
        remaining := remaining - late_fee;
        principal := least(greatest(b.charged - b.paid, 0), remaining);
        remaining := remaining - principal;
        IF late_fee > 0 OR principal > 0 THEN
            bill_id := b.id;
            principal := principal::numeric(14, 2);
            late_fee := late_fee::numeric(14, 2);
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$
"""

# The whole of record_payment (billing.recorders.DatabaseFunctionRecorder). Returns one row: the payment's id
# and recorded_at, whether this call created it (false: the idempotency key was taken; the row is that
# payment's), and for a new payment the account's balance after it, the applications as JSON
# ([[bill_id, "principal", "fee"], ...]) and what went to the balance. With p_announce it puts the payment's
# outbox message. The trail event comes prepared by core.trail (prepare_for_database, filled: applied and
# to_balance): p_event is the hash input and p_after the after snapshot, each cut where this function puts the
# payment id (p_event only), the applications and the rest, in that order, as canonical JSON.
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

FUNCTIONS_DDL = (FEE_FOR_DAYS_DDL, PLAN_DDL, RECORD_DDL)
FUNCTIONS_DROP_DDL = (
    "DROP FUNCTION IF EXISTS payment_record(integer, text, numeric, text, timestamptz, date, text, text, text,"
    " integer, integer, timestamptz, numeric[], smallint, text[], text[], boolean)",
    "DROP FUNCTION IF EXISTS payment_plan(integer, numeric, date, numeric[])",
    "DROP FUNCTION IF EXISTS payment_fee_for_days(numeric, date, date, date, boolean, numeric[])",
)


def create_with(table: Table) -> None:
    """Create the functions (PostgreSQL) whenever ``table`` is created by ``metadata.create_all``."""
    for statement in FUNCTIONS_DDL:
        event.listen(table, "after_create", DDL(statement).execute_if(dialect="postgresql"))


RECORD = text(
    "SELECT payment_id, recorded_at, created, balance, applied, to_balance FROM payment_record("
    "CAST(:account_id AS integer), CAST(:account_no AS text), CAST(:amount AS numeric), CAST(:channel AS text),"
    " CAST(:paid_at AS timestamptz), CAST(:paid_on AS date), CAST(:reference AS text),"
    " CAST(:idempotency_key AS text), CAST(:request_hash AS text), CAST(:import_id AS integer),"
    " CAST(:recorded_by AS integer), CAST(:now AS timestamptz), CAST(:rates AS numeric[]),"
    " CAST(:chain AS smallint), CAST(:event AS text[]), CAST(:after AS text[]), CAST(:announce AS boolean))"
).bindparams(bindparam("paid_at", type_=UtcDateTime()), bindparam("now", type_=UtcDateTime()))

PLAN = text(
    "SELECT bill_id, principal, late_fee FROM payment_plan("
    "CAST(:account_id AS integer), CAST(:amount AS numeric), CAST(:on AS date), CAST(:rates AS numeric[]))"
)


def rates_of(rules: Any) -> list[Any]:
    """The ``p_rates`` array of the functions: residential, current-year, earlier-years rates, minimum fee."""
    return [rules.residential_rate, rules.current_year_rate, rules.earlier_years_rate, rules.minimum_fee]
