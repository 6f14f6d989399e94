from __future__ import annotations

import pytest

pytestmark = pytest.mark.service


def test_real_worker_on_redis_runs_tasks_and_health_sees_the_broker(app, live_worker, client, world) -> None:
    celery = app.extensions["celery"]
    assert celery.send_task("griddesk.ping").get(timeout=30) == "pong"
    queue = client.get("/healthz", headers=world.headers("admin")).get_json()["queue"]
    assert queue["ok"] and "redis" in str(queue["transport"]).lower()
