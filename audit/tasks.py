"""Celery tasks of the audit: a requested run, and the periodic run over accounts whose records changed."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from sqlalchemy.exc import OperationalError

from core.db import db

from .execution import audit_changed, execute_run


@shared_task(name="audit.run_audit", acks_late=True, autoretry_for=(OperationalError,), max_retries=3)
def run_audit(run_id: int) -> dict[str, object]:
    """Execute a queued run in a session of its own (eager runs may sit inside another session's commit)."""
    session = db.new_session()
    try:
        run = execute_run(session, run_id)
        return {"run_id": run.id, "status": run.status, "new": run.findings_new}
    finally:
        session.close()


@shared_task(name="audit.audit_changed_accounts", acks_late=True)
def audit_changed_accounts() -> dict[str, object]:
    session = db.new_session()
    try:
        run = audit_changed(session)
        return {"run_id": run.id if run else None}
    finally:
        session.close()


def queue_requested_runs(payloads: list[dict[str, Any]]) -> None:
    """The audit's subscriber of ``RUN_REQUESTED``: queue each requested run (a run done already is left alone)."""
    for payload in payloads:
        run_audit.delay(int(payload["run_id"]))
