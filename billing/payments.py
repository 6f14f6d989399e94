"""Payments recorded exactly once and applied oldest bill first (late fee before principal).

The idempotency key is unique in the database and decides: the payment row goes in with ``ON CONFLICT DO
NOTHING``, so of concurrent submissions with one key the first stores the payment and the others wait for its
commit, then find it and get it back (with another body, a 409). Applying the money takes the account's row
lock, so payments to one account queue and payments to different accounts run side by side.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from billing import payment_procedure, signals
from billing.ledger import open_bill_states, plan_application
from billing.models import Account, Payment, PaymentApplication
from billing.rules import CENT, Rules, current_rules
from core import outbox, trail
from core.db import is_postgresql, utcnow
from core.errors import Conflict, InvalidInput

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")
PAYMENT_RECORDED = "billing.payment_recorded"  # outbox topic; payload {"payment_id": id}


def request_hash(fields: dict[str, Any], explicit_paid_at: bool) -> str:
    canonical = {
        "account_no": fields["account_no"],
        "amount": str(fields["amount"]),
        "channel": fields["channel"],
        "paid_at": fields["paid_at"].isoformat() if explicit_paid_at else None,
        "reference": fields["reference"],
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def _existing(session: Session, key: str, digest: str) -> Payment | None:
    payment = session.scalar(select(Payment).where(Payment.idempotency_key == key))
    if payment is not None and payment.request_hash != digest:
        raise Conflict("idempotency_key_reused")
    return payment


_PAYMENTS = cast(Table, Payment.__table__)
_APPLICATIONS = cast(Table, PaymentApplication.__table__)
_ACCOUNTS = cast(Table, Account.__table__)


@functools.cache
def _insert_once_stmt(dialect: str) -> Any:
    """Core INSERT of the payment unless its idempotency key exists, returning its id and recorded_at (built once)."""
    stmt: Any = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(_PAYMENTS)
    return stmt.on_conflict_do_nothing(index_elements=[_PAYMENTS.c.idempotency_key]).returning(
        _PAYMENTS.c.id, _PAYMENTS.c.recorded_at
    )


_LOCK_ACCOUNT_ROW = (
    select(_ACCOUNTS.c.account_no, _ACCOUNTS.c.balance)
    .where(_ACCOUNTS.c.id == bindparam("account_id"))
    .with_for_update(key_share=True)
)
_ADD_TO_BALANCE = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.id == bindparam("account_id"))
    .values(balance=_ACCOUNTS.c.balance + bindparam("rest", type_=_ACCOUNTS.c.balance.type))
)
_INSERT_APPLICATIONS = insert(_APPLICATIONS)


def _attach(session: Session, values: dict[str, Any]) -> Payment:
    """The stored payment as a persistent ``Payment`` in the session (as if loaded), built from known values."""
    payment = Payment(**values)
    make_transient_to_detached(payment)
    session.add(payment)
    return payment


def _payment_values(
    account_id: int,
    fields: dict[str, Any],
    idempotency_key: str,
    digest: str,
    actor_id: int | None,
    import_id: int | None,
) -> tuple[dict[str, Any], dt.date]:
    """The payment row's values as the columns store them, and the local day it was paid on."""
    key = idempotency_key.strip()
    if not key or len(key) > 128:
        raise InvalidInput("idempotency_key_required")
    paid_at: dt.datetime = fields["paid_at"].astimezone(dt.UTC)
    values = {
        "account_id": account_id,
        "amount": Decimal(fields["amount"]).quantize(CENT, rounding=ROUND_HALF_UP),
        "channel": fields["channel"],
        "paid_at": paid_at,
        "reference": fields["reference"],
        "idempotency_key": key,
        "request_hash": digest,
        "import_id": import_id,
        "recorded_by": actor_id,
    }
    return values, paid_at.astimezone(LOCAL_ZONE).date()


