"""Audit: violation rules, findings and their workflow, runs (docs/audit.md)."""

from __future__ import annotations

from typing import Any


def init_app(app: Any) -> None:
    """Register audit's CLI commands, settings and periodic tasks."""
    from core import outbox

    from . import cli, demo, settings, tasks
    from .topics import RUN_REQUESTED

    for key, value in {**settings.DEFAULTS, **settings.from_environment()}.items():
        app.config.setdefault(key, value)
    settings.configure(app.config)
    cli.register(app)
    outbox.subscribe(RUN_REQUESTED, tasks.queue_requested_runs)
    app.extensions["griddesk_demo_seeders"].append((90, "audit", demo.seed_findings))
    app.extensions["griddesk_beat"]["audit-changed-accounts"] = {
        "task": "audit.audit_changed_accounts",
        "schedule": float(app.config["AUDIT_INCREMENTAL_SECONDS"]),
    }
