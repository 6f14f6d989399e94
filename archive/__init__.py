"""Archive: dossiers (one per account), documents, blobs, text extraction and OCR, search, and the audit rules."""

from __future__ import annotations

from typing import Any


def init_app(app: Any) -> None:
    """Register archive's CLI commands, demo data, health checks and periodic tasks, then audit's."""
    from archive import audit

    audit.init_app(app)
