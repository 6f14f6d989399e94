"""``/healthz``: ok or not for load balancers and anyone; the state of each part (database, task queue, search
index, outbox, notifications) for signed-in staff only, since it names the software and its backlog."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from sqlalchemy import text

from core.db import db
from core.identity import STAFF_ROLES

from .api.framework import json_response
from .auth import current_api_identity

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
        answer: dict[str, Any] = {"status": "ok" if healthy else "degraded"}
        identity = current_api_identity()
        if identity is not None and identity.viewer.role in STAFF_ROLES:
            answer.update(report)
        response = json_response(answer, 200 if healthy else 503)
        response.headers["Cache-Control"] = "no-store"
        response.vary.add("Authorization")
        response.vary.add("Cookie")
        return response
