"""The extraction/index task: status per document, retries, the failure reason, the stale sweep."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, update

from archive.models import Document, DocumentText
from archive.registry import search_backend
from archive.search import SearchQuery
from archive.tasks import index_document, index_documents, requeue_stale_documents
from core.db import db
from tests.archive.helpers import file_via_api, open_dossier, pdf_bytes, scan_image, tampered, vanished


def _document(session, document_id: int) -> Document:
    session.expire_all()
    return session.get(Document, document_id)


def test_a_scanned_image_is_ocrd_and_found_by_search(app_search, client, world, session):
    token = world.token("archivist")
    open_dossier(client, token, "1000000001")
    filed = file_via_api(client, token, "1000000001", scan_image(["用电检查单", "户号 1000000001"]), name="scan.png")
    assert filed.status_code == 201, filed.get_json()
    document = _document(session, filed.get_json()["id"])
    assert document.index_status == "indexed" and document.text.method == "ocr"
    assert search_backend().search(SearchQuery(q="用电检查单")).total == 1


def test_a_failing_extraction_is_retried_then_marked_failed_with_the_reason(app, app_blobs, client, world, session):
    token = world.token("archivist")
    open_dossier(client, token, "1000000001")
    document_id = file_via_api(client, token, "1000000001", pdf_bytes()).get_json()["id"]
    session.rollback()
    sha = _document(session, document_id).sha256
    session.rollback()
    with db.transaction() as other:  # no stored text, and the file vanished from the store
        other.execute(delete(DocumentText).where(DocumentText.document_id == document_id))
    with vanished(app_blobs, sha):
        assert index_document.apply((document_id,)).result == "failed"
    document = _document(session, document_id)
    assert document.index_status == "failed"
    assert "FileNotFoundError" in document.index_error
    assert document.index_attempts == 1 + 1 + index_document.max_retries  # the filing's run, then 1 + retries
    session.rollback()
    assert index_document.apply((document_id,)).result == "indexed"  # idempotent: a later run repairs it
    assert _document(session, document_id).index_status == "indexed"


def test_stale_pending_documents_are_sent_again(client, world, session):
    token = world.token("archivist")
    open_dossier(client, token, "1000000001")
    document_id = file_via_api(client, token, "1000000001", pdf_bytes()).get_json()["id"]
    session.rollback()
    with db.transaction() as other:
        other.execute(
            update(Document)
            .where(Document.id == document_id)
            .values(index_status="pending", filed_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        )
    assert requeue_stale_documents.apply((600,)).result == 1
    assert _document(session, document_id).index_status == "indexed"


def test_a_damaged_file_is_never_extracted_as_good(app_blobs, client, world, session):
    token = world.token("archivist")
    open_dossier(client, token, "1000000001")
    document_id = file_via_api(client, token, "1000000001", pdf_bytes()).get_json()["id"]
    session.rollback()
    sha = _document(session, document_id).sha256
    session.rollback()
    with db.transaction() as other:
        other.execute(delete(DocumentText).where(DocumentText.document_id == document_id))
    with tampered(app_blobs, sha, pdf_bytes("被替换的文件内容。")):
        assert index_document.apply((document_id,)).result == "failed"
    document = _document(session, document_id)
    assert document.index_status == "failed" and "BlobCorrupt" in document.index_error
    assert document.text is None


def _filed_and_pending(client, world, session, count: int) -> list[int]:
    """``count`` documents filed (and indexed at once, eagerly), then made fresh, unindexed filings again."""
    token = world.token("archivist")
    open_dossier(client, token, "1000000001")
    ids = [
        file_via_api(client, token, "1000000001", pdf_bytes(f"第{n}份合同，户号1000000001。")).get_json()["id"]
        for n in range(count)
    ]
    session.rollback()
    with db.transaction() as other:
        other.execute(update(Document).where(Document.id.in_(ids)).values(index_status="pending", index_attempts=0))
    search_backend().delete(ids)
    return ids


def test_documents_sent_together_are_indexed_in_one_write(app_search, client, world, session, monkeypatch):
    ids = _filed_and_pending(client, world, session, 3)
    writes: list[int] = []
    upsert = app_search.upsert

    def counted(entries, **options):  # type: ignore[no-untyped-def]
        batch = list(entries)
        writes.append(len(batch))
        return upsert(batch, **options)

    monkeypatch.setattr(app_search, "upsert", counted)
    assert index_documents.apply((ids,)).result == 3
    assert writes == [3]
    assert {_document(session, i).index_status for i in ids} == {"indexed"}
    assert search_backend().search(SearchQuery(q="合同")).total == 3


def test_a_document_failing_in_a_batch_goes_on_alone_and_the_rest_are_indexed(app, app_blobs, client, world, session):
    good, bad = _filed_and_pending(client, world, session, 2)
    sha = _document(session, bad).sha256
    session.rollback()
    with db.transaction() as other:  # the bad one has no stored text, and its file vanished from the store
        other.execute(delete(DocumentText).where(DocumentText.document_id == bad))
    with vanished(app_blobs, sha):
        assert index_documents.apply(([good, bad],)).result == 1
    assert _document(session, good).index_status == "indexed"
    failed = _document(session, bad)
    assert failed.index_status == "failed" and "FileNotFoundError" in failed.index_error
    assert failed.index_attempts == 1 + 1 + index_document.max_retries  # the batch's try, then its own
    assert search_backend().search(SearchQuery(q="第0份合同")).total == 1


def test_a_batch_skips_documents_that_are_gone_and_removes_withdrawn_ones(client, world, session):
    kept, withdrawn = _filed_and_pending(client, world, session, 2)
    with db.transaction() as other:
        other.execute(update(Document).where(Document.id == withdrawn).values(withdrawn_at=dt.datetime.now(dt.UTC)))
    assert index_documents.apply(([kept, withdrawn, 10**9],)).result == 2
    assert _document(session, withdrawn).index_status == "indexed"  # its entry is gone: nothing left to do
    assert {hit for hit, _fingerprint in search_backend().fingerprints()} == {kept}


def test_what_a_batch_leaves_goes_on_through_the_batchs_own_queue(app, app_blobs, client, world, session, monkeypatch):
    good, bad = _filed_and_pending(client, world, session, 2)
    sha = _document(session, bad).sha256
    session.rollback()
    with db.transaction() as other:
        other.execute(delete(DocumentText).where(DocumentText.document_id == bad))
    queued: list[tuple[tuple, str | None]] = []
    send = index_document.apply_async

    def recorded(args, **options):  # type: ignore[no-untyped-def]
        queued.append((tuple(args), options.get("queue")))
        return send(args, **options)

    monkeypatch.setattr(index_document, "apply_async", recorded)
    with vanished(app_blobs, sha):
        assert index_documents.apply(([good, bad], "ocr")).result == 1
    assert queued[0] == ((bad,), "ocr")
