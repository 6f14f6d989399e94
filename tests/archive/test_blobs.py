"""The blob stores, each test on the file store and on the S3 store: content-addressed, stored once, verified on
read, and holds that keep a blob a filing in flight relies on."""

from __future__ import annotations

import hashlib
import io
import threading

import pytest

from archive.blobs import FileBlobStore
from archive.interfaces import BlobCorrupt, BlobStore
from archive.s3 import S3BlobStore
from tests.archive.helpers import stored_names, tampered, vanished


def test_the_store_satisfies_the_protocol_and_reports_its_health(blobs, blob_kind):
    assert isinstance(blobs, BlobStore)
    bucket = {"bucket": "griddesk-test"} if blob_kind == "s3" else {}
    assert blobs.health() == {"ok": True, "store": blob_kind, **bucket}


def test_put_names_the_blob_by_its_sha256_and_stores_it_once(blobs):
    data = b"%PDF-1.4 content" * 1000
    sha, created = blobs.put(io.BytesIO(data))
    assert sha == hashlib.sha256(data).hexdigest() and created
    again, created_again = blobs.put(io.BytesIO(data))
    assert again == sha and not created_again
    assert stored_names(blobs) == [sha]  # no temporary file or second copy left behind
    with blobs.open(sha) as handle:
        assert handle.read() == data


def test_keys_follow_the_file_layout_under_the_prefix(blobs):
    sha, _ = blobs.put(io.BytesIO(b"layout"))
    if isinstance(blobs, FileBlobStore):
        assert blobs.path(sha).relative_to(blobs.root).parts == (sha[:2], sha[2:4], sha)
    else:
        assert isinstance(blobs, S3BlobStore)
        assert blobs.key(sha) == f"{blobs.prefix}{sha[:2]}/{sha[2:4]}/{sha}" and blobs.prefix.endswith("/")


def test_a_large_blob_round_trips(blobs):
    data = bytes(range(256)) * (40 * 1024 + 7)  # about 10 MB: past the in-memory spool, several read chunks
    sha, _ = blobs.put(io.BytesIO(data))
    with blobs.open(sha) as handle:
        assert handle.read(5) == data[:5]
        handle.seek(0)  # extraction and downloads may seek
        assert hashlib.sha256(handle.read()).hexdigest() == sha
    assert blobs.verify(sha) == "ok"


def test_verify_reports_missing_and_corrupt_blobs(blobs):
    sha, _ = blobs.put(io.BytesIO(b"original"))
    assert blobs.verify(sha) == "ok"
    with tampered(blobs, sha):
        assert blobs.verify(sha) == "corrupt"
    with vanished(blobs, sha):
        assert blobs.verify(sha) == "missing"
        assert not blobs.exists(sha)
    assert blobs.verify(sha) == "ok"


def test_a_corrupt_blob_is_never_read_as_good(blobs):
    sha, _ = blobs.put(io.BytesIO(b"the contract as filed"))
    with tampered(blobs, sha, b"the contract as changed"), pytest.raises(BlobCorrupt) as caught:
        blobs.open(sha)
    assert caught.value.sha256 == sha
    with vanished(blobs, sha), pytest.raises(FileNotFoundError):
        blobs.open(sha)


def test_names_that_are_not_sha256_digests_are_refused(blobs):
    for name in ("../../etc/passwd", "A" * 64, "ab"):
        with pytest.raises(ValueError):
            blobs.exists(name)
        with pytest.raises(ValueError):
            blobs.open(name)


def test_discard_waits_for_pins_and_keeps_a_blob_that_is_still_needed(blobs):
    sha, _ = blobs.put(io.BytesIO(b"shared content"))
    pin = blobs.pin(sha)  # a filing of the same content, not committed yet
    waiting = threading.Event()
    committed = threading.Event()
    outcome: list[bool] = []

    def still_needed() -> bool:
        waiting.set()
        return committed.is_set()

    worker = threading.Thread(target=lambda: outcome.append(blobs.discard(sha, still_needed=still_needed)))
    worker.start()
    assert not waiting.wait(0.3)  # the rollback's discard waits for the pin: it has not asked yet
    assert worker.is_alive() and blobs.exists(sha)
    committed.set()  # the other filing commits, then releases its pin
    pin.release()
    worker.join(timeout=30)
    assert outcome == [False] and blobs.exists(sha)
    assert blobs.discard(sha, still_needed=lambda: False) and not blobs.exists(sha)


def test_discard_gives_up_and_keeps_the_blob_when_a_pin_is_never_released(blobs):
    sha, _ = blobs.put(io.BytesIO(b"content"))
    pin = blobs.pin(sha)
    assert blobs.discard(sha, timeout=0.2) is False and blobs.exists(sha)
    pin.release()
    assert blobs.discard(sha) is True and not blobs.exists(sha)
    assert blobs.discard(sha) is False  # nothing left to remove


def test_a_pin_taken_in_a_transaction_ends_with_it(app, blobs):
    """The filing's own transaction holds the blob: on PostgreSQL a transaction-level advisory lock on the
    filing's connection, which its commit or rollback (or a dead process's connection) releases."""
    from sqlalchemy import text

    from core.db import db

    sha, _ = blobs.put(io.BytesIO(b"filed in a transaction"))
    filing = db.new_session()
    try:
        filing.execute(text("SELECT 1"))
        pin = blobs.pin(sha, filing)
        assert blobs.discard(sha, timeout=0.2) is False
        if db.engine is not None and db.engine.dialect.name == "postgresql":
            filing.rollback()  # the end of the transaction alone releases it
        else:
            pin.release()  # file locks: the session's after-rollback hook releases them
            filing.rollback()
        assert blobs.discard(sha, timeout=5) is True
    finally:
        filing.close()


def test_an_s3_server_without_conditional_writes_still_stores(app, tmp_path, request, monkeypatch):
    """Servers that answer 501 to If-None-Match (older S3-API implementations) get plain writes from then on."""
    from botocore.exceptions import ClientError

    from tests.archive.conftest import make_blob_store

    store = make_blob_store("s3", tmp_path, request)
    assert isinstance(store, S3BlobStore)
    real_put = store.client.put_object
    conditional: list[bool] = []

    def put_object(**options):  # type: ignore[no-untyped-def]
        conditional.append("IfNoneMatch" in options)
        if "IfNoneMatch" in options:
            error = {"Error": {"Code": "NotImplemented"}, "ResponseMetadata": {"HTTPStatusCode": 501}}
            raise ClientError(error, "PutObject")  # type: ignore[arg-type]
        return real_put(**options)

    monkeypatch.setattr(store.client, "put_object", put_object)
    first, created = store.put(io.BytesIO(b"first"))
    second, created_too = store.put(io.BytesIO(b"second"))
    assert created and created_too and conditional == [True, False, False]
    assert store.verify(first) == store.verify(second) == "ok"
