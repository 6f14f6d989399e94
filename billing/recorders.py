"""The two payment recorders (``billing.interfaces.PaymentRecorder``), one picked per database.

``PythonPlanRecorder`` works on any database with SQLAlchemy Core statements and the plan of ``billing.ledger``;
``DatabaseFunctionRecorder`` is one call of the PostgreSQL function ``payment_record`` (billing.payment_procedure,
the same rules, tested against the Python plan). Both write the payment's trail event as ``core.trail`` prepares
it and its outbox message (``PAYMENT_RECORDED``).

Concurrency, in both: the payment row first (its unique idempotency key queues requests with the same key: a
second one waits for the first to commit, then finds its payment, or to roll back, then inserts its own; no
savepoint, no read before), then the account's row lock (queues payments to the same account while the money is
applied); payments to other accounts never wait.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from billing import payment_procedure
from billing.interfaces import PaymentRecorder
from billing.ledger import open_bill_states, plan_application
from billing.models import Account, Payment, PaymentApplication
from billing.rules import Rules
from billing.topics import PAYMENT_RECORDED
from core import outbox, trail
from core.errors import Conflict

ACTION = "payment.recorded"  # the trail event's action and entity
ENTITY = "payment"
_FILLED = ("applied", "to_balance")  # what the plan decides: the function fills these into the prepared event

_PAYMENTS = cast(Table, Payment.__table__)
_APPLICATIONS = cast(Table, PaymentApplication.__table__)
_ACCOUNTS = cast(Table, Account.__table__)


def recorder_for(session: Session) -> PaymentRecorder:
    """The recorder of the session's database (one instance per dialect, made on first use)."""
    return _recorder(session.get_bind().dialect.name)


@functools.cache
def _recorder(dialect: str) -> PaymentRecorder:
    return DatabaseFunctionRecorder() if dialect == "postgresql" else PythonPlanRecorder(dialect)


def _known_after(account_no: str, values: dict[str, Any]) -> dict[str, Any]:
    """The trail event's ``after`` snapshot but for what the plan decides (``applied``, ``to_balance``)."""
    return {
        "account_no": account_no,
        "amount": values["amount"],
        "channel": values["channel"],
        "paid_at": values["paid_at"],
        "reference": values["reference"],
        "idempotency_key": values["idempotency_key"],
    }


def _existing(session: Session, key: str, digest: str) -> Payment:
    """The payment stored first with this key (a replay); its key used for another payment is a conflict."""
    payment = session.scalar(select(Payment).where(Payment.idempotency_key == key))
    if payment is None:  # cannot happen: the conflicting row is committed (or ours) once the INSERT returns
        raise RuntimeError(f"payment with idempotency key {key!r} conflicted but cannot be read")
    if payment.request_hash != digest:
        raise Conflict("idempotency_key_reused")
    return payment


def _attach(session: Session, values: dict[str, Any]) -> Payment:
    """The stored payment as a persistent ``Payment`` in the session (as if loaded), built from known values."""
    payment = Payment(**values)
    make_transient_to_detached(payment)
    session.add(payment)
    return payment


_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
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


