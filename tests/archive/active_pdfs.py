"""Small hand-written PDFs with and without active content (JavaScript, launch and automatic actions).

Written byte by byte so that each sits exactly where a viewer looks for it: in the catalog, on a page, in an
annotation, behind ``#xx``-escaped names, or inside a compressed object stream (PDF 1.5) that no byte search sees.
"""

from __future__ import annotations

import struct
import zlib

_PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"


def _page(extra: bytes) -> bytes:
    return b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] " + extra + b" >>"


def _catalog(extra: bytes) -> bytes:
    return b"<< /Type /Catalog /Pages 2 0 R " + extra + b" >>"


def plain_pdf(*, catalog: bytes = b"", page: bytes = b"", extra: dict[int, bytes] | None = None) -> bytes:
    """Catalog 1, pages 2, page 3, then ``extra`` objects from 4, with a classic cross-reference table."""
    objects = {1: _catalog(catalog), 2: _PAGES, 3: _page(page), **(extra or {})}
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    start = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, size))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, start)
    return bytes(out)


def object_stream_pdf(*, catalog: bytes = b"") -> bytes:
    """The catalog compressed inside object stream 4, found through a cross-reference stream (object 5)."""
    head = b"1 0 "
    packed = zlib.compress(head + _catalog(catalog))
    object_stream = b"<< /Type /ObjStm /N 1 /First %d /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream" % (
        len(head),
        len(packed),
        packed,
    )
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number, body in ((2, _PAGES), (3, _page(b"")), (4, object_stream)):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    offsets[5] = len(out)
    rows = [(0, 0, 65535), (2, 4, 0)] + [(1, offsets[n], 0) for n in (2, 3, 4, 5)]
    table = b"".join(struct.pack(">BIH", *row) for row in rows)
    out += b"5 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (
        len(table),
        table,
    )
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[5]
    return bytes(out)


_SCRIPT = b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"

ACTIVE = {
    "document JavaScript": lambda: plain_pdf(
        catalog=b"/Names << /JavaScript << /Names [(x) 4 0 R] >> >>", extra={4: _SCRIPT}
    ),
    "script on opening": lambda: plain_pdf(catalog=b"/OpenAction " + _SCRIPT),
    "web address on opening": lambda: plain_pdf(catalog=b"/OpenAction << /S /URI /URI (http://127.0.0.1:9/) >>"),
    "page additional actions": lambda: plain_pdf(page=b"/AA << /O << /S /GoTo /D [3 0 R /Fit] >> >>"),
    "launch link": lambda: plain_pdf(
        page=b"/Annots [4 0 R]",
        extra={4: b"<< /Type /Annot /Subtype /Link /Rect [0 0 99 99] /A << /S /Launch /F (calc.exe) >> >>"},
    ),
    "escaped names": lambda: plain_pdf(
        catalog=b"/Names << /J#61vaScript << /Names [(x) 4 0 R] >> >>",
        extra={4: b"<< /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>"},
    ),
    "script in an object stream": lambda: object_stream_pdf(catalog=b"/OpenAction " + _SCRIPT),
    "XFA form": lambda: plain_pdf(catalog=b"/AcroForm << /Fields [] /XFA [] >>"),
}

HARMLESS = {
    "opens at a page": lambda: plain_pdf(catalog=b"/OpenAction [3 0 R /Fit]"),
    "goes to a page on opening": lambda: plain_pdf(catalog=b"/OpenAction << /S /GoTo /D [3 0 R /Fit] >>"),
    "web link the reader clicks": lambda: plain_pdf(
        page=b"/Annots [4 0 R]",
        extra={4: b"<< /Type /Annot /Subtype /Link /Rect [0 0 99 99] /A << /S /URI /URI (https://95598.cn/) >> >>"},
    ),
    "a font named AA": lambda: plain_pdf(
        page=b"/Resources << /Font << /AA << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>"
    ),
    "catalog in an object stream": lambda: object_stream_pdf(),
}
