"""Archive: dossiers (one per account), documents, blobs, text extraction and OCR, search."""

from __future__ import annotations

from typing import Any


def init_app(app: Any) -> None:
    """Register archive's CLI commands, demo data, health checks and periodic tasks."""
    from core import outbox

    from . import cli, complaints, importer, registry, sheets, tasks
    from .topics import DOCUMENT_FILED, IMPORT_REQUESTED, OUTAGE_SHEETS_DUE, TICKET_CLOSED, WAIVER_APPROVED

    app.config.setdefault("ARCHIVE_MAX_UPLOAD_BYTES", app.config.get("MAX_CONTENT_LENGTH", 50 * 1024 * 1024))
    registry.configure(app)
    cli.register(app)
    outbox.subscribe(DOCUMENT_FILED, tasks.index_filed_documents)
    outbox.subscribe(TICKET_CLOSED, complaints.file_closed_tickets)
    outbox.subscribe(IMPORT_REQUESTED, importer.queue_imports)
    outbox.subscribe(WAIVER_APPROVED, sheets.waivers_approved)
    outbox.subscribe(OUTAGE_SHEETS_DUE, sheets.outage_sheets_due)
    app.extensions["griddesk_health"]["search"] = lambda: app.extensions[registry._KEY]["search"].health()
    app.extensions["griddesk_health"]["blobs"] = lambda: app.extensions[registry._KEY]["blobs"].health()
    app.extensions["griddesk_beat"]["archive-requeue-stale"] = {
        "task": "archive.requeue_stale_documents",
        "schedule": 300.0,
    }

    from .demo import seed_archive

    app.extensions["griddesk_demo_seeders"].append((30, "archive", seed_archive))
    app.extensions.setdefault("griddesk_test_reset_hooks", []).append(lambda: _reset_index(app))


def _reset_index(app: Any) -> None:
    """Tests start from empty tables; the derived index must start empty too."""
    from . import registry

    app.extensions[registry._KEY]["search"].clear()