class PythonPlanRecorder:
    """SQLAlchemy Core on the session's connection: the INSERT ... ON CONFLICT DO NOTHING RETURNING of the payment,
    the account row lock reading its number and balance, the account's open bills in one query, the application
    planned in plain Python, the applications in one executemany, the balance UPDATE only when money is left over,
    the trail event through ``trail.record``."""

    def __init__(self, dialect: str) -> None:
        stmt: Any = _INSERTS[dialect](_PAYMENTS)
        self._insert_once = stmt.on_conflict_do_nothing(index_elements=[_PAYMENTS.c.idempotency_key]).returning(
            _PAYMENTS.c.id, _PAYMENTS.c.recorded_at
        )

    def record(
        self,
        session: Session,
        account: Account,
        values: dict[str, Any],
        paid_on: dt.date,
        rules: Rules,
        *,
        announce: bool,
    ) -> tuple[Payment, bool]:
        conn = session.connection()  # Core statements go to the connection: no ORM execution layer around them
        row = conn.execute(self._insert_once, values).one_or_none()
        if row is None:
            return _existing(session, values["idempotency_key"], values["request_hash"]), False
        payment_id, recorded_at = row
        account_id, amount = values["account_id"], values["amount"]
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
        after = {**_known_after(account_no, values), "applied": applied, "to_balance": rest}
        trail.record(
            session, actor_id=values["recorded_by"], action=ACTION, entity=ENTITY, entity_id=payment_id, after=after
        )
        if announce:
            outbox.put(session, PAYMENT_RECORDED, {"payment_id": payment_id})
        return _attach(session, {**values, "id": payment_id, "recorded_at": recorded_at}), True

    def post(
        self, session: Session, account: Account, values: dict[str, Any], paid_on: dt.date, rules: Rules
    ) -> tuple[Payment, bool]:
        result = self.record(session, account, values, paid_on, rules, announce=True)
        session.commit()
        return result


class DatabaseFunctionRecorder:
    """PostgreSQL: one call of ``payment_record``, which inserts the payment (or finds the key's first one), takes
    the account's row lock, plans and applies, updates the balance, completes and appends the trail event
    ``core.trail`` prepared, and puts the outbox message."""

    def record(
        self,
        session: Session,
        account: Account,
        values: dict[str, Any],
        paid_on: dt.date,
        rules: Rules,
        *,
        announce: bool,
    ) -> tuple[Payment, bool]:
        session.flush()  # rows the payment refers to (an import being recorded) must be in the database first
        call = _call_values(account.account_no, values, paid_on, rules, announce)
        row = session.connection().execute(payment_procedure.RECORD, call).one()
        payment, created = _outcome(session, account, values, row, call["now"])
        if created and announce:
            outbox.queued_in_database(session)  # the function put the PAYMENT_RECORDED message
        return payment, created

    def post(
        self, session: Session, account: Account, values: dict[str, Any], paid_on: dt.date, rules: Rules
    ) -> tuple[Payment, bool]:
        """The session's transaction is committed first (it holds the caller's reads; its connection goes back to
        the pool), then ``payment_record`` runs as a transaction by itself on a pooled connection: one round
        trip, the commit included."""
        session.commit()
        call = _call_values(account.account_no, values, paid_on, rules, True)
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
        payment, created = _outcome(session, account, values, row, call["now"])
        if created:
            outbox.kick()  # committed already, with its PAYMENT_RECORDED message
        return payment, created


def _call_values(
    account_no: str, values: dict[str, Any], paid_on: dt.date, rules: Rules, announce: bool
) -> dict[str, Any]:
    """``payment_record``'s arguments: the payment, the rates, and its trail event as ``core.trail`` prepares it
    (the function fills in the payment id, the applications and the rest)."""
    after = _known_after(account_no, values)
    event = trail.prepare_for_database(
        actor_id=values["recorded_by"], action=ACTION, entity=ENTITY, after=after, filled=_FILLED
    )
    return {
        **values,
        "account_no": account_no,
        "paid_on": paid_on,
        "now": event.at,
        "rates": payment_procedure.rates_of(rules),
        "chain": event.chain,
        "event": list(event.event_parts),
        "after": list(event.after_parts),
        "announce": announce,
    }


def _outcome(
    session: Session, account: Account, values: dict[str, Any], row: Any, now: dt.datetime
) -> tuple[Payment, bool]:
    """(payment, created) from ``payment_record``'s row: the new payment, or the one its key found first."""
    payment_id, _recorded_at, created, balance, _applied, _rest = row
    if not created:
        return _existing(session, values["idempotency_key"], values["request_hash"]), False
    set_committed_value(account, "balance", balance)
    return _attach(session, {**values, "id": payment_id, "recorded_at": now}), True


@functools.cache
def _record_sql() -> str:
    """``payment_procedure.RECORD`` in the driver's own parameter style (compiled once)."""
    return str(payment_procedure.RECORD.compile(dialect=postgresql.psycopg.dialect()))
