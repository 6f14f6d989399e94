"""Periodic tasks run twice at once (two celery beats, or a slow run overlapping the next) do the work once."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from core.locks import exclusive
from notifications.delivery import plan_deliveries, store_messages
from notifications.models import Notice
from notifications.tasks import STALLED_AFTER, resume_stalled_work
from tests.mapping.local_http import serve
from tests.notifications.push_receiver import BrowserKeys


def test_the_stalled_work_sweep_started_twice_at_once_pushes_each_message_once(client, world, session) -> None:
    second: dict[str, Any] = {}

    def push_service(_request: Any, _body: bytes) -> tuple[int, dict[str, str], bytes]:
        if not second:  # the first push: another beat's sweep starts now, while this one is sending
            second["started"] = True
            thread = threading.Thread(target=lambda: second.update(result=resume_stalled_work()))
            thread.start()
            thread.join(timeout=120)
        return 201, {}, b""

    with serve(push_service) as (url, log):
        subscription = BrowserKeys().subscription(f"{url}/push/phone")
        subscribed = client.post("/api/v1/me/push-subscriptions", json=subscription, headers=world.headers("customer"))
        assert subscribed.status_code == 201
        customer = world.users["customer"].id
        long_ago = dt.datetime.now(dt.UTC) - STALLED_AFTER - dt.timedelta(minutes=1)
        for title in ("停电一", "停电二", "停电三"):
            notice = Notice(kind="outage", title=title, body="检修", recipients=1, fanned_out_at=long_ago)
            session.add(notice)
            session.flush()
            store_messages(session, notice.id, [customer])
            plan_deliveries(session, notice.id, [customer], long_ago)  # pending since long ago: a lost task's
        session.commit()
        first = resume_stalled_work.delay().get()
    assert first["deliveries_resent"] == 3 and first["sent"] == 3
    assert second["result"] == {"skipped": "another run is going"}
    assert [entry["path"] for entry in log] == ["/push/phone"] * 3


def test_every_periodic_task_does_nothing_while_another_run_of_it_holds_its_lock(app) -> None:
    """Each beat task but the outbox relay, whose concurrent runs take disjoint messages (SKIP LOCKED on
    PostgreSQL) and whose handlers are idempotent."""
    from core.outbox import RELAY_TASK

    celery = app.extensions["celery"]
    names = sorted({entry["task"] for entry in app.extensions["griddesk_beat"].values()} - {RELAY_TASK})
    assert len(names) >= 6
    for name in names:
        with app.app_context(), exclusive(name):
            assert celery.tasks[name].delay().get() == {"skipped": "another run is going"}, name
