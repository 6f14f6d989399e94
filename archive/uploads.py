"""Upload checks: type from the content (never the name), size, safe names, broken/encrypted PDFs, PDFs with
active content (JavaScript, launch actions, actions that start by themselves), bombs.

``inspect_upload`` reads the upload from a seekable stream and either returns what it found or raises one
``InvalidInput`` with a specific code. Nothing is stored before it passes.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from core.errors import InvalidInput, Problem

PDF, JPEG, PNG, TIFF, DOCX = (
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/tiff",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
)
EXTENSIONS = {PDF: "pdf", JPEG: "jpg", PNG: "png", TIFF: "tif", DOCX: "docx"}
IMAGE_TYPES = frozenset({JPEG, PNG, TIFF})

MAX_IMAGE_PIXELS = 80_000_000  # an A3 page at 600 dpi is about 70 Mpx
MAX_DOCX_UNPACKED = 200 * 1024 * 1024
MAX_ZIP_RATIO = 200


@dataclass(frozen=True)
class UploadInfo:
    content_type: str
    size: int
    pages: int | None  # counted from the file where the format tells
    safe_name: str


def sniff(head: bytes, stream: IO[bytes]) -> str | None:
    """The content type from magic bytes (and, for ZIP, from the OOXML parts inside)."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if head.startswith(b"PK\x03\x04"):
        stream.seek(0)
        try:
            with zipfile.ZipFile(stream) as zf:
                names = set(zf.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
        if "[Content_Types].xml" in names and "word/document.xml" in names:
            return DOCX
    return None


_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def safe_name(name: str | None, content_type: str) -> str:
    """A display/download name: no directories, control or shell-hostile characters; the true extension."""
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = _UNSAFE.sub("_", stem).strip(" ._")[:100] or "document"
    return f"{stem}.{EXTENSIONS[content_type]}"


def _pdf_read_errors() -> tuple[type[BaseException], ...]:
    from pypdf.errors import PyPdfError

    return (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError)


def _pdf_pages(stream: IO[bytes]) -> int:
    from pypdf import PdfReader

    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(stream, strict=False)
            if reader.is_encrypted:
                raise InvalidInput.fields({"file": Problem("pdf_encrypted")}, "pdf_encrypted")
            pages = len(reader.pages)
            if pages:
                reader.pages[0].mediabox  # noqa: B018  (touch the page tree: a broken one raises here)
            active = active_content(reader)
    except InvalidInput:
        raise
    except _pdf_read_errors() as exc:
        raise InvalidInput.fields({"file": Problem("pdf_broken")}, "pdf_broken") from exc
    if pages < 1:
        raise InvalidInput.fields({"file": Problem("pdf_without_pages")}, "pdf_broken")
    if active:
        raise InvalidInput.fields({"file": active}, "pdf_active_content")
    return pages


# Action types refused wherever they appear; any other action is refused only where it starts by itself.
_SCRIPT_ACTIONS = {"/JavaScript": Problem("pdf_javascript"), "/Launch": Problem("pdf_launch_action")}


def active_content(reader: Any) -> Problem | None:
    """The problem of what in the PDF could run: JavaScript (``/JS``, ``/JavaScript``, XFA forms), a
    ``/Launch`` action, or an action started by itself (``/OpenAction`` other than going to a page, ``/AA``);
    None for a plain document.

    Every object in the cross-reference tables is read, those inside compressed object streams too (a name in
    the raw bytes may be compressed or written with ``#xx`` escapes, which pypdf decodes)."""
    from pypdf.generic import IndirectObject

    numbers = {(num, gen) for gen, table in reader.xref.items() for num in table}
    numbers |= {(num, 0) for num in reader.xref_objStm}
    objects: list[Any] = [reader.trailer]
    for num, gen in sorted(numbers):
        try:
            objects.append(reader.get_object(IndirectObject(num, gen, reader)))
        except _pdf_read_errors():
            continue  # an unreadable object is nothing a viewer can run either
    for obj in objects:
        for dictionary in _dictionaries(obj):
            found = _active_entry(dictionary)
            if found:
                return found
    return None


def _dictionaries(obj: Any, depth: int = 0) -> Iterator[dict[Any, Any]]:
    """The dictionary and those nested directly inside it (indirect references are read on their own)."""
    if depth > 64:
        return
    if isinstance(obj, dict):
        yield obj
        children: Iterable[Any] = obj.values()
    elif isinstance(obj, list):
        children = obj
    else:
        return
    for child in children:
        if isinstance(child, dict | list):
            yield from _dictionaries(child, depth + 1)


def _resolved(value: Any) -> Any:
    return value.get_object() if hasattr(value, "get_object") else value


def _active_entry(dictionary: dict[Any, Any]) -> Problem | None:
    if "/JS" in dictionary or "/JavaScript" in dictionary:
        return Problem("pdf_javascript")
    if "/XFA" in dictionary:
        return Problem("pdf_xfa_form")
    action_type = dictionary.get("/S")
    if action_type in _SCRIPT_ACTIONS:
        return _SCRIPT_ACTIONS[action_type]
    if "/OpenAction" in dictionary:
        opening = _resolved(dictionary["/OpenAction"])
        if isinstance(opening, dict) and opening.get("/S") != "/GoTo":  # an array is a page to open at
            return Problem("pdf_open_action")
    if "/AA" in dictionary:
        triggers = _resolved(dictionary["/AA"])
        if isinstance(triggers, dict) and any(
            isinstance(_resolved(action), dict) and "/S" in _resolved(action) for action in triggers.values()
        ):
            return Problem("pdf_automatic_actions")
    return None


def _image_pages(stream: IO[bytes]) -> int:
    from PIL import Image

    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream) as img:
                width, height = img.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise InvalidInput.fields({"file": Problem("image_too_large")}, "decompression_bomb")
                frames = getattr(img, "n_frames", 1)
                for frame in range(frames):
                    img.seek(frame)
                    if img.size[0] * img.size[1] > MAX_IMAGE_PIXELS:
                        raise InvalidInput.fields({"file": Problem("image_too_large")}, "decompression_bomb")
                img.verify()
    except InvalidInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidInput.fields({"file": Problem("image_too_large")}, "decompression_bomb") from exc
    except Exception as exc:
        raise InvalidInput.fields({"file": Problem("image_broken")}, "image_broken") from exc
    return int(frames)


