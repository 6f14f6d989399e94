"""Billing records: accounts, tariffs, meter readings, bills, payments, arrears, late fees, reconciliation."""

from __future__ import annotations

from typing import Any


def init_app(app: Any) -> None:
    """Register billing's CLI commands and demo data on a Flask app (its announcements: ``billing.topics``)."""
    from celery.schedules import crontab

    from billing import cli, demo, demo_billing, demo_readings, online, tasks
    from billing.online import tasks as online_tasks
    from billing.topics import ONLINE_REFUNDS_APPROVED, READING_IMPORT_REQUESTED
    from core import outbox

    cli.register(app)
    online.settings(app)
    outbox.subscribe(READING_IMPORT_REQUESTED, tasks.queue_reading_imports)
    outbox.subscribe(ONLINE_REFUNDS_APPROVED, online_tasks.refunds_approved)
    app.extensions["griddesk_beat"]["settle-payment-orders"] = {
        "task": "billing.settle_payment_orders",
        "schedule": 60.0,
    }
    # local time; providers publish the previous day's statement in the early morning
    app.extensions["griddesk_beat"]["reconcile-payment-statements"] = {
        "task": "billing.reconcile_payment_statements",
        "schedule": crontab(hour=10, minute=0),
    }
    app.extensions["griddesk_demo_seeders"].append((10, "billing", demo.seed_accounts))
    app.extensions["griddesk_demo_seeders"].append((20, "billing-records", demo_billing.seed_billing))
    app.extensions["griddesk_demo_seeders"].append((25, "reading books", demo_readings.seed_reading_books))