def record_payment(
    session: Session,
    account: Account,
    fields: dict[str, Any],
    *,
    idempotency_key: str,
    digest: str,
    actor_id: int | None,
    import_id: int | None = None,
    rules: Rules | None = None,
    announce: bool = True,
) -> tuple[Payment, bool]:
    """Record the payment once: returns (payment, created). A replay returns the first payment.

    The payment is announced through the outbox (``PAYMENT_RECORDED``, relayed after the commit as the
    ``payments_recorded`` signal); ``announce`` false records history (demo data) without it. Concurrency: the
    payment row first (its unique key queues requests with the same key), then the account's row lock (queues
    payments to the same account while the money is applied); payments to other accounts never wait.

    On PostgreSQL all of it is one call of the database function ``payment_record`` (billing.payment_procedure,
    the same rules, tested against this code). Elsewhere it is SQLAlchemy Core: the INSERT ... ON CONFLICT DO
    NOTHING RETURNING of the payment, the account row lock reading its number and balance, the account's open
    bills in one query, the application planned in plain Python, the applications in one executemany, the
    balance UPDATE only when money is left over. The ``account`` object's balance is set to the stored one.
    """
    account_id = account.id
    values, paid_on = _payment_values(account_id, fields, idempotency_key, digest, actor_id, import_id)
    key, amount, paid_at = values["idempotency_key"], values["amount"], values["paid_at"]
    rules = rules or current_rules()
    # The unique key decides in the database: a concurrent request with the same key waits for the first to
    # commit (then finds its payment) or roll back (then inserts its own). No savepoint, no read before.
    conn = session.connection()  # Core statements go to the connection: no ORM execution layer around them
    if conn.dialect.name == "postgresql":
        return _record_in_database(session, account, values, paid_on, rules, announce)
    row = conn.execute(_insert_once_stmt(conn.dialect.name), values).one_or_none()
    if row is None:
        existing = _existing(session, key, digest)
        if existing is None:  # cannot happen: the conflicting row is committed (or ours) once the INSERT returns
            raise RuntimeError(f"payment with idempotency key {key!r} conflicted but cannot be read")
        return existing, False
    payment_id, recorded_at = row
    account_no, balance = conn.execute(_LOCK_ACCOUNT_ROW, {"account_id": account_id}).one()
    plan, rest = plan_application(open_bill_states(session, account_id, paid_on), amount, paid_on, rules)
    applied = [[state.bill.id, principal, fee] for state, principal, fee in plan]
    if applied:
        conn.execute(
            _INSERT_APPLICATIONS,
            [
                {"payment_id": payment_id, "bill_id": b, "applied_on": paid_on, "principal": p, "late_fee": f}
                for b, p, f in applied
            ],
        )
    if rest:
        conn.execute(_ADD_TO_BALANCE, {"account_id": account_id, "rest": rest})
        balance += rest
    set_committed_value(account, "balance", balance)  # what the row lock read, plus the rest (stored above)
    trail.record(
        session,
        actor_id=actor_id,
        action="payment.recorded",
        entity="payment",
        entity_id=payment_id,
        after={
            "account_no": account_no,
            "amount": amount,
            "channel": values["channel"],
            "paid_at": paid_at,
            "reference": values["reference"],
            "idempotency_key": key,
            "applied": applied,
            "to_balance": rest,
        },
    )
    if announce:
        outbox.put(session, PAYMENT_RECORDED, {"payment_id": payment_id})
    return _attach(session, {**values, "id": payment_id, "recorded_at": recorded_at}), True


def announce_recorded(payloads: list[dict[str, Any]]) -> None:
    """The outbox relay's handler of ``PAYMENT_RECORDED``: one ``payments_recorded`` signal for the batch."""
    signals.payments_recorded.send("billing", payment_ids=[int(p["payment_id"]) for p in payloads])


def _record_in_database(
    session: Session, account: Account, values: dict[str, Any], paid_on: dt.date, rules: Rules, announce: bool
) -> tuple[Payment, bool]:
    """``record_payment`` on PostgreSQL: one call of ``payment_record`` (billing.payment_procedure), in the
    session's transaction."""
    session.flush()  # rows the payment refers to (an import being recorded) must be in the database first
    now = utcnow()
    row = session.connection().execute(
        payment_procedure.RECORD, _call_values(account.account_no, values, paid_on, rules, announce, now)
    )
    payment, created = _outcome(session, account, values, row.one(), now)
    if created and announce:
        outbox.queued_in_database(session)  # the function put the PAYMENT_RECORDED message
    return payment, created


