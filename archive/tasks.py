"""Celery tasks: extract a document's text and index it (queued from the filing's announcement, or after a
withdrawal or correction commits), and the stale sweep.

``index_document`` (one document) and ``index_documents`` (a batch, one write to the index) are idempotent: they
reuse stored text when the file is unchanged and replace the index entry by id. With ``acks_late`` a worker killed
mid-task leaves the message to be delivered again, and ``requeue_stale_documents`` (periodic) re-sends any document
left pending, so nothing is lost either way.
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
INDEX_BATCH = 50


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


def _mark_indexed(document: Document) -> None:
    document.index_status, document.index_error, document.indexed_at = IndexStatus.INDEXED, "", utcnow()


def index_one(session: Session, document_id: int) -> str:
    """Extract (if needed) and index one document; return its new status. Raises on failure."""
    document = session.get(Document, document_id)
    if document is None:
        return "missing"
    if document.withdrawn:
        search_backend().delete([document.id], session=session)
        _mark_indexed(document)
        session.commit()
        return "withdrawn"
    document.index_attempts += 1
    session.commit()
    text = _text_of(session, document)
    # a database-backed index writes the entry in this transaction: it commits together with "indexed"
    search_backend().upsert([entry_for(document, text)], session=session)
    _mark_indexed(document)
    session.commit()
    return IndexStatus.INDEXED


def index_many(session: Session, document_ids: list[int]) -> list[int]:
    """Extract and index several filed documents with one write to the index; return the ids left to index one by one.

    Every write to a Whoosh index commits a segment and merges small ones, a cost per commit that dwarfs one
    document's postings: a dossier's papers filed together are indexed together. A document that is withdrawn,
    or whose extraction fails, is left to ``index_document`` (its retries and its failure reason); when the write
    itself fails, all of them are.
    """
    documents = session.scalars(select(Document).where(Document.id.in_(document_ids)).order_by(Document.id)).all()
    left: list[int] = []
    ready: list[tuple[Document, str]] = []
    for document in documents:
        document_id = document.id
        if document.withdrawn:
            left.append(document_id)
            continue
        try:
            document.index_attempts += 1
            session.commit()
            ready.append((document, _text_of(session, document)))
        except Exception as exc:
            session.rollback()
            log.warning("extracting document %s failed in a batch: %s", document_id, exc)
            left.append(document_id)
    if not ready:
        return left
    try:
        search_backend().upsert([entry_for(document, text) for document, text in ready], session=session)
        for document, _text in ready:
            _mark_indexed(document)
        session.commit()
    except Exception as exc:
        session.rollback()
        log.warning("indexing %s documents in a batch failed: %s", len(ready), exc)
        left += [document.id for document, _text in ready]
    return left


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


@shared_task(name="archive.index_documents", acks_late=True)
def index_documents(document_ids: list[int], queue: str | None = None) -> int:
    """Extract and index a batch of filed documents in one index write; those the batch could not index go on
    alone through ``index_document`` (on ``queue`` when given). Idempotent like it: a batch delivered again after a
    worker died is indexed again. Returns how many the batch indexed."""
    ids = [int(document_id) for document_id in document_ids]
    session = db.new_session()
    try:
        left = index_many(session, ids)
    finally:
        session.close()
    for document_id in left:
        if queue:
            index_document.apply_async((document_id,), queue=queue)
        else:
            index_document.delay(document_id)
    return len(ids) - len(left)


def queue_indexing(document_ids: list[int], *, queue: str | None = None) -> None:
    """Send the documents to be indexed, ``INDEX_BATCH`` to a task."""
    for start in range(0, len(document_ids), INDEX_BATCH):
        batch = document_ids[start : start + INDEX_BATCH]
        if queue:
            index_documents.apply_async((batch, queue), queue=queue)
        else:
            index_documents.delay(batch)


@shared_task(name="archive.requeue_stale_documents", acks_late=True)
@run_alone("archive.requeue_stale_documents")
def requeue_stale_documents(older_than_seconds: int = 600, queue: str | None = None) -> int:
    """Send ``index_document`` again for documents still pending after ``older_than_seconds``."""
    cutoff = utcnow() - dt.timedelta(seconds=older_than_seconds)
    with db.transaction() as session:
        ids = session.scalars(
            select(Document.id).where(Document.index_status == IndexStatus.PENDING, Document.filed_at <= cutoff)
        ).all()
    queue_indexing(list(ids), queue=queue)
    return len(ids)


def index_filed_documents(payloads: list[dict[str, Any]]) -> None:
    """The archive's subscriber of ``DOCUMENT_FILED``: queue the filed documents' extraction and indexing, in
    batches (a dossier's papers are filed together).

    A queue that is down fails the relay, which keeps the messages; a document queued twice is indexed once more
    (indexing is idempotent).
    """
    queue_indexing([int(payload["document_id"]) for payload in payloads])
