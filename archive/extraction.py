"""Text from stored files: the PDF text layer, DOCX paragraphs and tables, OCR (Tesseract) for images and scans."""

from __future__ import annotations

import io
import warnings
from typing import IO

from .uploads import DOCX, IMAGE_TYPES, PDF

# a PDF page with fewer characters than this in its text layer is treated as a scan and OCR'd
_MIN_TEXT_PER_PAGE = 8
_MAX_OCR_PAGES = 50


class ExtractionError(RuntimeError):
    """The file could not be turned into text (the reason is stored on the document)."""


class DefaultExtractor:
    """pypdf, python-docx and pytesseract (``chi_sim+eng`` from Debian's tesseract-ocr packages)."""

    def __init__(self, *, ocr_languages: str = "chi_sim+eng", ocr_timeout: int = 120):
        self.ocr_languages = ocr_languages
        self.ocr_timeout = ocr_timeout

    def extract(self, stream: IO[bytes], content_type: str) -> tuple[str, str]:
        data = stream.read()
        if content_type == PDF:
            return self._pdf(data)
        if content_type == DOCX:
            return self._docx(data), "docx"
        if content_type in IMAGE_TYPES:
            return self._ocr_image(data), "ocr"
        return "", "none"

    def _pdf(self, data: bytes) -> tuple[str, str]:
        from pypdf import PdfReader

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            texts = [(page.extract_text() or "").strip() for page in reader.pages]
        if all(len(t) >= _MIN_TEXT_PER_PAGE for t in texts):
            return "\f".join(texts), "pdf_text"  # a form feed between pages: snippets name their page
        # scanned pages: OCR the page images pdftoppm renders (poppler-utils)
        return self._ocr_pdf(data, texts), "ocr"

    def _ocr_pdf(self, data: bytes, texts: list[str]) -> str:
        import subprocess
        import tempfile
        from pathlib import Path

        out: list[str] = []
        with tempfile.TemporaryDirectory(prefix="griddesk-ocr-") as tmp:
            source = Path(tmp) / "in.pdf"
            source.write_bytes(data)
            for number, text in enumerate(texts[:_MAX_OCR_PAGES], start=1):
                if len(text) >= _MIN_TEXT_PER_PAGE:
                    out.append(text)
                    continue
                prefix = Path(tmp) / f"p{number}"
                subprocess.run(
                    [
                        "pdftoppm",
                        "-r",
                        "200",
                        "-gray",
                        "-png",
                        "-f",
                        str(number),
                        "-l",
                        str(number),
                        "-singlefile",
                        str(source),
                        str(prefix),
                    ],
                    check=True,
                    capture_output=True,
                    timeout=self.ocr_timeout,
                )
                out.append(self._ocr_image(Path(f"{prefix}.png").read_bytes()))
        return "\f".join(out)

    def _docx(self, data: bytes) -> str:
        import docx

        document = docx.Document(io.BytesIO(data))
        parts = [p.text for p in document.paragraphs if p.text.strip()]
        for table in document.tables:
            for row in table.rows:
                parts.append(" ".join(cell.text for cell in row.cells))
        return "\n".join(parts)

    def _ocr_image(self, data: bytes) -> str:
        import pytesseract
        from PIL import Image, ImageSequence

        texts = []
        with Image.open(io.BytesIO(data)) as img:
            for number, frame in enumerate(ImageSequence.Iterator(img)):
                if number >= _MAX_OCR_PAGES:
                    break
                page = frame.convert("L")
                text = pytesseract.image_to_string(page, lang=self.ocr_languages, timeout=self.ocr_timeout)
                texts.append(_join_cjk(text).strip())
        return "\f".join(texts).strip()


def _join_cjk(text: str) -> str:
    """Tesseract puts spaces between Chinese characters; remove those so words segment properly."""
    out = []
    chars = list(text)
    for i, char in enumerate(chars):
        if char == " " and 0 < i < len(chars) - 1 and _cjk(chars[i - 1]) and _cjk(chars[i + 1]):
            continue
        out.append(char)
    return "".join(out)


def _cjk(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff" or "\u3000" <= char <= "\u303f" or "\uff00" <= char <= "\uffef"
