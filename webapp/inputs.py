"""Limits every request's input meets before any view reads it: no NUL character anywhere (PostgreSQL refuses
one in text, so it would surface as a 500) and integers in URLs within what the database stores.

Bodies and query strings of the API are bounded field by field by their models (a test checks every integer
field has an upper bound); HTML pages read their page numbers through ``page_arg``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from werkzeug.routing import IntegerConverter

from core.commands import MAX_ID
from core.errors import InvalidInput

# no list is paged this far; beyond it, an offset would only make the database count rows for nothing
MAX_PAGE = 100_000
_NUL = "\x00"


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` in every route: digits up to MAX_ID; a larger number matches no route (404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return _NUL in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def refuse_nul() -> None:
    """A NUL in the path, the query, a form field or a JSON string: 422 ``nul_character``. Uploaded files may
    hold any bytes; only their names are checked."""
    texts: list[Any] = [request.path, *(part for pair in request.args.items(multi=True) for part in pair)]
    if request.method in {"POST", "PUT", "PATCH", "DELETE"}:
        if request.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            texts += [part for pair in request.form.items(multi=True) for part in pair]
            texts += [name for name, _ in request.files.items(multi=True)]
            texts += [upload.filename for _, upload in request.files.items(multi=True)]
        elif request.is_json and _has_nul(request.get_json(silent=True)):
            raise InvalidInput("nul_character")
    if any(_has_nul(text) for text in texts):
        raise InvalidInput("nul_character")


def page_arg(name: str = "page") -> int:
    """A page number from the query string: 1 when absent or not a number, at most MAX_PAGE."""
    try:
        value = int(request.args.get(name, "1"))
    except ValueError:
        return 1
    return min(max(value, 1), MAX_PAGE)


def register(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(refuse_nul)
