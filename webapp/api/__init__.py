"""The JSON API (v1). Each module declares its endpoints on ``api`` with ``framework.endpoint``."""

from __future__ import annotations

from flask import Blueprint

api = Blueprint("api", __name__, url_prefix="/api/v1")


def load_modules() -> None:
    """Import every endpoint module once, so their routes are on ``api`` before it is registered."""
    from . import accounts, admin, auth, openapi  # noqa: F401
