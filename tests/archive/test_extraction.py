"""Text extraction: OCR (real Tesseract, chi_sim+eng) of a generated scan, PDF text layers, DOCX."""

from __future__ import annotations

import io

import docx

from archive.extraction import DefaultExtractor
from archive.interfaces import TextExtractor
from archive.samples import scan_image
from archive.uploads import DOCX, PDF, PNG, TIFF
from tests.archive.helpers import pdf_bytes


def test_default_extractor_satisfies_the_protocol():
    assert isinstance(DefaultExtractor(), TextExtractor)


def test_ocr_reads_chinese_and_the_account_number_from_a_scan():
    image = scan_image(["供用电合同", "户号 3301000457", "用电检查单"])
    text, method = DefaultExtractor().extract(io.BytesIO(image), PNG)
    assert method == "ocr"
    assert "供用电合同" in text
    assert "3301000457" in text


def test_ocr_reads_every_page_of_a_multipage_tiff():
    from PIL import Image

    pages = [Image.open(io.BytesIO(scan_image([line], fmt="PNG"))) for line in ("停电通知单", "户号 3301000999")]
    out = io.BytesIO()
    pages[0].save(out, format="TIFF", save_all=True, append_images=pages[1:])
    text, _ = DefaultExtractor().extract(io.BytesIO(out.getvalue()), TIFF)
    assert "停电通知" in text and "3301000999" in text


def test_pdf_text_layer_is_used_without_ocr():
    text, method = DefaultExtractor().extract(io.BytesIO(pdf_bytes("双方签订供用电合同。")), PDF)
    assert method == "pdf_text" and "供用电合同" in text


def test_docx_paragraphs_and_tables_are_extracted():
    document = docx.Document()
    document.add_paragraph("欠费还款协议")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "户号"
    table.rows[0].cells[1].text = "3301000001"
    out = io.BytesIO()
    document.save(out)
    text, method = DefaultExtractor().extract(io.BytesIO(out.getvalue()), DOCX)
    assert method == "docx" and "欠费还款协议" in text and "3301000001" in text
