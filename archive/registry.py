"""Looks up the configured implementations (blob store, search backend, text extractor) for the current app.

Implementations are built once per app by ``archive.init_app`` from the configuration (``BLOB_STORE`` with
``BLOB_DIR`` or the ``S3_*`` settings, ``SEARCH_BACKEND`` with ``SEARCH_INDEX_DIR``); callers ask here instead of
constructing them.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from .interfaces import BlobStore, SearchBackend, TextExtractor

_KEY = "griddesk_archive"


def configure(app: Any) -> None:
    from .extraction import DefaultExtractor
    from .search import open_backend

    app.extensions[_KEY] = {
        "blobs": open_blob_store(app.config),
        "search": open_backend(app.config.get("SEARCH_BACKEND", "whoosh"), app.config["SEARCH_INDEX_DIR"]),
        "extractor": DefaultExtractor(
            ocr_languages=app.config.get("OCR_LANGUAGES", "chi_sim+eng"),
            ocr_timeout=int(app.config.get("OCR_TIMEOUT", 120)),
        ),
    }


def open_blob_store(config: Any) -> BlobStore:
    """The blob store named by ``BLOB_STORE``: ``file`` (``BLOB_DIR``, the default) or ``s3`` (``S3_*``).

    Holds on blobs (see ``archive.holds``) are PostgreSQL advisory locks when the database is PostgreSQL, so
    that every machine sharing it sees them; file locks on this machine otherwise."""
    from core.db import db

    from .holds import holds_for

    kind = config.get("BLOB_STORE", "file")
    if kind == "file":
        from .blobs import FileBlobStore

        root = config["BLOB_DIR"]
        return FileBlobStore(root, holds=holds_for(lambda: db.engine, f"{root}/.locks"))
    if kind == "s3":
        from .s3 import S3BlobStore

        locks = f"{config.get('INSTANCE_DIR') or config['BLOB_DIR']}/blob-locks"
        return S3BlobStore(
            bucket=config.get("S3_BUCKET", ""),
            holds=holds_for(lambda: db.engine, locks),
            endpoint_url=config.get("S3_ENDPOINT_URL"),
            access_key_id=config.get("S3_ACCESS_KEY_ID"),
            secret_access_key=config.get("S3_SECRET_ACCESS_KEY"),
            region=config.get("S3_REGION"),
            prefix=config.get("S3_PREFIX", ""),
            addressing_style=config.get("S3_ADDRESSING_STYLE", "auto"),
        )
    raise ValueError(f"unknown blob store {kind!r} (BLOB_STORE is file or s3)")


def blob_store() -> BlobStore:
    return current_app.extensions[_KEY]["blobs"]  # type: ignore[no-any-return]


def search_backend() -> SearchBackend:
    return current_app.extensions[_KEY]["search"]  # type: ignore[no-any-return]


def text_extractor() -> TextExtractor:
    return current_app.extensions[_KEY]["extractor"]  # type: ignore[no-any-return]


def setting(name: str, default: Any) -> Any:
    return current_app.config.get(name, default)
