"""Business handling (业扩报装 and 变更用电): applications for a new connection or a change of an account, worked
step by step within the published time limits, each step's papers filed into the account's dossier."""

from __future__ import annotations

from typing import Any

from . import settings


def init_app(app: Any) -> None:
    """Register business handling's settings, demo data and outbox subscription on a Flask app."""
    from core import outbox

    from . import demo, models, papers  # noqa: F401  (models: the tables; papers: the Celery task)
    from .topics import PAPERS_DUE

    settings.SETTINGS.init_app(app.config)
    outbox.subscribe(PAPERS_DUE, papers.papers_due)
    app.extensions["griddesk_demo_seeders"].append((70, "business handling", demo.seed_applications))
