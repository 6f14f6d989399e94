"""The printable dossier: cover, catalog and reference sheet in one PDF with Chinese text that extracts."""

from __future__ import annotations

import io
import re
from pathlib import Path
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


ICON = Path(__file__).resolve().parents[2] / "webapp" / "static" / "portal" / "icons" / "favicon-32.png"
HOSTILE_TITLES = [
    '<img src="/etc/passwd"/>',
    f'<img src="{ICON}" width="20" height="20"/>',
    "<b>x",
    "A & B &amp; C",
    '<font size="40" color="red">big</font>',
]


def _images_in(reader: PdfReader) -> int:
    count = 0
    for page in reader.pages:
        xobjects = page["/Resources"].get("/XObject")
        if xobjects is not None:
            count += sum(1 for ref in xobjects.get_object().values() if ref.get_object().get("/Subtype") == "/Image")
    return count


def _flat(text: str) -> str:
    """Extracted text without the line breaks the table cells put in."""
    return "".join(text.split())


def test_markup_in_titles_names_and_notes_prints_as_literal_text(client, world, session):
    session.get(type(world.own_account), world.own_account.id).holder_name = "<b>张伟 & <i>"
    session.commit()
    token = world.token("archivist")
    open_dossier(client, token, "1000000001")
    ids = []
    for number, title in enumerate(HOSTILE_TITLES, start=1):
        filed = file_via_api(
            client,
            token,
            "1000000001",
            pdf_bytes(),
            formed_on=f"2024-01-{number:02d}",
            title=title,
            document_no=f"<a href='x'>{number}",
            responsible_unit="<u>湖滨</u><br/>",
        )
        assert filed.status_code == 201, filed.get_json()
        ids.append(filed.get_json()["id"])
    withdrawn = client.post(
        f"/api/v1/archive/documents/{ids[2]}/withdrawal",
        json={"reason": "<b>重复", "authorised_by": "王主任"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert withdrawn.status_code == 201
    response = client.get("/api/v1/archive/dossiers/1000000001/catalog.pdf", headers=world.headers("supervisor"))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    raw = response.get_data()
    reader = PdfReader(io.BytesIO(raw))
    cover, catalog, reference = (_flat(page.extract_text()) for page in reader.pages)
    assert "<b>张伟&<i>" in cover
    for title in (HOSTILE_TITLES[0], HOSTILE_TITLES[3], HOSTILE_TITLES[4]):
        assert _flat(title) in catalog
    assert "<a" in catalog and "<u>湖滨</u><br/>" in catalog
    assert "撤出：<b>x" in reference
    assert _images_in(reader) == 0
    assert b"root:" not in raw
