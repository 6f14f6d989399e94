"""The archive's swappable parts as parametrised fixtures.

Every search test runs on the Whoosh backend and on the PostgreSQL backend (the latter needs a PostgreSQL test
database: skipped on SQLite runs, a failure where ``GRIDDESK_REQUIRE_SERVICES=1`` says the services must be
there). Every blob test runs on the file store and on an S3-API store (moto's server on 127.0.0.1), with holds
that follow the test database as they do in the app (PostgreSQL advisory locks there, file locks on SQLite).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archive.interfaces import BlobStore, SearchBackend
from tests.support import S3_BUCKET

# --- search backends -------------------------------------------------------------------------------------------


def require_postgres() -> None:
    """Skip a PostgreSQL-only test on SQLite; fail it where the services are required."""
    if os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
        return
    message = "the PostgreSQL search backend needs TEST_DATABASE_URL=postgresql+psycopg://..."
    if os.environ.get("GRIDDESK_REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(params=["whoosh", "postgres"])
def search_kind(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        require_postgres()
    return str(request.param)


@pytest.fixture
def whoosh(tmp_path) -> SearchBackend:  # type: ignore[no-untyped-def]
    """A Whoosh backend of its own (for what only Whoosh has: generations on disk, segments, codecs)."""
    from archive.search.whoosh_backend import WhooshBackend

    return WhooshBackend(tmp_path / "index", lock_timeout=30)  # generous: the machine may be busy


@pytest.fixture
def backend(search_kind, tmp_path, request) -> Iterator[SearchBackend]:  # type: ignore[no-untyped-def]
    """An empty search backend of each kind (PostgreSQL: the test database's tables)."""
    if search_kind == "whoosh":
        yield request.getfixturevalue("whoosh")
        return
    request.getfixturevalue("app")  # the engine, and empty tables after the test
    from archive.search.postgres_backend import PostgresBackend

    postgres = PostgresBackend()
    postgres.clear()
    yield postgres
    postgres.clear()


@pytest.fixture
def app_search(app, search_kind, monkeypatch) -> SearchBackend:  # type: ignore[no-untyped-def]
    """The app's search backend for this test, of each kind: filings, tasks, the CLI and the pages use it."""
    from archive.registry import _KEY

    if search_kind == "postgres":
        from archive.search.postgres_backend import PostgresBackend

        monkeypatch.setitem(app.extensions[_KEY], "search", PostgresBackend())
    return app.extensions[_KEY]["search"]  # type: ignore[no-any-return]


# --- blob stores -----------------------------------------------------------------------------------------------


def make_blob_store(kind: str, root: Path, request: pytest.FixtureRequest) -> BlobStore:
    """A store of ``kind`` with its own space (a folder, or a key prefix in the test bucket), holds as the app has."""
    from archive.registry import open_blob_store

    config: dict[str, Any] = {"BLOB_STORE": kind, "BLOB_DIR": str(root / "blobs"), "INSTANCE_DIR": str(root)}
    if kind == "s3":
        config.update(
            S3_ENDPOINT_URL=request.getfixturevalue("s3_endpoint"),
            S3_BUCKET=S3_BUCKET,
            S3_ACCESS_KEY_ID="test",
            S3_SECRET_ACCESS_KEY="test",
            S3_REGION="us-east-1",
            S3_PREFIX=f"blobs-{uuid.uuid4().hex[:12]}",
            S3_ADDRESSING_STYLE="path",
        )
    return open_blob_store(config)


@pytest.fixture(params=["file", "s3"])
def blob_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def blobs(app, blob_kind, tmp_path, request) -> BlobStore:  # type: ignore[no-untyped-def]
    """A fresh blob store of each kind (``app``: its database decides the holds)."""
    return make_blob_store(blob_kind, tmp_path, request)


@pytest.fixture
def app_blobs(app, blob_kind, tmp_path, request, monkeypatch) -> BlobStore:  # type: ignore[no-untyped-def]
    """The app's blob store for this test, of each kind: filings, downloads and verify go through it."""
    from archive.registry import _KEY

    store = make_blob_store(blob_kind, tmp_path, request)
    monkeypatch.setitem(app.extensions[_KEY], "blobs", store)
    return store
