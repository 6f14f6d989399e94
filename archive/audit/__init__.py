"""Audit: violation rules, findings and their workflow, runs (see DESIGN.md "Violations a supervisor audits")."""

from __future__ import annotations

from typing import Any


def init_app(app: Any) -> None:
    """Register audit's CLI commands, demo data and periodic tasks."""
