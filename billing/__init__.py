"""Billing records: accounts, tariffs, meter readings, bills, payments, arrears, late fees, reconciliation."""

from __future__ import annotations

from typing import Any


def init_app(app: Any) -> None:
    """Register billing's CLI commands and demo data on a Flask app (its announcements: ``billing.topics``)."""
    from billing import cli, demo, demo_billing, demo_readings, tasks
    from billing.topics import READING_IMPORT_REQUESTED
    from core import outbox

    cli.register(app)
    outbox.subscribe(READING_IMPORT_REQUESTED, tasks.queue_reading_imports)
    app.extensions["griddesk_demo_seeders"].append((10, "billing", demo.seed_accounts))
    app.extensions["griddesk_demo_seeders"].append((20, "billing-records", demo_billing.seed_billing))
    app.extensions["griddesk_demo_seeders"].append((25, "reading books", demo_readings.seed_reading_books))
