"""An audit run requested through the API is executed by a real Celery worker on Redis (PostgreSQL suite)."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.service


def test_requested_run_is_executed_by_the_worker(client, world, session, live_worker) -> None:
    headers = world.headers("supervisor")
    response = client.post("/api/v1/audit/runs", json={"scope": {"unit": "UA"}}, headers=headers)
    assert response.status_code == 202
    run_id = response.get_json()["run_id"]
    deadline = time.monotonic() + 60
    status = {}
    while time.monotonic() < deadline:
        session.rollback()  # the test's app context shares the request session: drop its cached objects
        status = client.get(f"/api/v1/audit/runs/{run_id}", headers=headers).get_json()
        if status["status"] in {"done", "failed"}:
            break
        time.sleep(0.2)
    assert status["status"] == "done", status
    assert status["rules_done"] == status["rules_total"] and status["accounts_checked"] == 1
