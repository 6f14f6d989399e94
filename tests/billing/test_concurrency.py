"""Payments under concurrency on PostgreSQL: 50 identical requests make one payment, 50 different ones to one
account leave the exact balance. Threads with their own sessions hit the real app (no SQLite: its single
writer lock would serialise them and prove nothing)."""

from __future__ import annotations

import datetime as dt
import io
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from billing.models import Account, Payment, PaymentApplication
from core import trail
from core.db import db
from tests.billing.support import add_tariffs, bill_with
from tests.support import fix_now, make_account

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
        reason="concurrency is tested on PostgreSQL",
    ),
]
N = 50

# the day these payments are entered at the counter (before the January and February bills are due)
FEBRUARY_10 = dt.datetime(2026, 2, 10, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))


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


def test_fifty_different_payments_at_once_leave_the_exact_balance(app, world, session, monkeypatch) -> None:
    fix_now(monkeypatch, FEBRUARY_10)  # payments entered by hand are paid "now"
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


def _counter_payment(app, token: str, no: str) -> int:
    """A clerk's counter payment of 10.00 on 2026-02-10 (before January and February bills are due: no late fee)."""
    client = app.test_client()
    reply = client.post(
        "/api/v1/payments",
        json={
            "account_no": no,
            "amount": "10.00",
            "channel": "counter",
            "reference": f"C-{no}",
            "paid_at": "2026-02-10T10:00:00+08:00",
        },
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"counter-{no}"},
    )
    db.remove_session()
    return reply.status_code


_CHAIN_HELD = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = :key AND objid = :chain"
)


def _wait_until_it_holds(session, chain: int, job) -> None:
    """Until the running ``job`` (a future) holds the trail chain's lock."""
    deadline = time.monotonic() + 20
    while not session.scalar(_CHAIN_HELD, {"key": trail._CHAIN_LOCK_KEY, "chain": chain}):
        session.rollback()
        assert time.monotonic() < deadline and not job.done(), "the job never held the chain"
        time.sleep(0.001)
    session.rollback()


def test_a_payment_file_and_counter_payments_to_the_same_accounts_at_once_all_go_through(
    app, world, session, monkeypatch
) -> None:
    """The import locks its accounts, then their trail chains, before its first payment: a counter payment that
    holds one of the accounts never waits for a chain the import holds while the import waits for that account.

    The accounts share one trail chain (the worst case), and the counter payments start once the import holds
    that chain, last rows first, so that they take accounts the import has not reached yet."""
    fix_now(monkeypatch, FEBRUARY_10)
    add_tariffs(session)
    chain = trail.chain_of(world.own_account.account_no)
    same_chain = (no for no in (f"{1000000002 + k}" for k in range(1_000_000)) if trail.chain_of(no) == chain)
    accounts = [world.own_account] + [make_account(session, next(same_chain), world.unit_a) for _ in range(29)]
    for account in accounts:
        bill_with(session, account, "2026-01", 100)  # 53.80 each, due 2026-02-15
    session.commit()
    numbers = [a.account_no for a in accounts]
    csv_text = "account_no,amount,paid_at,channel,reference\n" + "".join(
        f"{no},53.80,2026-02-10T09:00:00+08:00,bank,F-{i}\n" for i, no in enumerate(numbers)
    )
    token = world.token("clerk")

    def upload():
        client = app.test_client()
        reply = client.post(
            "/api/v1/billing/payment-imports",
            data={"file": (io.BytesIO(csv_text.encode()), "bank.csv")},
            headers={"Authorization": f"Bearer {token}"},
            content_type="multipart/form-data",
        )
        db.remove_session()
        return reply.status_code

    with ThreadPoolExecutor(max_workers=len(numbers) + 1) as pool:
        imported = pool.submit(upload)
        _wait_until_it_holds(session, chain, imported)
        counters = list(pool.map(lambda no: _counter_payment(app, token, no), reversed(numbers)))
    assert imported.result() == 201 and counters == [201] * len(numbers)
    assert session.scalar(select(func.count(Payment.id))) == 2 * len(numbers)
    assert session.scalar(select(func.sum(Payment.amount))) == Decimal("63.80") * len(numbers)
    balances = session.scalars(select(Account.balance).where(Account.account_no.in_(numbers))).all()
    assert balances == [Decimal("10.00")] * len(numbers)  # each bill paid once, the rest kept


