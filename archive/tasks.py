"""Celery tasks: extract a document's text and index it (queued from the filing's announcement, or after a
withdrawal or correction commits), and the stale sweep.

``index_document`` is idempotent: it reuses stored text when the file is unchanged and replaces the index
entry by id. With ``acks_late`` a worker killed mid-task leaves the message to be delivered again, and
``requeue_stale_documents`` (periodic) re-sends any document left pending, so nothing is lost either way.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import shared_task
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import db, utcnow
from core.locks import run_alone

from .models import Document, DocumentText
from .registry import blob_store, search_backend, text_extractor
from .search import entry_for
from .vocabulary import IndexStatus

log = logging.getLogger(__name__)
MAX_RETRIES = 4


def _text_of(session: Session, document: Document) -> str:
    stored = session.scalar(select(DocumentText).where(DocumentText.document_id == document.id))
    if stored is not None and stored.sha256 == document.sha256:
        return stored.text
    with blob_store().open(document.sha256) as stream:
        text, method = text_extractor().extract(stream, document.content_type)
    if stored is None:
        stored = DocumentText(document_id=document.id, sha256=document.sha256, method=method, text=text)
        session.add(stored)
    else:
        stored.sha256, stored.method, stored.text, stored.extracted_at = document.sha256, method, text, utcnow()
    session.commit()  # keep the (possibly slow) OCR result even if indexing fails below
    return text


def index_one(session: Session, document_id: int) -> str:
    """Extract (if needed) and index one document; return its new status. Raises on failure."""
    document = session.get(Document, document_id)
    if document is None:
        return "missing"
    if document.withdrawn:
        search_backend().delete([document.id], session=session)
        document.index_status, document.index_error, document.indexed_at = IndexStatus.INDEXED, "", utcnow()
        session.commit()
        return "withdrawn"
    document.index_attempts += 1
    session.commit()
    text = _text_of(session, document)
    # a database-backed index writes the entry in this transaction: it commits together with "indexed"
    search_backend().upsert([entry_for(document, text)], session=session)
    document.index_status, document.index_error, document.indexed_at = IndexStatus.INDEXED, "", utcnow()
    session.commit()
    return IndexStatus.INDEXED


def _attempt(document_id: int, *, try_number: int, last_try: bool) -> str | Exception:
    """One try in its own session (eager runs happen inside the filing session's after-commit hook).

    Returns the new status, or the exception when another try should follow."""
    session = db.new_session()
    try:
        return index_one(session, document_id)
    except Exception as exc:
        session.rollback()
        reason = f"{type(exc).__name__}: {exc}"[:500]
        log.warning("indexing document %s failed (try %s): %s", document_id, try_number, reason)
        document = session.get(Document, document_id)
        if document is not None:
            if last_try:
                document.index_status = IndexStatus.FAILED
            document.index_error = reason if last_try else f"retrying: {reason}"
            session.commit()
        return IndexStatus.FAILED if last_try else exc
    finally:
        session.close()


@shared_task(bind=True, name="archive.index_document", acks_late=True, max_retries=MAX_RETRIES)
def index_document(self: Any, document_id: int) -> str:
    """Extract and index a filed document; retried with back-off; after the last try it is marked failed."""
    document_id = int(document_id)
    if self.request.is_eager:  # no queue to come back through: try again right here
        for number in range(self.max_retries + 1):
            outcome = _attempt(document_id, try_number=number + 1, last_try=number == self.max_retries)
            if not isinstance(outcome, Exception):
                return outcome
        return IndexStatus.FAILED
    retries = self.request.retries
    outcome = _attempt(document_id, try_number=retries + 1, last_try=retries >= self.max_retries)
    if isinstance(outcome, Exception):
        raise self.retry(exc=outcome, countdown=min(2 ** (retries + 1), 60))
    return outcome


@shared_task(name="archive.requeue_stale_documents", acks_late=True)
@run_alone("archive.requeue_stale_documents")
def requeue_stale_documents(older_than_seconds: int = 600, queue: str | None = None) -> int:
    """Send ``index_document`` again for documents still pending after ``older_than_seconds``."""
    cutoff = utcnow() - dt.timedelta(seconds=older_than_seconds)
    with db.transaction() as session:
        ids = session.scalars(
            select(Document.id).where(Document.index_status == IndexStatus.PENDING, Document.filed_at <= cutoff)
        ).all()
    for document_id in ids:
        if queue:
            index_document.apply_async((document_id,), queue=queue)
        else:
            index_document.delay(document_id)
    return len(ids)


def index_filed_documents(payloads: list[dict[str, Any]]) -> None:
    """The archive's subscriber of ``DOCUMENT_FILED``: queue each filed document's extraction and indexing.

    A queue that is down fails the relay, which keeps the messages; a document queued twice is indexed once more
    (``index_document`` is idempotent).
    """
    for payload in payloads:
        index_document.delay(int(payload["document_id"]))