def _call_values(
    account_no: str, values: dict[str, Any], paid_on: dt.date, rules: Rules, announce: bool, now: dt.datetime
) -> dict[str, Any]:
    """``payment_record``'s arguments. The trail event's parts known here are serialised here, as
    ``trail.record`` would (the function adds the payment id, the applications and the rest)."""
    head = trail.canonical_json([now.isoformat(), values["recorded_by"], "payment.recorded", "payment"])
    after_mid = trail.canonical_json(
        {
            "channel": values["channel"],
            "idempotency_key": values["idempotency_key"],
            "paid_at": values["paid_at"].isoformat(),
            "reference": values["reference"],
        }
    )
    return {
        **values,
        "account_no": account_no,
        "paid_on": paid_on,
        "now": now,
        "rates": payment_procedure.rates_of(rules),
        "chain": trail.chain_of(account_no),
        "event_head": head[1:-1] + ",",
        "after_mid": after_mid[1:-1],
        "announce": announce,
    }


def _outcome(
    session: Session, account: Account, values: dict[str, Any], row: Any, now: dt.datetime
) -> tuple[Payment, bool]:
    """(payment, created) from ``payment_record``'s row: the new payment, or the one its key found first."""
    payment_id, _recorded_at, created, balance, _applied, _rest = row
    if not created:
        existing = _existing(session, values["idempotency_key"], values["request_hash"])
        if existing is None:  # cannot happen: the function found the conflicting payment committed
            raise RuntimeError(f"payment with idempotency key {values['idempotency_key']!r} cannot be read")
        return existing, False
    set_committed_value(account, "balance", balance)
    return _attach(session, {**values, "id": payment_id, "recorded_at": now}), True


def post_payment(
    session: Session,
    account: Account,
    fields: dict[str, Any],
    *,
    idempotency_key: str,
    digest: str,
    actor_id: int | None,
    rules: Rules | None = None,
) -> tuple[Payment, bool]:
    """Record one payment as a unit of work of its own, committed on return: (payment, created).

    For a payment that is a request of its own (the API, the counter). On PostgreSQL the session's transaction
    is committed first (it holds the caller's reads; its connection goes back to the pool), then
    ``payment_record`` runs as a transaction by itself on a pooled connection: one round trip, the commit
    included. Elsewhere ``record_payment`` runs in the session and the session commits.
    """
    if not is_postgresql(session):
        result = record_payment(
            session, account, fields, idempotency_key=idempotency_key, digest=digest, actor_id=actor_id, rules=rules
        )
        session.commit()
        return result
    session.commit()
    values, paid_on = _payment_values(account.id, fields, idempotency_key, digest, actor_id, None)
    now = utcnow()
    call = _call_values(account.account_no, values, paid_on, rules or current_rules(), True, now)
    # The driver's own connection: through a SQLAlchemy Connection with an AUTOCOMMIT isolation level the same
    # call cost a quarter of the throughput. Its errors are raised as SQLAlchemy's, as every other statement's.
    engine = session.get_bind().engine
    dbapi_error = engine.dialect.loaded_dbapi.Error
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        assert driver is not None
        driver.autocommit = True  # the statement is its transaction: no BEGIN and COMMIT round trips
        try:
            row = driver.execute(_record_sql(), call, prepare=True).fetchone()
        except dbapi_error as exc:
            if engine.dialect.is_disconnect(exc, raw.dbapi_connection, None):
                raw.invalidate(exc)  # the pool replaces it
            raise DBAPIError.instance(_record_sql(), call, exc, dbapi_error) from exc
        finally:
            if raw.is_valid:
                driver.autocommit = False
    finally:
        raw.close()
    payment, created = _outcome(session, account, values, row, now)
    if created:
        outbox.kick()  # committed already, with its PAYMENT_RECORDED message
    return payment, created


@functools.cache
def _record_sql() -> str:
    """``payment_procedure.RECORD`` in the driver's own parameter style (compiled once)."""
    from sqlalchemy.dialects import postgresql

    return str(payment_procedure.RECORD.compile(dialect=postgresql.psycopg.dialect()))
