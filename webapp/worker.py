"""Celery entry point: ``celery -A webapp.worker:celery worker`` (and ``beat``)."""

from webapp import create_app

app = create_app()
celery = app.extensions["celery"]
