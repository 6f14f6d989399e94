"""The archive's implementations come from configuration: BLOB_STORE and SEARCH_BACKEND, holds by database."""

from __future__ import annotations

import pytest

from archive.blobs import FileBlobStore
from archive.holds import AdvisoryLockHolds, FileLockHolds
from archive.registry import open_blob_store
from archive.s3 import S3BlobStore


def test_blob_store_kinds_and_their_holds(app, tmp_path):
    from core.db import db

    assert db.engine is not None
    expected_holds = AdvisoryLockHolds if db.engine.dialect.name == "postgresql" else FileLockHolds
    file_store = open_blob_store({"BLOB_DIR": str(tmp_path / "blobs")})  # the default kind
    assert isinstance(file_store, FileBlobStore) and isinstance(file_store.holds, expected_holds)
    s3_store = open_blob_store(
        {"BLOB_STORE": "s3", "BLOB_DIR": str(tmp_path), "S3_BUCKET": "archive", "S3_PREFIX": "/prod/blobs/"}
    )
    assert isinstance(s3_store, S3BlobStore) and isinstance(s3_store.holds, expected_holds)
    assert s3_store.prefix == "prod/blobs/"
    assert s3_store.key("ab" * 32) == f"prod/blobs/ab/ab/{'ab' * 32}"


def test_an_unknown_blob_store_or_an_s3_store_without_bucket_is_refused(app, tmp_path):
    with pytest.raises(ValueError, match="unknown blob store"):
        open_blob_store({"BLOB_STORE": "ftp", "BLOB_DIR": str(tmp_path)})
    with pytest.raises(ValueError, match="S3_BUCKET"):
        open_blob_store({"BLOB_STORE": "s3", "BLOB_DIR": str(tmp_path)})


def test_healthz_reports_the_blob_store_and_an_unreachable_one(app, app_blobs, blob_kind, client, world, monkeypatch):
    staff = world.headers("clerk")  # the parts' details are for staff
    body = client.get("/healthz", headers=staff).get_json()
    assert body["blobs"]["ok"] is True and body["blobs"]["store"] == blob_kind
    unreachable = S3BlobStore(
        bucket="archive", holds=FileLockHolds(app.config["BLOB_DIR"]), endpoint_url="http://127.0.0.1:9"
    )
    monkeypatch.setitem(app.extensions["griddesk_archive"], "blobs", unreachable)
    response = client.get("/healthz", headers=staff)
    assert response.status_code == 503 and response.get_json()["blobs"]["ok"] is False


def test_search_backend_kinds(app, tmp_path):
    from archive.search import open_backend
    from archive.search.postgres_backend import PostgresBackend
    from archive.search.whoosh_backend import WhooshBackend
    from core.db import db

    assert isinstance(open_backend("whoosh", str(tmp_path / "index")), WhooshBackend)
    with pytest.raises(ValueError, match="unknown search backend"):
        open_backend("elasticsearch", str(tmp_path))
    assert db.engine is not None
    if db.engine.dialect.name == "postgresql":
        assert isinstance(open_backend("postgres", str(tmp_path)), PostgresBackend)
    else:  # refused at start-up, not at the first search
        with pytest.raises(ValueError, match="needs a PostgreSQL DATABASE_URL"):
            open_backend("postgres", str(tmp_path))
