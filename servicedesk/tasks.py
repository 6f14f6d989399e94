"""Celery tasks of the service desk: the periodic escalation of overdue tickets."""

from __future__ import annotations

from celery import shared_task

from core.db import db
from core.locks import run_alone

from .services import escalate_overdue


@shared_task(name="servicedesk.escalate_overdue_tickets", acks_late=True)
@run_alone("servicedesk.escalate_overdue_tickets")
def escalate_overdue_tickets() -> dict[str, object]:
    """Mark the tickets past their due time escalated and tell their units' supervisors (each clock once)."""
    session = db.new_session()
    try:
        count = escalate_overdue(session)
        session.commit()
        return {"escalated": count}
    finally:
        session.close()
