"""The account read path's round trips: what one authenticated, scoped ``GET /api/v1/accounts/{no}`` sends.

Every statement the request sends is counted (a cursor listener on every engine). The count is pinned: a token
check that looks the user up twice, a unit loaded lazily, a query per bill (N+1) or a transaction opened for a
read (SQLite's ``BEGIN IMMEDIATE`` is a statement) each make it fail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DBAPIError

from billing.models import Adjustment, AdjustmentKind, AdjustmentStatus
from billing.payments import record_payment
from billing.rules import Rules
from core.db import Base, db
from core.identity import Role
from tests.billing.support import add_tariffs, bill_with

# the token's user with their unit (one joined row), the account's card within the caller's scope, the ledger rows
STATEMENTS_PER_READ = 3


@contextmanager
def statements() -> Iterator[list[str]]:
    sent: list[str] = []

    def note(_conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        sent.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", note)


def _ledger(session, world) -> None:  # type: ignore[no-untyped-def]
    """Six bills on the own account, some paid, one corrected: enough rows for an N+1 to show."""
    add_tariffs(session)
    account = world.own_account
    bills = [bill_with(session, account, f"2026-{month:02d}", 100 + month) for month in range(1, 7)]
    for n, bill in enumerate(bills[:3]):
        fields = {
            "account_no": account.account_no,
            "amount": bill.amount,
            "channel": "counter",
            "paid_at": dt.datetime(2026, 8, 1, 10, n, tzinfo=dt.UTC),
            "reference": f"pay-{n}",
        }
        record_payment(
            session, account, fields, idempotency_key=f"pay-{n}", digest=f"d{n}", actor_id=None, rules=Rules()
        )
    session.add(
        Adjustment(
            account_id=account.id,
            bill_id=bills[4].id,
            kind=AdjustmentKind.CORRECTION,
            amount=Decimal("-5.00"),
            reason="meter misread",
            status=AdjustmentStatus.APPROVED,
            requested_by=world.users[Role.CLERK].id,
            decided_by=world.users[Role.SUPERVISOR].id,
            decided_at=dt.datetime(2026, 8, 2, tzinfo=dt.UTC),
        )
    )
    session.commit()


@pytest.mark.parametrize("role", [Role.CLERK, Role.CUSTOMER])
def test_an_account_summary_costs_three_statements_and_no_transaction(app, client, session, world, role) -> None:  # type: ignore[no-untyped-def]
    _ledger(session, world)
    path = f"/api/v1/accounts/{world.own_account.account_no}"
    expected = client.get(path, headers=world.headers(role)).get_json()
    db.remove_session()  # the request opens its own session, as in production
    writer_checkouts: list[object] = []

    def checked_out(*args: object) -> None:
        writer_checkouts.append(args)

    loaded: list[str] = []

    def orm_load(target: object, _context: object) -> None:
        loaded.append(type(target).__name__)

    event.listen(db.engine, "checkout", checked_out)
    event.listen(Base, "load", orm_load, propagate=True)
    try:
        with statements() as sent:
            response = client.get(path, headers=world.headers(role))
    finally:
        event.remove(db.engine, "checkout", checked_out)
        event.remove(Base, "load", orm_load)
    assert response.status_code == 200
    assert writer_checkouts == [], "a read took a connection of the read-write engine (a transaction)"
    assert loaded == [], "the read path built ORM objects (the token's user, the account): plain rows suffice"
    assert response.get_json() == expected
    assert len(sent) == STATEMENTS_PER_READ, "\n\n".join(sent)
    assert not [s for s in sent if s.lstrip().upper().startswith(("BEGIN", "ROLLBACK", "COMMIT"))]


def test_an_account_outside_the_scope_is_still_not_found(app, client, session, world) -> None:  # type: ignore[no-untyped-def]
    db.remove_session()
    response = client.get(f"/api/v1/accounts/{world.foreign_account.account_no}", headers=world.headers(Role.CLERK))
    assert response.status_code == 404


def test_the_read_session_refuses_writes(app, session, world) -> None:  # type: ignore[no-untyped-def]
    db.remove_session()
    assert db.read_only_session()
    try:
        with pytest.raises(DBAPIError):
            db.session.execute(text("UPDATE accounts SET holder_name = 'x'"))
    finally:
        db.remove_session()
    assert {n for (n,) in db.session.execute(text("SELECT holder_name FROM accounts"))} == {"张伟", "李四"}
