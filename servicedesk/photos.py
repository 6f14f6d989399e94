"""Photos sent with a ticket: only real images are kept (the bytes are decoded, not only their name checked)."""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from core.errors import InvalidInput, Problem

from . import settings

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
MAX_PIXELS = 40_000_000


def checked_image(data: bytes, field: str = "photo") -> str:
    """The content type of ``data`` if it is a JPEG, PNG, WebP or GIF image within the size limits; otherwise one
    ``InvalidInput`` naming ``field`` (``not_an_image``, ``file_too_large``)."""
    limit = int(settings.get("SERVICEDESK_PHOTO_MAX_BYTES"))
    if len(data) > limit:
        raise InvalidInput.fields({field: Problem("file_too_large", max_mib=str(limit // (1024 * 1024)))})
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or ""
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InvalidInput.fields({field: Problem("not_an_image")}) from None
    if kind not in FORMATS:
        raise InvalidInput.fields({field: Problem("not_an_image")})
    if width * height > MAX_PIXELS:
        raise InvalidInput.fields({field: Problem("not_an_image")})
    return FORMATS[kind]
