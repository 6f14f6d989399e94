"""Billing records: accounts, tariffs, meter readings, bills, payments, arrears, late fees, reconciliation."""

from __future__ import annotations

from typing import Any


def init_app(app: Any) -> None:
    """Register billing's CLI commands and demo data on a Flask app (its announcements: ``billing.topics``)."""
    from billing import cli, demo, demo_billing

    cli.register(app)
    from billing import online
    from billing.online import tasks

    online.settings(app)
    from billing.topics import ONLINE_REFUNDS_APPROVED
    from core import outbox

    outbox.subscribe(ONLINE_REFUNDS_APPROVED, tasks.refunds_approved)
    app.extensions["griddesk_beat"]["settle-payment-orders"] = {
        "task": "billing.settle_payment_orders",
        "schedule": 60.0,
    }
    from celery.schedules import crontab

    # local time; providers publish the previous day's statement in the early morning
    app.extensions["griddesk_beat"]["reconcile-payment-statements"] = {
        "task": "billing.reconcile_payment_statements",
        "schedule": crontab(hour=10, minute=0),
    }
    app.extensions["griddesk_demo_seeders"].append((10, "billing", demo.seed_accounts))
    app.extensions["griddesk_demo_seeders"].append((20, "billing-records", demo_billing.seed_billing))
