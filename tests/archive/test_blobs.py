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