def test_a_bill_run_and_counter_payments_to_the_same_accounts_at_once_all_go_through(
    app, world, session, monkeypatch
) -> None:
    """The bill run locks the accounts whose balance pays their bill, then its trail chains, before its first
    append: a counter payment holding one of those accounts never waits for a chain the run holds while the run
    waits for that account. The accounts share one chain (the worst case); the counter payments start once the
    run holds it, last accounts first."""
    from sqlalchemy import insert

    from billing import run as bill_run
    from billing.models import MeterReading
    from billing.payments import record_payment, request_hash

    fix_now(monkeypatch, FEBRUARY_10)
    add_tariffs(session)
    chain = trail.chain_of(world.own_account.account_no)
    same_chain = (no for no in (f"{1000000002 + k}" for k in range(1_000_000)) if trail.chain_of(no) == chain)
    accounts = [world.own_account] + [make_account(session, next(same_chain), world.unit_a) for _ in range(29)]
    for i, account in enumerate(accounts):  # 100.00 paid in advance: the run pays each new bill from it
        fields = {
            "account_no": account.account_no,
            "amount": Decimal("100.00"),
            "channel": "counter",
            "paid_at": dt.datetime(2026, 1, 20, 2, tzinfo=dt.UTC),
            "reference": f"A-{i}",
        }
        record_payment(
            session, account, fields, idempotency_key=f"ahead-{i}", digest=request_hash(fields, True), actor_id=None
        )
    session.execute(
        insert(MeterReading),
        [{"account_id": a.id, "period": "2026-01", "reading": Decimal(0)} for a in accounts]
        + [{"account_id": a.id, "period": "2026-02", "reading": Decimal(150 + i)} for i, a in enumerate(accounts)],
    )
    session.commit()
    numbers = [a.account_no for a in accounts]
    token = world.token("clerk")

    def run():
        with app.app_context():
            return bill_run.run_period(db.new_session, "2026-02", chunk=100, issued_on=dt.date(2026, 3, 1)).issued

    with ThreadPoolExecutor(max_workers=len(numbers) + 1) as pool:
        billed = pool.submit(run)
        _wait_until_it_holds(session, chain, billed)
        counters = list(pool.map(lambda no: _counter_payment(app, token, no), reversed(numbers)))
    assert billed.result() == len(numbers) and counters == [201] * len(numbers)
    # every account's money adds up: paid in = applied to bills + balance, and no bill is paid beyond its amount
    for account in accounts:
        paid = session.scalar(select(func.sum(Payment.amount)).where(Payment.account_id == account.id))
        applied = session.scalar(
            select(func.coalesce(func.sum(PaymentApplication.principal + PaymentApplication.late_fee), 0))
            .join(Payment, Payment.id == PaymentApplication.payment_id)
            .where(Payment.account_id == account.id)
        )
        balance = session.scalar(select(Account.balance).where(Account.id == account.id))
        assert paid == Decimal("110.00") and paid == applied + balance, account.account_no
    over = session.execute(
        text(
            "SELECT b.id FROM bills b JOIN payment_applications a ON a.bill_id = b.id"
            " GROUP BY b.id, b.amount HAVING sum(a.principal) > b.amount"
        )
    ).all()
    assert over == []


def test_twenty_reviews_of_one_held_reading_at_once_make_one_bill(app, world, session) -> None:
    from billing.bills import record_reading
    from billing.models import Bill

    add_tariffs(session)
    for period in ("2026-01", "2026-02", "2026-03"):
        bill_with(session, world.own_account, period, 300)
    reading, _bill = record_reading(
        session, world.own_account, {"period": "2026-04", "reading": "9999"}, actor_id=world.users["clerk"].id
    )
    assert reading.status == "held"
    session.commit()
    token = world.token("admin")
    barrier = threading.Barrier(20)

    def one(_index: int):
        client = app.test_client()
        barrier.wait()
        reply = client.post(
            f"/api/v1/billing/readings/{reading.id}/review",
            json={"decision": "correct", "reading": "1210"},
            headers={"Authorization": f"Bearer {token}"},
        )
        db.remove_session()
        return reply.status_code, reply.get_json()

    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(one, range(20)))
    assert {status for status, _ in replies} == {200}
    assert {data["bill"]["kwh"] for _, data in replies} == {"310.00"}
    session.rollback()
    assert session.scalar(select(func.count(Bill.id)).where(Bill.period == "2026-04")) == 1
