"""The database form of record_payment (billing.payment_procedure) plans and records as the Python form does.

``payment_plan`` is compared with ``ledger.plan_application(ledger.open_bill_states(...))`` on generated ledgers:
bills of several categories and years, earlier and later (backdated) payments, fees already paid, approved
corrections and waivers, varied rates and minimum fees. The recorded payment's trail event is compared with the
snapshot ``trail.record`` writes, on both backends (SQLite records through Python, PostgreSQL through the
function), and the whole trail must verify; on PostgreSQL both recorders record the same payment and the events
they store are the same bytes.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from billing import payment_procedure
from billing.ledger import open_bill_states, plan_application
from billing.models import Adjustment, Bill, PaymentApplication, Tariff
from billing.payments import record_payment, request_hash
from billing.rules import Rules
from core import trail
from core.identity import Role
from tests.billing.support import add_tariffs
from tests.support import make_account

D = Decimal
on_postgresql = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="the function exists on PostgreSQL only",
)


def _money(rng: random.Random, top: int) -> Decimal:
    return (D(rng.randint(0, top * 100)) / 100).quantize(D("0.01"))


def _ledger(session, world, rng: random.Random, account_id: int, tariff_id: int) -> list[dt.date]:
    """Bills with applications and approved adjustments for one account; returns interesting payment days."""
    year, month = rng.choice((2023, 2024, 2025)), rng.randint(1, 12)
    days: list[dt.date] = []
    clerk, supervisor = world.users[Role.CLERK], world.users[Role.SUPERVISOR]
    for _ in range(rng.randint(0, 5)):
        period = f"{year:04d}-{month:02d}"
        due = Rules(due_day_offset=rng.choice((0, 14, 20))).due_date(period)
        bill = Bill(
            account_id=account_id,
            period=period,
            category=rng.choice(("residential", "general", "large_industrial", "agricultural")),
            tariff_id=tariff_id,
            kwh=D(100),
            amount=_money(rng, 600) if rng.random() > 0.05 else D("0.00"),
            due_date=due,
        )
        session.add(bill)
        session.flush()
        days += [due, due + dt.timedelta(days=1), due + dt.timedelta(days=rng.randint(2, 500))]
        for _ in range(rng.choice((0, 0, 1, 2, 3))):
            day = due + dt.timedelta(days=rng.randint(-20, 400))
            share = bill.amount * D(rng.choice(("0.1", "0.3", "0.5", "1")))
            session.add(
                PaymentApplication(
                    bill_id=bill.id,
                    applied_on=day,
                    principal=share.quantize(D("0.01")),
                    late_fee=_money(rng, 5) if day > due else D("0.00"),
                )
            )
            days.append(day)
        for kind in ("correction", "waiver", "refund"):
            if rng.random() < 0.15:
                amount = _money(rng, 80) * (-1 if kind == "correction" and rng.random() < 0.5 else 1)
                approved = rng.random() < 0.7  # pending requests must change nothing
                session.add(
                    Adjustment(
                        kind=kind,
                        account_id=account_id,
                        bill_id=bill.id,
                        amount=amount,
                        reason="test",
                        status="approved" if approved else "pending",
                        requested_by=clerk.id,
                        decided_by=supervisor.id if approved else None,
                        decided_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC) if approved else None,
                    )
                )
        month += 1
        if month > 12:
            year, month = year + 1, 1
    session.flush()
    return days


@on_postgresql
def test_payment_plan_in_the_database_matches_the_python_plan(world, session) -> None:
    add_tariffs(session)
    tariff_id = session.scalars(select(Tariff.id)).first()
    rng = random.Random(20261130)
    compared = touched = 0
    for n in range(120):
        account = make_account(session, f"7100{n:06d}", world.unit_a)
        days = _ledger(session, world, rng, account.id, tariff_id)
        for _ in range(5):
            rules = Rules(
                residential_rate=D(rng.choice(("0.001", "0.0015"))),
                current_year_rate=D(rng.choice(("0.002", "0.0025"))),
                earlier_years_rate=D(rng.choice(("0.003", "0.0031"))),
                minimum_fee=D(rng.choice(("1.00", "0.50", "3.00"))),
            )
            on = rng.choice(days) + dt.timedelta(days=rng.randint(-2, 2)) if days else dt.date(2026, 3, 1)
            amount = (D(rng.randint(1, 200_000)) / 100).quantize(D("0.01"))  # as record_payment stores it
            plan, rest = plan_application(open_bill_states(session, account.id, on), amount, on, rules)
            expected = [(state.bill.id, principal, fee) for state, principal, fee in plan]
            got = [
                tuple(row)
                for row in session.execute(
                    payment_procedure.PLAN,
                    {"account_id": account.id, "amount": amount, "on": on, "rates": payment_procedure.rates_of(rules)},
                )
            ]
            assert got == expected, f"account {account.account_no}, {amount} paid on {on}, {rules}"
            assert [(str(p), str(f)) for _b, p, f in got] == [(str(p), str(f)) for _b, p, f in expected]
            assert amount - sum(p + f for _b, p, f in got) == rest
            compared += 1
            touched += bool(expected)
    assert compared == 600 and touched > 300  # most payments do settle something: the cases are not vacuous


def test_recorded_payment_and_its_trail_event_are_the_same_on_every_backend(world, session) -> None:
    add_tariffs(session)
    account = make_account(session, "7200000001", world.unit_a, category="general", tariff_code="ZJ-GEN-FLAT")
    tariff_id = session.scalars(select(Tariff.id).where(Tariff.code == "ZJ-GEN-FLAT")).one()
    common = {"account_id": account.id, "category": "general", "tariff_id": tariff_id}
    old = Bill(**common, period="2025-11", kwh=D(100), amount=D("100.00"), due_date=dt.date(2025, 12, 15))
    new = Bill(**common, period="2025-12", kwh=D(50), amount=D("50.00"), due_date=dt.date(2026, 1, 15))
    session.add_all([old, new])
    session.flush()
    # paid 2026-01-10 (Beijing): the old bill is 26 days late, 16 of them in 2025 at 2 per mille and 10 in 2026
    # at 3 per mille: 100 * 0.002 * 16 + 100 * 0.003 * 10 = 3.20 + 3.00 = 6.20; the new bill is not due yet.
    fields = {
        "account_no": account.account_no,
        "amount": D("200.00"),
        "channel": "counter",
        "paid_at": dt.datetime(2026, 1, 10, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        "reference": '收据 "A-1"\n第二行\\',
    }
    clerk = world.users[Role.CLERK]
    payment, created = record_payment(
        session, account, fields, idempotency_key="k-1", digest=request_hash(fields, True), actor_id=clerk.id
    )
    session.commit()
    assert created
    applications = session.execute(
        select(PaymentApplication.bill_id, PaymentApplication.principal, PaymentApplication.late_fee)
        .where(PaymentApplication.payment_id == payment.id)
        .order_by(PaymentApplication.id)
    ).all()
    assert [tuple(a) for a in applications] == [(old.id, D("100.00"), D("6.20")), (new.id, D("50.00"), D("0.00"))]
    assert account.balance == D("43.80")  # 200 - 106.20 - 50
    events = select(trail.TrailEvent).where(trail.TrailEvent.entity == "payment")
    event = session.scalars(events.where(trail.TrailEvent.entity_id == str(payment.id))).one()
    assert (event.action, event.actor_id, event.before, event.account_no) == (
        "payment.recorded",
        clerk.id,
        None,
        account.account_no,
    )
    assert event.chain == trail.chain_of(account.account_no)
    assert event.after == {
        "account_no": account.account_no,
        "amount": "200.00",
        "applied": [[old.id, "100.00", "6.20"], [new.id, "50.00", "0.00"]],
        "channel": "counter",
        "idempotency_key": "k-1",
        "paid_at": "2026-01-10T01:30:00+00:00",
        "reference": '收据 "A-1"\n第二行\\',
        "to_balance": "43.80",
    }
    assert trail.verify(session).ok

    again, created_again = record_payment(
        session, account, fields, idempotency_key="k-1", digest=request_hash(fields, True), actor_id=clerk.id
    )
    assert (again.id, created_again) == (payment.id, False)


@on_postgresql
def test_both_recorders_store_the_same_bytes_for_the_same_payment(world, session, monkeypatch) -> None:
    from sqlalchemy import text

    from billing.payments import _payment_values
    from billing.recorders import DatabaseFunctionRecorder, PythonPlanRecorder

    add_tariffs(session)
    account = make_account(session, "7200000002", world.unit_a, category="general", tariff_code="ZJ-GEN-FLAT")
    tariff_id = session.scalars(select(Tariff.id).where(Tariff.code == "ZJ-GEN-FLAT")).one()
    common = {"account_id": account.id, "category": "general", "tariff_id": tariff_id}
    session.add(Bill(**common, period="2025-11", kwh=D(100), amount=D("100.00"), due_date=dt.date(2025, 12, 15)))
    session.commit()
    fields = {
        "account_no": account.account_no,
        "amount": D("130.55"),
        "channel": "bank",
        "paid_at": dt.datetime(2026, 1, 10, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        "reference": '回单 "B-7"\t末尾\\',
    }
    clerk = world.users[Role.CLERK]
    monkeypatch.setattr(trail, "utcnow", lambda: dt.datetime(2026, 1, 10, 2, 0, 0, 123456, tzinfo=dt.UTC))
    stored = text(
        "SELECT at, actor_id, action, entity, entity_id, before::text, after::text, prev_hash, hash, account_no,"
        " chain FROM trail_events WHERE entity = 'payment'"
    )
    events = []
    for recorder in (DatabaseFunctionRecorder(), PythonPlanRecorder("postgresql")):
        values, paid_on = _payment_values(account.id, fields, "same-1", request_hash(fields, True), clerk.id, None)
        payment, created = recorder.record(session, account, values, paid_on, Rules(), announce=False)
        assert created
        payment_id = payment.id
        events.append(tuple(session.execute(stored).one()))
        session.expunge(payment)
        session.rollback()
        # the next recorder gets the same payment id: the sequence does not roll back by itself
        session.execute(text("SELECT setval(pg_get_serial_sequence('payments', 'id'), :id, false)"), {"id": payment_id})
        session.commit()
    assert events[0] == events[1]
    assert '"applied":[[' in events[0][6] and '"to_balance":"0.00"' not in events[0][6]


def test_a_failed_post_leaves_no_payment_no_event_and_no_announcement(world, session) -> None:
    from sqlalchemy import func

    from billing.models import Account, Payment
    from billing.payments import post_payment
    from core.outbox import OutboxMessage

    ghost = Account(id=987654, account_no="7300000404", category="residential", balance=D("0.00"))  # not stored
    fields = {
        "account_no": ghost.account_no,
        "amount": D("10.00"),
        "channel": "counter",
        "paid_at": dt.datetime(2026, 3, 5, 2, tzinfo=dt.UTC),
        "reference": "",
    }
    events_before = session.scalar(select(func.count()).select_from(trail.TrailEvent))
    session.commit()
    with pytest.raises(IntegrityError, match="(?i)foreign key"):  # the driver's error, raised as SQLAlchemy's
        post_payment(
            session, ghost, fields, idempotency_key="ghost-1", digest=request_hash(fields, True), actor_id=None
        )
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Payment)) == 0
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert session.scalar(select(func.count()).select_from(trail.TrailEvent)) == events_before


def test_post_payment_commits_the_payment_and_its_announcement_and_a_replay_finds_it(world, session) -> None:
    from sqlalchemy import func

    from billing.models import Payment
    from billing.payments import post_payment
    from billing.topics import PAYMENT_RECORDED
    from core import outbox
    from core.outbox import OutboxMessage

    kicks: list[int] = []
    kick, outbox.kick = outbox.kick, lambda: kicks.append(1)  # the test reads the message before any relay
    try:
        fields = {
            "account_no": world.own_account.account_no,
            "amount": D("30.00"),
            "channel": "counter",
            "paid_at": dt.datetime(2026, 3, 5, 2, tzinfo=dt.UTC),
            "reference": "R-9",
        }
        digest = request_hash(fields, True)
        payment, created = post_payment(
            session, world.own_account, fields, idempotency_key="post-1", digest=digest, actor_id=None
        )
        assert created and kicks == [1]
        session.rollback()  # nothing of the payment is left to commit: it is committed
        stored = session.get(Payment, payment.id)
        assert stored is not None and (stored.amount, stored.reference) == (D("30.00"), "R-9")
        message = session.scalars(select(OutboxMessage)).one()
        assert (message.topic, message.payload) == (PAYMENT_RECORDED, {"payment_id": payment.id})
        assert world.own_account.balance == D("30.00")  # no bills: all of it is balance
        again, created_again = post_payment(
            session, world.own_account, fields, idempotency_key="post-1", digest=digest, actor_id=None
        )
        assert (again.id, created_again, kicks) == (payment.id, False, [1])
        assert session.scalar(select(func.count()).select_from(Payment)) == 1
    finally:
        outbox.kick = kick
        session.rollback()
        session.execute(OutboxMessage.__table__.delete())
        session.commit()


def test_history_recorded_without_announcement_puts_no_message(world, session) -> None:
    from core.outbox import OutboxMessage

    fields = {
        "account_no": world.own_account.account_no,
        "amount": D("5.00"),
        "channel": "counter",
        "paid_at": dt.datetime(2026, 3, 5, 2, tzinfo=dt.UTC),
        "reference": "",
    }
    record_payment(
        session,
        world.own_account,
        fields,
        idempotency_key="demo-1",
        digest=request_hash(fields, True),
        actor_id=None,
        announce=False,
    )
    session.commit()
    assert session.scalars(select(OutboxMessage)).all() == []


@on_postgresql
def test_a_post_on_a_connection_killed_under_it_fails_once_and_the_next_gets_a_new_one(app, world, monkeypatch) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    from billing.models import Account
    from billing.payments import post_payment
    from core import outbox
    from core.db import db

    monkeypatch.setattr(outbox, "kick", lambda: None)  # no eager relay wanting a second connection of the one
    url = app.config["DATABASE_URL"]
    db.init(url, pool_size=1, max_overflow=0)
    try:
        session = db.new_session()
        account = session.get(Account, world.own_account.id)

        def post(key: str):
            fields = {
                "account_no": account.account_no,
                "amount": D("1.00"),
                "channel": "counter",
                "paid_at": dt.datetime(2026, 3, 5, 2, tzinfo=dt.UTC),
                "reference": key,
            }
            return post_payment(
                session, account, fields, idempotency_key=key, digest=request_hash(fields, True), actor_id=None
            )

        assert post("alive-1")[1]
        killer = create_engine(url)
        with killer.connect() as conn:  # what a database restart does to the pooled connection
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        killer.dispose()
        with pytest.raises(OperationalError):  # used a moment ago, so not pinged: this request fails
            post("dead-1")
        assert post("alive-2")[1]  # the pool dropped the dead connection
        session.close()
    finally:
        db.init(url)
