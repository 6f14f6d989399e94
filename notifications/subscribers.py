"""Notifications' subscribers of the outbox: what billing, the audit, the service desk and notifications announce.

Each takes a relay's batch of one topic and queues tasks with ids and plain values (the notices are made by the
workers, not inside the relay). A queue that is down raises, which fails the relay and keeps the messages for
the next one; a batch handed over twice makes no second notice (notices are keyed by their event).
"""

from __future__ import annotations

from typing import Any

from core import outbox

from . import topics
from .events import application_notice, document_notice, finding_notice, ticket_follower_mail, ticket_notice
from .tasks import (
    fan_out_notice,
    mail_ticket_follower,
    notify_bills_issued,
    notify_event,
    notify_payments_received,
)

_REPR_MAX = 1024  # Celery's argsrepr_maxsize


def _queue_with_ids(task: Any, ids: list[int]) -> None:
    # argsrepr (for logs and monitors) cut at Celery's size by plain repr(): Celery's own saferepr of a long id
    # list cost more than the rest of the message
    task.apply_async((ids,), argsrepr=repr((ids,))[:_REPR_MAX])


def bills_issued(payloads: list[dict[str, Any]]) -> None:
    """One ``notify_bills_issued`` for the batch (its bills read from the database)."""
    _queue_with_ids(notify_bills_issued, [int(i) for p in payloads for i in p["bill_ids"]])


def payments_recorded(payloads: list[dict[str, Any]]) -> None:
    """One ``notify_payments_received`` for the batch."""
    _queue_with_ids(notify_payments_received, [int(p["payment_id"]) for p in payloads])


def findings_assigned(payloads: list[dict[str, Any]]) -> None:
    """A notice to each finding's assignee."""
    for payload in payloads:
        notify_event.apply_async(kwargs=finding_notice(payload))


def tickets_changed(payloads: list[dict[str, Any]]) -> None:
    """A notice to the people each ticket step concerns (the reporter; supervisors for an escalation)."""
    for payload in payloads:
        arguments = ticket_notice(payload)
        if arguments is not None:
            notify_event.apply_async(kwargs=arguments)
        mail = ticket_follower_mail(payload)  # a passer-by who left an e-mail address
        if mail is not None:
            mail_ticket_follower.apply_async(kwargs=mail)


def applications_changed(payloads: list[dict[str, Any]]) -> None:
    """A notice to the applicant at each step of their application."""
    for payload in payloads:
        arguments = application_notice(payload)
        if arguments is not None:
            notify_event.apply_async(kwargs=arguments)


def notices_published(payloads: list[dict[str, Any]]) -> None:
    """Fan each published notice out to its recipients."""
    for payload in payloads:
        fan_out_notice.delay(int(payload["notice_id"]))


def documents_issued(payloads: list[dict[str, Any]]) -> None:
    """A notice for each e-invoice or e-bill (keyed by it: announced twice, mailed once)."""
    for payload in payloads:
        notify_event.delay(**document_notice(payload))


def subscribe() -> None:
    outbox.subscribe(topics.BILLS_ISSUED, bills_issued)
    outbox.subscribe(topics.PAYMENT_RECORDED, payments_recorded)
    outbox.subscribe(topics.FINDING_ASSIGNED, findings_assigned)
    outbox.subscribe(topics.NOTICE_PUBLISHED, notices_published)
    outbox.subscribe(topics.TICKET_CHANGED, tickets_changed)
    outbox.subscribe(topics.APPLICATION_CHANGED, applications_changed)
    outbox.subscribe(topics.DOCUMENTS_ISSUED, documents_issued)
