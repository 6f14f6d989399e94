"""Looks up the configured implementations (blob store, search backend, text extractor) for the current app.

Implementations are built once per app by ``archive.init_app`` from ``BLOB_DIR`` and ``SEARCH_INDEX_DIR``;
callers ask here instead of constructing them.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from .interfaces import BlobStore, SearchBackend, TextExtractor

_KEY = "griddesk_archive"


def configure(app: Any) -> None:
    from .blobs import FileBlobStore
    from .extraction import DefaultExtractor
    from .search import open_backend

    app.extensions[_KEY] = {
        "blobs": FileBlobStore(app.config["BLOB_DIR"]),
        "search": open_backend(app.config.get("SEARCH_BACKEND", "whoosh"), app.config["SEARCH_INDEX_DIR"]),
        "extractor": DefaultExtractor(
            ocr_languages=app.config.get("OCR_LANGUAGES", "chi_sim+eng"),
            ocr_timeout=int(app.config.get("OCR_TIMEOUT", 120)),
        ),
    }


def blob_store() -> BlobStore:
    return current_app.extensions[_KEY]["blobs"]  # type: ignore[no-any-return]


def search_backend() -> SearchBackend:
    return current_app.extensions[_KEY]["search"]  # type: ignore[no-any-return]


def text_extractor() -> TextExtractor:
    return current_app.extensions[_KEY]["extractor"]  # type: ignore[no-any-return]


def setting(name: str, default: Any) -> Any:
    return current_app.config.get(name, default)
