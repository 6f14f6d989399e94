"""The JSON API (v1). Each module declares its endpoints on ``api`` with ``framework.endpoint``.

Every module in this package is imported by ``load_modules`` (a new ``webapp/api/<area>.py`` joins by existing).
"""

from __future__ import annotations

import sys

from flask import Blueprint

api = Blueprint("api", __name__, url_prefix="/api/v1")


def load_modules() -> None:
    from ..discovery import import_submodules

    import_submodules(sys.modules[__name__])
