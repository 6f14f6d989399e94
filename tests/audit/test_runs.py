"""Audit runs: requested through the API as Celery tasks, progress and counts stored, incremental runs."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from audit import rules as rules_pkg
from audit.execution import audit_changed, execute_run
from audit.models import AuditRun, Finding
from tests.support import make_account


@pytest.fixture
def big_rule(monkeypatch):  # type: ignore[no-untyped-def]
    """Runs apply only an account-level rule (capacity >= 315 kVA) for as long as the test runs."""
    from audit import execution, runs
    from tests.audit.test_engine import BIG

    rules_pkg.load()
    monkeypatch.setattr(runs, "all_rules", lambda: [BIG])
    monkeypatch.setattr(execution, "all_rules", lambda: [BIG])
    return BIG


def test_post_run_answers_202_and_the_run_reports_its_counts(client, world, session, big_rule) -> None:
    world.own_account.capacity_kva = Decimal(400)
    session.commit()
    response = client.post("/api/v1/audit/runs", json={"scope": {}}, headers=world.headers("supervisor"))
    assert response.status_code == 202
    run_id = response.get_json()["run_id"]
    status = client.get(f"/api/v1/audit/runs/{run_id}", headers=world.headers("supervisor")).get_json()
    assert status["status"] == "done" and status["progress"] == 1
    assert status["rules_done"] == status["rules_total"] >= 1
    assert status["counts"]["new"] == 1 and status["accounts_checked"] == 1  # unit A only
    assert session.scalar(select(Finding.subject)) == "account:1000000001"


def test_a_requested_run_is_announced_with_it_and_run_once_however_often_relayed(
    world, session, big_rule, held_outbox
) -> None:
    from audit.runs import request_run
    from audit.topics import RUN_REQUESTED
    from core import outbox
    from core.db import db

    request_run(session, world.users["supervisor"])
    session.rollback()
    assert held_outbox.messages() == [] and session.scalars(select(AuditRun)).all() == []
    run_id = request_run(session, world.users["supervisor"]).id
    session.commit()
    assert held_outbox.messages(RUN_REQUESTED) == [{"run_id": run_id}]
    assert held_outbox.relay() == 1
    finished_at = session.scalar(select(AuditRun.finished_at).where(AuditRun.id == run_id))
    assert finished_at is not None
    session.rollback()
    with db.transaction() as other:  # relayed again, as after a relay that died before deleting its batch
        outbox.put(other, RUN_REQUESTED, {"run_id": run_id})
    assert held_outbox.relay() == 1
    run = session.get(AuditRun, run_id)
    assert (run.status, run.finished_at) == ("done", finished_at)  # a run done is left alone


def test_run_scope_outside_the_callers_units_is_refused(client, world) -> None:
    headers = world.headers("supervisor")
    response = client.post("/api/v1/audit/runs", json={"scope": {"unit": "UB"}}, headers=headers)
    assert response.status_code == 422
    response = client.post("/api/v1/audit/runs", json={"scope": {"account_no": "2000000001"}}, headers=headers)
    assert response.status_code == 422
    response = client.post("/api/v1/audit/runs", json={"scope": {"account_no": "x"}}, headers=headers)
    assert response.status_code == 422


def test_run_of_one_account(client, world, session, big_rule) -> None:
    make_account(session, "1000000002", world.unit_a, capacity_kva=Decimal(800))
    world.own_account.capacity_kva = Decimal(400)
    session.commit()
    body = {"scope": {"account_no": "1000000002"}}
    run_id = client.post("/api/v1/audit/runs", json=body, headers=world.headers("supervisor")).get_json()["run_id"]
    run = session.get(AuditRun, run_id)
    session.refresh(run)
    assert (run.kind, run.accounts_checked, run.findings_new) == ("account", 1, 1)


def test_failed_run_is_marked_failed_with_the_error(session, world) -> None:
    from audit.rules import Rule

    def broken(ctx):  # type: ignore[no-untyped-def]
        raise RuntimeError("rule exploded")

    run = AuditRun(kind="full")
    session.add(run)
    session.commit()
    with pytest.raises(RuntimeError):
        execute_run(session, run.id, rules=[Rule("T-BAD", "bad", "low", "filing", "", (), broken)])
    session.refresh(run)
    assert run.status == "failed" and "rule exploded" in run.error


def test_incremental_run_audits_only_accounts_whose_records_changed(session, world, big_rule) -> None:
    first = audit_changed(session)  # the world's accounts were just created
    assert first is not None and set(first.scope_account_nos) == {"1000000001", "2000000001"}
    assert audit_changed(session) is None  # nothing changed since
    make_account(session, "1000000003", world.unit_a, capacity_kva=Decimal(500))
    session.commit()
    run = audit_changed(session)
    assert run is not None and run.scope_account_nos == ["1000000003"] and run.findings_new == 1


def test_cli_run_prints_the_counts(app, world, session, big_rule) -> None:
    world.own_account.capacity_kva = Decimal(400)
    session.commit()
    result = app.test_cli_runner().invoke(args=["griddesk", "audit", "run"])
    assert result.exit_code == 0, result.output
    assert '"new": 1' in result.output
