"""Events become notices once; batches run twice repeat nothing; transient failures retry, then dead-letter."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from notifications.models import DeadLetter, Delivery, Message, Notice
from notifications.tasks import deliver_batch
from tests.notifications.push_receiver import push_service


@pytest.fixture
def retries_inline(app):
    """Eager retries re-apply at once; keep Celery from raising the Retry out of the nested apply."""
    conf = app.extensions["celery"].conf
    conf.task_eager_propagates = False
    yield
    conf.task_eager_propagates = True


def _inbox(client, world, role="customer"):
    return client.get("/api/v1/me/notifications", headers=world.headers(role)).get_json()


def test_payment_received_is_announced_once_through_the_outbox(client, world, session) -> None:
    from sqlalchemy import select

    from billing.payments import record_payment, request_hash
    from core.outbox import OutboxMessage, relay_all

    fields = {
        "account_no": world.own_account.account_no,
        "amount": Decimal("50.00"),
        "channel": "app",
        "paid_at": dt.datetime(2026, 11, 28, tzinfo=dt.UTC),
        "reference": "",
    }
    payment_id = record_payment(
        session, world.own_account, fields, idempotency_key="n-1", digest=request_hash(fields, True), actor_id=None
    )[0].id
    session.commit()  # eager tasks: the kick after the commit relayed the message
    items = _inbox(client, world)["items"]
    assert [(i["kind"], "50.00" in i["body"]) for i in items] == [("payment_received", True)]
    # the inbox lists titles: the title says which account and how much
    assert items[0]["title"] == f"户号 {world.own_account.account_no} 缴费 ¥50.00 已到账"
    assert session.scalars(select(OutboxMessage)).all() == []
    session.rollback()  # SQLite: the read began a (writing) transaction the eager task below would wait for
    # relayed again (a crash after the notice, before the message was taken): still one notice
    from notifications.tasks import notify_payments_received

    notify_payments_received.delay([payment_id])
    assert relay_all() == 0
    assert _inbox(client, world)["total"] == 1


def _notice_for(session, world) -> int:
    notice = Notice(kind="outage", title="停电", body="检修", account_nos=[world.own_account.account_no])
    session.add(notice)
    session.commit()
    return notice.id


def test_a_batch_run_twice_repeats_no_message_and_no_push(client, world, session) -> None:
    with push_service() as service:
        client.post("/api/v1/me/push-subscriptions", json=service.subscribe("p"), headers=world.headers("customer"))
        notice_id = _notice_for(session, world)
        users = [world.users["customer"].id]
        deliver_batch.delay(notice_id, users)
        deliver_batch.delay(notice_id, users)  # redelivered after a crash, say
    assert len(service.received) == 1
    assert session.scalar(select(func.count()).select_from(Message)) == 1
    assert session.scalar(select(func.count()).select_from(Delivery)) == 1


def test_transient_push_failures_are_retried_until_they_pass(client, world, session, retries_inline) -> None:
    with push_service() as service:
        client.post("/api/v1/me/push-subscriptions", json=service.subscribe("p"), headers=world.headers("customer"))
        notice_id = _notice_for(session, world)
        calls = {"n": 0}
        original = service.status_for

        class FlakyStatus(dict):
            def get(self, key, default=None):
                calls["n"] += 1
                return 503 if calls["n"] <= 2 else 201

        service.status_for = FlakyStatus(original)
        # eager: each retry runs at once (apply re-applies the task on Retry)
        deliver_batch.apply(args=[notice_id, [world.users["customer"].id]])
    session.expire_all()
    delivery = session.scalar(select(Delivery))
    assert delivery.status == "sent" and delivery.attempts == 3 and len(service.received) == 1


def test_push_failing_at_every_attempt_ends_in_the_dead_letters(app, client, world, session, retries_inline) -> None:
    with push_service() as service:
        service.status_for["p"] = 503
        client.post("/api/v1/me/push-subscriptions", json=service.subscribe("p"), headers=world.headers("customer"))
        notice_id = _notice_for(session, world)
        deliver_batch.apply(args=[notice_id, [world.users["customer"].id]])
    session.expire_all()
    delivery = session.scalar(select(Delivery))
    letter = session.scalar(select(DeadLetter))
    assert delivery.status == "failed" and delivery.attempts == app.config["NOTIFY_MAX_ATTEMPTS"]
    assert letter.attempts == delivery.attempts and "503" in letter.error


def test_stalled_work_is_resumed(client, world, session) -> None:
    """A notice whose batch never ran, and a delivery left pending by a lost task, are picked up by the sweep."""
    from notifications.delivery import plan_deliveries, store_messages
    from notifications.tasks import STALLED_AFTER, resume_stalled_work
    from tests.notifications.push_receiver import push_service

    with push_service() as service:
        client.post("/api/v1/me/push-subscriptions", json=service.subscribe("p"), headers=world.headers("customer"))
        long_ago = dt.datetime.now(dt.UTC) - STALLED_AFTER - dt.timedelta(minutes=1)
        lost = Notice(kind="outage", title="丢失的批次", body="检修", account_nos=[world.own_account.account_no],
                      recipients=1, fanned_out_at=long_ago)  # fmt: skip
        half = Notice(kind="outage", title="发了一半", body="检修", account_nos=[world.own_account.account_no],
                      recipients=1, fanned_out_at=long_ago)  # fmt: skip
        session.add_all([lost, half])
        session.flush()
        store_messages(session, half.id, [world.users["customer"].id])
        plan_deliveries(session, half.id, [world.users["customer"].id], long_ago)
        session.commit()
        result = resume_stalled_work.delay().get()
        assert result["notices_resumed"] == 1 and result["deliveries_resent"] == 1
    titles = sorted(p["title"] for p in service.payloads())
    assert titles == ["丢失的批次", "发了一半"]
    assert session.scalar(select(func.count()).select_from(Message)) == 2


def test_released_delivery_that_fails_for_now_waits_again_with_backoff(client, world, session) -> None:
    from notifications.tasks import send_deferred_deliveries
    from tests.notifications.push_receiver import push_service

    with push_service() as service:
        service.status_for["p"] = 503
        client.post("/api/v1/me/push-subscriptions", json=service.subscribe("p"), headers=world.headers("customer"))
        notice_id = _notice_for(session, world)
        from notifications.delivery import plan_deliveries, store_messages

        user = world.users["customer"].id
        store_messages(session, notice_id, [user])
        plan_deliveries(session, notice_id, [user], dt.datetime.now(dt.UTC))
        session.execute(Delivery.__table__.update().values(status="deferred", not_before=dt.datetime.now(dt.UTC)))
        session.commit()
        assert send_deferred_deliveries.delay().get() == {"released": 1, "sent": 0}
    session.expire_all()
    delivery = session.scalar(select(Delivery))
    assert delivery.status == "deferred" and delivery.attempts == 1
    assert delivery.not_before > dt.datetime.now(dt.UTC)


def test_assigning_a_finding_through_the_audit_api_lands_in_the_assignees_inbox(client, world, session) -> None:
    from audit.models import Finding

    finding = Finding(rule="T-TEST", severity="high", subject="account:x", account_id=world.own_account.id, evidence={})
    session.add(finding)
    session.commit()
    archivist = world.users["archivist"]
    response = client.post(
        f"/api/v1/audit/violations/{finding.id}/transitions",
        json={"to": "assigned", "assignee": archivist.id},
        headers=world.headers("supervisor"),
    )
    assert response.status_code == 200, response.get_json()
    inbox = _inbox(client, world, "archivist")
    assert inbox["total"] == 1 and inbox["items"][0]["kind"] == "finding_assigned"
    assert inbox["items"][0]["data"]["finding_id"] == finding.id
