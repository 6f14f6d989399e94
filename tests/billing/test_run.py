"""The batch bill run: one bill per account and period, resumable after a crash, and its CLI."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from billing import run as bill_run
from billing.models import Account, Bill, MeterReading
from core import trail
from core.db import db
from core.trail import TrailEvent
from tests.billing.support import add_tariffs
from tests.support import make_account


def _readings(world, session, count: int) -> None:
    add_tariffs(session)
    rows = []
    for i in range(count):
        account = make_account(session, f"40000{i:05d}", world.unit_a)
        rows += [
            {"account_id": account.id, "period": "2026-01", "reading": Decimal(0)},
            {"account_id": account.id, "period": "2026-02", "reading": Decimal(100 + i)},
        ]
    session.execute(insert(MeterReading), rows)
    session.commit()


def test_run_bills_every_account_once_and_a_rerun_issues_nothing(world, session) -> None:
    _readings(world, session, 7)
    result = bill_run.run_period(db.new_session, "2026-02", chunk=3)
    assert (result.issued, result.remaining) == (7, 0)
    again = bill_run.run_period(db.new_session, "2026-02", chunk=3)
    assert again.issued == 0
    session.rollback()
    assert session.scalar(select(func.count(Bill.id))) == 7
    first = session.scalar(
        select(Bill).join(MeterReading, MeterReading.id == Bill.reading_id).where(MeterReading.reading == 100)
    )
    assert first is not None and first.amount == Decimal("53.80")  # 100 x 0.538
    assert session.scalar(select(func.count(TrailEvent.id)).where(TrailEvent.action == "bill.issued")) == 7
    event = session.scalar(select(TrailEvent).where(TrailEvent.entity == "bill", TrailEvent.entity_id == str(first.id)))
    assert event is not None and event.account_no == "4000000000"
    assert event.after["amount"] == "53.80" and [(x[0], x[3]) for x in event.after["lines"]] == [("tier_1", "53.80")]
    assert trail.verify(session).ok  # bulk-appended events continue the chain and hash like single ones


def test_each_committed_chunk_is_announced_in_one_message_with_all_its_bills(world, session, held_outbox) -> None:
    from billing.topics import BILLS_ISSUED

    _readings(world, session, 7)
    _with_balances(session, "4000000001")  # its bill goes the single-bill way, and is announced with its chunk
    assert bill_run.run_period(db.new_session, "2026-02", chunk=3).issued == 7
    messages = held_outbox.messages(BILLS_ISSUED)
    assert [len(m["bill_ids"]) for m in messages] == [3, 3, 1] and {m["period"] for m in messages} == {"2026-02"}
    session.rollback()
    assert sorted(i for m in messages for i in m["bill_ids"]) == sorted(session.scalars(select(Bill.id)))


def test_a_chunk_that_fails_announces_nothing(world, session, monkeypatch, held_outbox) -> None:
    _readings(world, session, 4)
    original = bill_run._bill_chunk

    def fail_after_billing(*args, **kwargs):
        original(*args, **kwargs)
        raise RuntimeError("the chunk failed before its commit")

    monkeypatch.setattr(bill_run, "_bill_chunk", fail_after_billing)
    with pytest.raises(RuntimeError):
        bill_run.run_period(db.new_session, "2026-02", chunk=10)
    assert held_outbox.messages() == []


def test_run_resumes_after_a_crash_in_a_chunk(world, session, monkeypatch) -> None:
    _readings(world, session, 7)
    original = bill_run._bill_chunk
    calls = {"n": 0}

    def crash_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker died")
        return original(*args, **kwargs)

    monkeypatch.setattr(bill_run, "_bill_chunk", crash_on_second)
    with pytest.raises(RuntimeError):
        bill_run.run_period(db.new_session, "2026-02", chunk=3)
    session.rollback()
    assert session.scalar(select(func.count(Bill.id))) == 3  # the first chunk was committed
    session.rollback()
    monkeypatch.setattr(bill_run, "_bill_chunk", original)
    result = bill_run.run_period(db.new_session, "2026-02", chunk=3)
    assert result.issued == 4
    session.rollback()
    assert session.scalar(select(func.count(Bill.id))) == 7


def test_cli_run_prints_the_count(app, world, session) -> None:
    _readings(world, session, 2)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["griddesk", "billing", "run", "--period", "2026-02"])
    assert result.exit_code == 0, result.output
    assert "2 bills issued for 2026-02" in result.output
    bad = runner.invoke(args=["griddesk", "billing", "run", "--period", "2026-13"])
    assert bad.exit_code != 0


postgres_only = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="several bill-run processes share a run on PostgreSQL (SQLite has one writer)",
)


def _with_balances(session, *account_nos: str) -> None:
    for no in account_nos:
        account = session.scalar(select(Account).where(Account.account_no == no))
        assert account is not None
        account.balance = Decimal("20.00")
    session.commit()


@pytest.mark.postgres
@postgres_only
def test_processes_share_a_run_and_bill_every_account_once(app, world, session) -> None:
    _readings(world, session, 25)
    _with_balances(session, "4000000003", "4000000017")  # these go the single-bill way (balance applied)
    seen: list[int] = []
    result = bill_run.run_period_in_processes(
        app.config["DATABASE_URL"], "2026-02", workers=2, chunk=3, progress=seen.append
    )
    assert (result.issued, result.remaining, sum(seen)) == (25, 0, 25)
    session.rollback()
    per_account = session.execute(select(Bill.account_id, func.count()).group_by(Bill.account_id)).all()
    assert len(per_account) == 25 and {n for _, n in per_account} == {1}
    paid = session.scalar(select(Account.balance).where(Account.account_no == "4000000003"))
    assert paid == Decimal("0.00")  # 20.00 went to its bill of 103 kWh (55.41)
    assert session.scalar(select(func.count(TrailEvent.id)).where(TrailEvent.action == "bill.issued")) == 25
    assert trail.verify(session).ok


@pytest.mark.postgres
@postgres_only
def test_a_failed_worker_fails_the_run_and_a_rerun_finishes_it(app, world, session, monkeypatch) -> None:
    _readings(world, session, 20)
    original = bill_run._bill_chunk
    calls = {"n": 0}

    def die_on_second_chunk(*args, **kwargs):
        calls["n"] += 1  # counted per process: the fork copies the counter
        if calls["n"] == 2:
            raise RuntimeError("worker died")
        return original(*args, **kwargs)

    monkeypatch.setattr(bill_run, "_bill_chunk", die_on_second_chunk)
    url = app.config["DATABASE_URL"]
    with pytest.raises(RuntimeError, match="worker died"):
        bill_run.run_period_in_processes(url, "2026-02", workers=2, chunk=3)
    session.rollback()
    assert 0 < session.scalar(select(func.count(Bill.id))) < 20  # the committed chunks stay
    monkeypatch.setattr(bill_run, "_bill_chunk", original)
    result = bill_run.run_period_in_processes(url, "2026-02", workers=2, chunk=3)
    session.rollback()
    assert result.remaining == 0 and session.scalar(select(func.count(Bill.id))) == 20
    assert trail.verify(session).ok
