"""``/healthz``: database, task queue and search index state, for load balancers and people."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from sqlalchemy import text

from core.db import db

from .api.framework import json_response

HealthCheck = Callable[[], dict[str, Any]]


def add_check(app: Flask, name: str, check: HealthCheck) -> None:
    app.extensions["griddesk_health"][name] = check


def _database() -> dict[str, Any]:
    db.session.execute(text("SELECT 1"))
    assert db.engine is not None
    return {"ok": True, "backend": db.engine.dialect.name}


def _queue() -> dict[str, Any]:
    celery = current_app.extensions["celery"]
    if celery.conf.task_always_eager:
        return {"ok": True, "mode": "eager"}
    with celery.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True, "transport": conn.transport_cls}


def register(app: Flask) -> None:
    add_check(app, "database", _database)
    add_check(app, "queue", _queue)

    @app.get("/healthz")
    def healthz() -> Any:
        report: dict[str, Any] = {}
        for name, check in current_app.extensions["griddesk_health"].items():
            try:
                report[name] = check()
            except Exception as exc:  # a failing dependency is reported, not raised
                report[name] = {"ok": False, "error": type(exc).__name__, "message": str(exc)[:200]}
        healthy = all(part.get("ok") for part in report.values())
        return json_response({"status": "ok" if healthy else "degraded", **report}, 200 if healthy else 503)
