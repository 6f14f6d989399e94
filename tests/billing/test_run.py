"""The batch bill run: one bill per account and period, resumable after a crash, and its CLI."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from billing import run as bill_run
from billing.models import Bill, MeterReading
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
