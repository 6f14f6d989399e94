"""Billing records: accounts, tariffs, meter readings, bills, payments, arrears, late fees, reconciliation."""

from __future__ import annotations

from typing import Any


def init_app(app: Any) -> None:
    """Register billing's CLI commands, demo data and signal receivers on a Flask app."""
    from billing import cli, demo, payments
    from core import outbox

    cli.register(app)
    outbox.register(payments.PAYMENT_RECORDED, payments.announce_recorded)
    from billing import demo_billing

    app.extensions["griddesk_demo_seeders"].append((10, "billing", demo.seed_accounts))
    app.extensions["griddesk_demo_seeders"].append((20, "billing-records", demo_billing.seed_billing))