def _check_docx(stream: IO[bytes]) -> None:
    stream.seek(0)
    with zipfile.ZipFile(stream) as zf:
        unpacked = sum(info.file_size for info in zf.infolist())
        packed = sum(info.compress_size for info in zf.infolist()) or 1
    if unpacked > MAX_DOCX_UNPACKED or unpacked / packed > MAX_ZIP_RATIO:
        raise InvalidInput.fields({"file": Problem("document_too_large")}, "decompression_bomb")


def inspect_upload(stream: IO[bytes], filename: str | None, *, max_bytes: int) -> UploadInfo:
    """Check an upload; raise InvalidInput (file_empty, file_too_large, unsupported_type, ...) if refused."""
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    if size == 0:
        raise InvalidInput.fields({"file": Problem("file_empty")}, "file_empty")
    if size > max_bytes:
        max_mib = max_bytes // (1024 * 1024)
        raise InvalidInput.fields(
            {"file": Problem("file_too_large", max_mib=max_mib)}, "file_too_large", max_mib=max_mib
        )
    head = stream.read(16)
    content_type = sniff(head, stream)
    if content_type is None:
        raise InvalidInput.fields({"file": Problem("unsupported_type")}, "unsupported_type")
    pages: int | None = None
    if content_type == PDF:
        pages = _pdf_pages(stream)
    elif content_type in IMAGE_TYPES:
        pages = _image_pages(stream)
    else:
        _check_docx(stream)
    stream.seek(0)
    return UploadInfo(content_type, size, pages, safe_name(filename, content_type))
