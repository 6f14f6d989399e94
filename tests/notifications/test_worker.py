"""A real Celery worker on Redis: fan-out in batches, and a worker killed mid-batch loses and doubles nothing."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from notifications.models import Delivery, Message, Notice, PushSubscription
from notifications.tasks import deliver_batch, fan_out_notice
from tests.notifications.helpers import SQUARE, customer_with_account
from tests.notifications.push_receiver import push_service

pytestmark = pytest.mark.service


def _customers(session, world, service, n: int) -> list[int]:
    ids = []
    for i in range(n):
        user, _account = customer_with_account(session, world, 100 + i, 30.265 + (i % 10) * 0.001, 120.16)
        sub = service.subscribe(f"u{user.id}")
        session.add(
            PushSubscription(
                user_id=user.id, endpoint=sub["endpoint"], p256dh=sub["keys"]["p256dh"], auth=sub["keys"]["auth"]
            )
        )
        ids.append(user.id)
    session.commit()
    return ids


def _wait_until(predicate, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the worker")


def _count(session, stmt) -> int:
    session.rollback()
    return int(session.scalar(stmt) or 0)


def test_outage_fans_out_through_the_worker_to_inboxes_and_push(client, world, session, live_worker) -> None:
    with push_service() as service:
        users = _customers(session, world, service, 40)
        response = client.post(
            "/api/v1/notices/outages",
            json={
                "title": "计划停电",
                "body": "检修",
                "starts_at": "2026-12-05T08:30:00+08:00",
                "ends_at": "2026-12-05T17:30:00+08:00",
                "area": SQUARE,
            },  # fmt: skip
            headers=world.headers("clerk"),
        )
        assert response.status_code == 202
        notice_id = response.get_json()["notice_id"]
        expected = response.get_json()["recipients"]
        assert expected == len(users) + 1  # plus the world's own customer (no subscription)
        sent = select(func.count()).select_from(Delivery).where(Delivery.status == "sent")
        _wait_until(lambda: _count(session, sent) == len(users))
    messages = _count(session, select(func.count()).select_from(Message).where(Message.notice_id == notice_id))
    assert messages == expected
    assert sorted(p["title"] for p in service.payloads()) == ["计划停电"] * len(users)


def _pool_children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in children.read_text().split()] if children.exists() else []


def test_worker_killed_mid_batch_neither_loses_nor_doubles_a_message(world, session, live_worker) -> None:
    with push_service() as service:
        users = _customers(session, world, service, 120)
        slow = dict.get

        def slow_status(mapping, key, default=None):
            time.sleep(0.03)  # a slow push service keeps each batch busy for a while
            return slow(mapping, key, default)

        service.status_for = type("SlowStatus", (dict,), {"get": slow_status})()
        notice = Notice(kind="outage", title="停电", body="检修", user_ids=users)
        session.add(notice)
        session.commit()
        for start in range(0, len(users), 30):
            deliver_batch.delay(notice.id, users[start : start + 30])
        _wait_until(lambda: len(service.received) >= 10)
        killed = _pool_children(live_worker.pid)
        assert killed, "no pool processes to kill"
        for pid in killed:
            os.kill(pid, signal.SIGKILL)  # the worker dies in the middle of its batches
        sent = select(func.count()).select_from(Delivery).where(Delivery.status == "sent")
        _wait_until(lambda: _count(session, sent) == len(users), timeout=120)
    assert _count(session, select(func.count()).select_from(Message).where(Message.notice_id == notice.id)) == len(
        users
    )
    assert _count(session, select(func.count()).select_from(Delivery)) == len(users)
    assert {p["message_id"] for p in service.payloads()} == set(
        session.scalars(select(Message.id).where(Message.notice_id == notice.id))
    )
    assert live_worker.poll() is None  # the worker itself lives on with fresh pool processes


def test_fan_out_task_is_idempotent(world, session, live_worker) -> None:
    notice = Notice(kind="outage", title="停电", body="检修", account_nos=[world.own_account.account_no])
    session.add(notice)
    session.commit()
    fan_out_notice.delay(notice.id).get(timeout=30)
    fan_out_notice.delay(notice.id).get(timeout=30)
    messages = select(func.count()).select_from(Message).where(Message.notice_id == notice.id)
    _wait_until(lambda: _count(session, messages) == 1)
    time.sleep(1)
    assert _count(session, messages) == 1


def test_a_posted_payment_is_announced_through_the_outbox_by_the_worker(client, world, session, live_worker) -> None:
    from core.outbox import OutboxMessage

    reply = client.post(
        "/api/v1/payments",
        json={"account_no": world.own_account.account_no, "amount": "88.00", "channel": "counter", "reference": "C-1"},
        headers={**world.headers("clerk"), "Idempotency-Key": "worker-outbox-1"},
    )
    assert reply.status_code == 201, reply.get_json()
    # the request put the message and queued a relay; the worker relays it and makes the notice
    _wait_until(
        lambda: _count(session, select(func.count()).select_from(Notice).where(Notice.kind == "payment_received")) == 1
    )
    notice = session.scalars(select(Notice).where(Notice.kind == "payment_received")).one()
    assert "88.00" in notice.body and notice.dedupe_key == f"payment:{reply.get_json()['id']}"
    assert _count(session, select(func.count()).select_from(OutboxMessage)) == 0


def test_the_bills_of_a_run_are_announced_through_the_outbox_by_the_worker(world, session, live_worker) -> None:
    from decimal import Decimal

    from sqlalchemy import insert

    from billing.models import MeterReading
    from billing.run import run_period
    from core.db import db
    from core.outbox import OutboxMessage
    from tests.billing.support import add_tariffs

    add_tariffs(session)
    session.execute(
        insert(MeterReading),
        [
            {"account_id": world.own_account.id, "period": "2026-01", "reading": Decimal(0)},
            {"account_id": world.own_account.id, "period": "2026-02", "reading": Decimal(200)},
        ],
    )
    session.commit()
    # the chunk's commit put the message and queued a relay; the worker relays it and makes the notice
    assert run_period(db.new_session, "2026-02").issued == 1
    bill_notices = select(func.count()).select_from(Notice).where(Notice.kind == "bill_issued")
    _wait_until(lambda: _count(session, bill_notices) == 1)
    notice = session.scalars(select(Notice).where(Notice.kind == "bill_issued")).one()
    assert "107.60" in notice.body and notice.account_nos == [world.own_account.account_no]
    _wait_until(lambda: _count(session, select(func.count()).select_from(OutboxMessage)) == 0)
    messages = select(func.count()).select_from(Message).where(Message.notice_id == notice.id)
    _wait_until(lambda: _count(session, messages) == 1)
