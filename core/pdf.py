"""PDF building blocks shared by every printed document (archive sheets, e-invoices, e-bills).

One A4 page layout with 20 mm margins and an embedded CJK font (WenQuanYi Zen Hei from Debian's
fonts-wqy-zenhei, a TrueType collection: reportlab embeds face 0 as a subset; ``ARCHIVE_CJK_FONT`` names another).
Every value reaching a Paragraph goes through ``literal``: reportlab reads a Paragraph's text as markup.
"""

from __future__ import annotations

import io
import os
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate

FONT_NAME = "GridDeskCJK"
DEFAULT_FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


def register_font() -> str:
    """The CJK font's registered name (registered once per process)."""
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        path = os.environ.get("ARCHIVE_CJK_FONT", DEFAULT_FONT)
        pdfmetrics.registerFont(TTFont(FONT_NAME, path, subfontIndex=0))
    return FONT_NAME


def literal(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph showing ``text`` as written: reportlab reads a Paragraph's text as markup (``<img src>``
    would pull a local file into the PDF, an unclosed ``<b>`` fails the whole document)."""
    return Paragraph("<br/>".join(escape(line) for line in text.split("\n")), style)


def a4_document(buffer: io.BytesIO, *, title: str, author: str) -> SimpleDocTemplate:
    """An A4 document with 20 mm margins."""
    return SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=title,
        author=author,
    )
