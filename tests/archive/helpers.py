"""Helpers for the archive tests: files to upload and a filing call."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from typing import Any

from archive.blobs import FileBlobStore
from archive.interfaces import BlobStore
from archive.s3 import S3BlobStore
from archive.samples import scan_image, text_pdf

FIELDS = {
    "doc_type": "power_supply_contract",
    "title": "供用电合同",
    "formed_on": "2024-03-01",
    "responsible_unit": "湖滨供电所",
    "writing_material": "print",
    "paper_size": "A4",
}


def pdf_bytes(body: str = "本合同由供电人与用电人签订，双方签订供用电合同，户号1000000001。", pages: int = 1) -> bytes:
    return text_pdf("供用电合同", body, pages=pages)


def file_via_api(
    client: Any, token: str, account_no: str, content: bytes, name: str = "合同.pdf", **fields: Any
) -> Any:
    data: dict[str, Any] = {**FIELDS, **{k: str(v) for k, v in fields.items()}}
    data["file"] = (io.BytesIO(content), name)
    return client.post(
        f"/api/v1/archive/dossiers/{account_no}/documents",
        data=data,
        headers={"Authorization": f"Bearer {token}"},
        content_type="multipart/form-data",
    )


def open_dossier(client: Any, token: str, account_no: str) -> Any:
    return client.post(
        "/api/v1/archive/dossiers", json={"account_no": account_no}, headers={"Authorization": f"Bearer {token}"}
    )


# --- reaching behind a blob store's back (what a damaged disk or bucket would do) ----------------------


def stored_names(store: BlobStore) -> list[str]:
    """The names of every blob in the store, as its storage lists them (no temporary files or stray objects)."""
    if isinstance(store, FileBlobStore):
        if not store.root.exists():
            return []
        return sorted(p.name for p in store.root.rglob("*") if p.is_file() and not p.name.endswith(".lock"))
    assert isinstance(store, S3BlobStore)
    pages = store.client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket, Prefix=store.prefix)
    return sorted(item["Key"].rsplit("/", 1)[-1] for page in pages for item in page.get("Contents", []))


def _raw_write(store: BlobStore, sha256: str, data: bytes) -> None:
    if isinstance(store, FileBlobStore):
        path = store.path(sha256)
        if path.exists():
            path.chmod(0o644)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    else:
        assert isinstance(store, S3BlobStore)
        store.client.put_object(Bucket=store.bucket, Key=store.key(sha256), Body=data)


def _raw_read(store: BlobStore, sha256: str) -> bytes:
    if isinstance(store, FileBlobStore):
        return store.path(sha256).read_bytes()
    assert isinstance(store, S3BlobStore)
    return bytes(store.client.get_object(Bucket=store.bucket, Key=store.key(sha256))["Body"].read())


def _raw_delete(store: BlobStore, sha256: str) -> None:
    if isinstance(store, FileBlobStore):
        store.path(sha256).unlink()
    else:
        assert isinstance(store, S3BlobStore)
        store.client.delete_object(Bucket=store.bucket, Key=store.key(sha256))


@contextlib.contextmanager
def tampered(store: BlobStore, sha256: str, data: bytes = b"tampered") -> Iterator[None]:
    """The blob's stored bytes replaced by ``data`` for the block (the original put back afterwards)."""
    original = _raw_read(store, sha256)
    _raw_write(store, sha256, data)
    try:
        yield
    finally:
        _raw_write(store, sha256, original)


@contextlib.contextmanager
def vanished(store: BlobStore, sha256: str) -> Iterator[None]:
    """The blob gone from the store for the block (put back afterwards)."""
    original = _raw_read(store, sha256)
    _raw_delete(store, sha256)
    try:
        yield
    finally:
        _raw_write(store, sha256, original)


__all__ = [
    "FIELDS",
    "file_via_api",
    "open_dossier",
    "pdf_bytes",
    "scan_image",
    "stored_names",
    "tampered",
    "vanished",
]
