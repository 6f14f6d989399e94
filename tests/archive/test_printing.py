"""The printable dossier: cover, catalog and reference sheet in one PDF with Chinese text that extracts."""

from __future__ import annotations

import io
import re
from typing import Any

from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics

from archive.printing import FONT_NAME
from tests.archive.helpers import file_via_api, open_dossier, pdf_bytes


def test_catalog_pdf_has_cover_catalog_and_reference_sheet_in_chinese(client, world):
    token = world.token("archivist")
    open_dossier(client, token, "1000000001")
    file_via_api(
        client,
        token,
        "1000000001",
        pdf_bytes(pages=2),
        formed_on="2024-01-10",
        title="用电申请书",
        document_no="YX-2024-001",
    )
    file_via_api(
        client, token, "1000000001", pdf_bytes(pages=3), formed_on="2024-03-01", title="供用电合同", title_supplied="1"
    )
    response = client.get("/api/v1/archive/dossiers/1000000001/catalog.pdf", headers=world.headers("supervisor"))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.get_data()))
    assert len(reader.pages) == 3
    cover, catalog, reference = (page.extract_text() for page in reader.pages)
    assert "案卷封面" in cover and "档号" in cover and "UA-YX-1000000001" in cover and "永久" in cover
    assert "20240110" in cover and "20240301" in cover
    assert "卷内目录" in catalog and "用电申请书" in catalog and "[供用电合同]" in catalog
    assert "YX-2024-001" in catalog and "1-2" in catalog and "3-5" in catalog
    assert "备考表" in reference and "共有文件 2 件，5 页" in reference
    _assert_text_is_drawn_in_the_embedded_cjk_font(reader)


def _assert_text_is_drawn_in_the_embedded_cjk_font(reader: PdfReader) -> None:
    """Every piece of text on every page, the Chinese included, is drawn in a subset of the font registered as
    GridDeskCJK, and that font's program is embedded in the file (no reader-side substitution)."""
    face = pdfmetrics.getFont(FONT_NAME).face.name.decode()
    drawn: list[tuple[str, Any]] = []
    for page in reader.pages:
        page.extract_text(visitor_text=lambda text, _cm, _tm, font, _size: drawn.append((text, font)))
    shown = [(text, font) for text, font in drawn if text.strip()]
    assert sum(bool(re.search(r"[\u4e00-\u9fff]", text)) for text, _font in shown) >= 20
    for text, font in shown:
        assert re.fullmatch(rf"/[A-Z]{{6}}\+{face}-0", str(font["/BaseFont"])), (text, font["/BaseFont"])
        assert font["/Subtype"] == "/TrueType" and "/FontFile2" in font["/FontDescriptor"], text
