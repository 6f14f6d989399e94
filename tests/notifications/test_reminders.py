"""Due-date and arrears reminders from billing's bills, run by the daily beat tasks, each told once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from notifications.models import Notice
from notifications.tasks import send_arrears_reminders, send_due_reminders
from tests.billing.support import add_tariffs, bill_with
from tests.support import fix_now


def _inbox(client, world):
    from core.db import db

    body = client.get("/api/v1/me/notifications", headers=world.headers("customer")).get_json()
    db.session.rollback()  # the request shares the test's app context and session: end its read transaction
    return body


def _bill(session, world):
    add_tariffs(session)
    bill = bill_with(session, world.own_account, "2026-01", 200)  # 107.60
    session.commit()
    session.expunge(bill)  # keep its values; SQLite: no lazy load may take the write lock mid-test
    return bill


def _kinds(session, kind: str) -> int:
    count = session.scalar(select(func.count()).select_from(Notice).where(Notice.kind == kind))
    session.rollback()  # SQLite: give the write lock back before the next task writes
    return count


def test_due_reminder_goes_out_days_before_the_due_date_once(client, world, session) -> None:
    bill = _bill(session, world)
    before = (bill.due_date - dt.timedelta(days=3)).isoformat()
    assert send_due_reminders.delay(on=before).get() == {"reminders": 1}
    send_due_reminders.delay(on=before).get()  # the beat job ran twice
    assert _kinds(session, "due_reminder") == 1
    item = next(i for i in _inbox(client, world)["items"] if i["kind"] == "due_reminder")
    assert "107.60" in item["body"] and bill.due_date.isoformat() in item["body"]
    other_day = (bill.due_date - dt.timedelta(days=5)).isoformat()
    assert send_due_reminders.delay(on=other_day).get() == {"reminders": 0}


def test_paid_bill_gets_no_reminder(client, world, session, monkeypatch) -> None:
    bill = _bill(session, world)
    fix_now(monkeypatch, dt.datetime(2026, 2, 1, 10, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    paid = client.post(
        "/api/v1/payments",
        json={
            "account_no": world.own_account.account_no,
            "amount": "107.60",
            "channel": "counter",
            "paid_at": "2026-02-01T10:00:00+08:00",
            "reference": "R-1",
        },  # fmt: skip
        headers={**world.headers("clerk"), "Idempotency-Key": "pay-1"},
    )
    assert paid.status_code == 201, paid.get_json()
    before = (bill.due_date - dt.timedelta(days=3)).isoformat()
    assert send_due_reminders.delay(on=before).get() == {"reminders": 0}
    after = (bill.due_date + dt.timedelta(days=10)).isoformat()
    assert send_arrears_reminders.delay(on=after).get() == {"reminders": 0}


def test_arrears_reminder_names_the_debt_and_late_fee_once_a_week(client, world, session) -> None:
    bill = _bill(session, world)
    overdue = bill.due_date + dt.timedelta(days=10)
    assert send_arrears_reminders.delay(on=overdue.isoformat()).get() == {"reminders": 1}
    same_week = overdue + dt.timedelta(days=(6 - overdue.weekday()))  # the Sunday of that week
    send_arrears_reminders.delay(on=same_week.isoformat()).get()
    assert _kinds(session, "arrears_reminder") == 1
    next_week = overdue + dt.timedelta(days=7)
    send_arrears_reminders.delay(on=next_week.isoformat()).get()
    assert _kinds(session, "arrears_reminder") == 2
    reminders = [i for i in _inbox(client, world)["items"] if i["kind"] == "arrears_reminder"]
    assert all("107.60" in i["body"] and "2026-01" in i["body"] for i in reminders)
    # 107.60 x 1 per mille a day: 17 days (next week's, the newest) = 1.83, 10 days = 1.08
    assert [i["data"]["late_fee"] for i in reminders] == ["1.83", "1.08"]


def test_bill_issued_by_billing_reaches_the_inbox(client, world, session) -> None:
    _bill(session, world)
    kinds = [i["kind"] for i in _inbox(client, world)["items"]]
    assert "bill_issued" in kinds


def test_bills_of_a_batch_run_reach_the_inbox_once(client, world, session) -> None:
    from decimal import Decimal

    from sqlalchemy import insert

    from billing.models import MeterReading
    from billing.run import run_period
    from core.db import db

    add_tariffs(session)
    session.execute(
        insert(MeterReading),
        [
            {"account_id": world.own_account.id, "period": "2026-01", "reading": Decimal(0)},
            {"account_id": world.own_account.id, "period": "2026-02", "reading": Decimal(200)},
        ],
    )
    session.commit()
    assert run_period(db.new_session, "2026-02").issued == 1
    items = [i for i in _inbox(client, world)["items"] if i["kind"] == "bill_issued"]
    assert len(items) == 1 and "107.60" in items[0]["body"] and "2026-02" in items[0]["body"]
    assert _kinds(session, "bill_issued") == 1


def test_reminders_are_scheduled_on_beat(app) -> None:
    beat = app.extensions["celery"].conf.beat_schedule
    assert beat["due-date-reminders"]["task"] == "notifications.send_due_reminders"
    assert beat["arrears-reminders"]["task"] == "notifications.send_arrears_reminders"
