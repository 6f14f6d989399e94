"""Notifications: channels (inbox, Web Push, e-mail, SMS), subscriptions, fan-out, and their Celery tasks."""

from __future__ import annotations

from typing import Any


def init_app(app: Any) -> None:
    """Register notifications's CLI commands, demo data, health checks and periodic tasks on a Flask app."""
