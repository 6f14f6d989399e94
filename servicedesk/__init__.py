"""The 95598 service desk: fault repairs, complaints, reports, opinions, enquiries and meter checks as tickets
with the published time limits, incidents grouping fault reports, ratings and the complaint file."""

from __future__ import annotations

from typing import Any

from . import settings


def init_app(app: Any) -> None:
    """Register the service desk's settings, CLI commands, demo data and periodic tasks on a Flask app."""
    from . import cli, demo, places, tasks  # noqa: F401  (tasks registers the Celery tasks)

    settings.SETTINGS.init_app(app.config)
    cli.register(app)
    # the service area's hull is kept per process; a database emptied under it (tests) must not keep it
    app.extensions.setdefault("griddesk_test_reset_hooks", []).append(places.forget_hull)
    app.extensions["griddesk_demo_seeders"].append((60, "service desk", demo.seed_tickets))
    app.extensions["griddesk_beat"]["escalate-overdue-tickets"] = {
        "task": "servicedesk.escalate_overdue_tickets",
        "schedule": float(app.config["SERVICEDESK_ESCALATE_SECONDS"]),
    }
