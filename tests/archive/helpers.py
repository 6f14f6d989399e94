"""Helpers for the archive tests: files to upload and a filing call."""

from __future__ import annotations

import io
from typing import Any

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


__all__ = ["FIELDS", "file_via_api", "open_dossier", "pdf_bytes", "scan_image"]
