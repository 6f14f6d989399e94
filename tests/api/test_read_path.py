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
from sqlalchemy import Engine, event, text, update
from sqlalchemy.exc import DBAPIError

from billing.models import Adjustment, AdjustmentKind, AdjustmentStatus
from billing.payments import record_payment
from billing.rules import Rules
from core.db import Base, db
from core.identity import ALL_ROLES, Role, User
from tests.billing.support import add_tariffs, bill_with
from webapp.api import framework

# On PostgreSQL one statement reads the token's user with their unit, the account's card within the caller's scope
# and its ledger rows (LATERAL joins); elsewhere they are three statements.
STATEMENTS_PER_READ = {"postgresql": 1, "sqlite": 3}


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
def test_an_account_summary_costs_its_pinned_statements_and_no_transaction(app, client, session, world, role) -> None:  # type: ignore[no-untyped-def]
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
    assert len(sent) == STATEMENTS_PER_READ[db.dialect_name], "\n\n".join(sent)
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


Answer = tuple[int, object]


def _both_ways(client, monkeypatch, path: str, headers: dict[str, str]) -> tuple[Answer, Answer]:  # type: ignore[no-untyped-def]
    """The answer with the caller and the card read in one statement, and with the resolvers every other
    resource uses (the token resolvers switched off)."""
    db.remove_session()
    fused = client.get(path, headers=headers)
    with monkeypatch.context() as patch:
        patch.setattr(framework, "TOKEN_RESOURCES", {})
        db.remove_session()
        plain = client.get(path, headers=headers)
    return (fused.status_code, fused.get_json()), (plain.status_code, plain.get_json())


@pytest.mark.parametrize("role", sorted(ALL_ROLES))
def test_the_one_statement_read_answers_as_the_scope_rule_does(app, client, session, world, monkeypatch, role) -> None:  # type: ignore[no-untyped-def]
    """Every role on an account of its unit, of another unit and an unknown number: the same status and body
    both ways (the scope in SQL over the caller's columns is the scope rule), for the summary and the pages
    that read the account as an ORM object."""
    _ledger(session, world)
    for number, status in [
        (world.own_account.account_no, 200),
        (world.foreign_account.account_no, 404),
        ("9999999999", 404),
    ]:
        for page in ("", "/bills", "/usage"):  # the card (summary) and the ORM account (every account page)
            fused, plain = _both_ways(client, monkeypatch, f"/api/v1/accounts/{number}{page}", world.headers(role))
            assert fused == plain, page
            assert fused[0] == status, page


def test_the_one_statement_read_knows_the_root_and_whom_it_refuses(app, client, session, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Staff of the root unit see every account; staff of no unit, an inactive user, a revoked token and a bad
    token are refused the same way both ways."""
    from webapp.auth import issue_token

    def change(role: str, **values: object) -> None:  # the request closed the test's session: a statement
        session.execute(update(User).where(User.id == world.users[role].id).values(**values))
        session.commit()

    change(Role.SUPERVISOR, unit_id=world.root.id)
    foreign = f"/api/v1/accounts/{world.foreign_account.account_no}"
    fused, plain = _both_ways(client, monkeypatch, foreign, world.headers(Role.SUPERVISOR))
    assert fused == plain and fused[0] == 200

    own = f"/api/v1/accounts/{world.own_account.account_no}"
    change(Role.CLERK, token_version=User.token_version + 1)
    fused, plain = _both_ways(client, monkeypatch, own, world.headers(Role.CLERK))
    assert fused == plain and fused[0] == 401
    with app.test_request_context():
        fresh = {"Authorization": f"Bearer {issue_token(session.get(User, world.users[Role.CLERK].id))[0]}"}
    change(Role.CLERK, unit_id=None)
    fused, plain = _both_ways(client, monkeypatch, own, fresh)
    assert fused == plain and fused[0] == 404
    change(Role.CLERK, active=False)
    fused, plain = _both_ways(client, monkeypatch, own, fresh)
    assert fused == plain and fused[0] == 401
    fused, plain = _both_ways(client, monkeypatch, own, {"Authorization": "Bearer not-a-token"})
    assert fused == plain and fused[0] == 401
