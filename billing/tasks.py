"""Celery tasks of billing: a reader file's rows entered in the background."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from sqlalchemy.exc import OperationalError

from core.db import db


@shared_task(name="billing.import_readings", acks_late=True, autoretry_for=(OperationalError,), max_retries=3)
def import_readings(import_id: int) -> dict[str, object]:
    """Enter a stored reader file's rows in a session of its own (idempotent: it goes on where it stopped)."""
    from billing.reading_books import run_reading_import

    session = db.new_session()
    try:
        batch = run_reading_import(session, import_id)
        return {"import_id": batch.id, "status": batch.status, "done": batch.done}
    finally:
        session.close()


def queue_reading_imports(payloads: list[dict[str, Any]]) -> None:
    """Billing's subscriber of ``READING_IMPORT_REQUESTED``: queue each stored file's import."""
    for payload in payloads:
        import_readings.delay(int(payload["import_id"]))
