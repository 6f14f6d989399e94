"""The file blob store: content-addressed, atomic, stored once, verified."""

from __future__ import annotations

import hashlib
import io

from archive.blobs import FileBlobStore
from archive.interfaces import BlobStore


def test_file_blob_store_satisfies_the_protocol(tmp_path):
    assert isinstance(FileBlobStore(tmp_path), BlobStore)


def test_put_names_the_file_by_its_sha256_and_stores_it_once(tmp_path):
    store = FileBlobStore(tmp_path)
    data = b"%PDF-1.4 content" * 1000
    sha, created = store.put(io.BytesIO(data))
    assert sha == hashlib.sha256(data).hexdigest() and created
    again, created_again = store.put(io.BytesIO(data))
    assert again == sha and not created_again
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files == [store.path(sha)]  # no temporary file left behind
    with store.open(sha) as handle:
        assert handle.read() == data


def test_verify_reports_missing_and_corrupt_blobs(tmp_path):
    store = FileBlobStore(tmp_path)
    sha, _ = store.put(io.BytesIO(b"original"))
    assert store.verify(sha) == "ok"
    path = store.path(sha)
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    assert store.verify(sha) == "corrupt"
    path.unlink()
    assert store.verify(sha) == "missing"


def test_discard_waits_for_pins_and_keeps_a_blob_that_is_still_needed(tmp_path):
    import threading
    import time

    store = FileBlobStore(tmp_path)
    sha, _ = store.put(io.BytesIO(b"shared content"))
    pin = store.pin(sha)  # a filing of the same content, not committed yet
    committed = threading.Event()
    outcome: list[bool] = []
    worker = threading.Thread(target=lambda: outcome.append(store.discard(sha, still_needed=committed.is_set)))
    worker.start()
    time.sleep(0.3)
    assert worker.is_alive() and store.exists(sha)  # the rollback's discard waits for the pin
    committed.set()  # the other filing commits, then releases its pin
    pin.release()
    worker.join(timeout=10)
    assert outcome == [False] and store.exists(sha)
    assert store.discard(sha, still_needed=lambda: False) and not store.exists(sha)


def test_discard_gives_up_and_keeps_the_blob_when_a_pin_is_never_released(tmp_path):
    store = FileBlobStore(tmp_path)
    sha, _ = store.put(io.BytesIO(b"content"))
    pin = store.pin(sha)
    assert store.discard(sha, timeout=0.2) is False and store.exists(sha)
    pin.release()
