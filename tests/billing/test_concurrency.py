"""Payments under concurrency on PostgreSQL: 50 identical requests make one payment, 50 different ones to one
account leave the exact balance. Threads with their own sessions hit the real app (no SQLite: its single
writer lock would serialise them and prove nothing)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from billing.models import Account, Payment, PaymentApplication
from core.db import db
from tests.billing.support import add_tariffs, bill_with

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
        reason="concurrency is tested on PostgreSQL",
    ),
]
N = 50


@pytest.fixture(autouse=True)
def _room_for_fifty(app):
    """A pool with a connection for every request (and its eager after-commit tasks) at once."""
    url = app.config["DATABASE_URL"]
    db.init(url, pool_size=N + 10, max_overflow=N)
    yield
    db.init(url)


def _fire(app, token: str, bodies: list[dict], keys: list[str]) -> list:
    barrier = threading.Barrier(len(bodies))

    def one(index: int):
        client = app.test_client()
        barrier.wait()
        reply = client.post(
            "/api/v1/payments",
            json=bodies[index],
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": keys[index]},
        )
        db.remove_session()
        return reply.status_code, reply.get_json()

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(one, range(len(bodies))))


def _prepare(world, session) -> None:
    add_tariffs(session)
    bill_with(session, world.own_account, "2026-01", 200)  # 107.60
    session.commit()


def test_fifty_identical_payments_at_once_make_one_payment(app, world, session) -> None:
    _prepare(world, session)
    body = {"account_no": "1000000001", "amount": "107.60", "channel": "counter", "reference": "C-1"}
    replies = _fire(app, world.token("clerk"), [body] * N, ["same-key"] * N)
    assert sorted({status for status, _ in replies}) == [200, 201]
    assert [status for status, _ in replies].count(201) == 1
    assert len({data["id"] for _, data in replies}) == 1
    session.rollback()
    assert session.scalar(select(func.count(Payment.id))) == 1
    assert session.scalar(select(func.count(PaymentApplication.id))) == 1


def test_fifty_different_payments_at_once_leave_the_exact_balance(app, world, session) -> None:
    _prepare(world, session)
    bodies = [
        {
            "account_no": "1000000001",
            "amount": f"{i + 1}.00",
            "channel": "counter",
            "reference": f"C-{i}",
            "paid_at": "2026-02-10T10:00:00+08:00",  # before the due date: no late fee
        }
        for i in range(N)
    ]
    replies = _fire(app, world.token("clerk"), bodies, [f"key-{i}" for i in range(N)])
    assert [status for status, _ in replies] == [201] * N
    session.rollback()
    # 1 + 2 + ... + 50 = 1275.00; the bill takes 107.60; 1167.40 is left as balance
    assert session.scalar(select(func.sum(Payment.amount))) == Decimal("1275.00")
    applied = session.scalar(select(func.sum(PaymentApplication.principal)))
    assert applied == Decimal("107.60")
    account = session.scalar(select(Account).where(Account.account_no == "1000000001"))
    session.refresh(account)
    assert account.balance == Decimal("1167.40")
