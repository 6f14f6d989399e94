"""Archive: dossiers (one per account), documents, blob storage, text extraction and OCR, search, audit rules."""

from __future__ import annotations

from typing import Any


def init_app(app: Any) -> None:
    """Register archive's CLI commands, demo data, health checks and periodic tasks on a Flask app."""
