"""Billing records: accounts, tariffs, meter readings, bills, payments, arrears, late fees, reconciliation."""

from __future__ import annotations

from typing import Any


def init_app(app: Any) -> None:
    """Register billing's CLI commands and demo data on a Flask app (its announcements: ``billing.topics``)."""
    from celery.schedules import crontab

    from billing import cli, demo, demo_billing, demo_readings, invoicing, online, tasks
    from billing.invoicing import tasks as invoice_tasks
    from billing.online import tasks as online_tasks
    from billing.topics import BILLS_ISSUED, ONLINE_REFUNDS_APPROVED, PAYMENT_RECORDED, READING_IMPORT_REQUESTED
    from core import outbox

    cli.register(app)
    online.settings(app)
    invoicing.settings(app)
    outbox.subscribe(PAYMENT_RECORDED, invoice_tasks.payments_recorded)
    outbox.subscribe(BILLS_ISSUED, invoice_tasks.bills_issued)
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
    app.extensions["griddesk_beat"]["issue-monthly-invoices"] = {
        "task": "billing.issue_monthly_invoices",
        "schedule": crontab(day_of_month=1, hour=6, minute=0),
    }
    app.extensions["griddesk_demo_seeders"].append((10, "billing", demo.seed_accounts))
    app.extensions["griddesk_demo_seeders"].append((20, "billing-records", demo_billing.seed_billing))
    app.extensions["griddesk_demo_seeders"].append((25, "reading books", demo_readings.seed_reading_books))
