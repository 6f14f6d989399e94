"""The one Celery app for all packages, built by the app factory; tasks run inside the Flask app context."""

from __future__ import annotations

from celery import Celery, Task, shared_task
from flask import Flask, has_app_context


def init_celery(app: Flask) -> Celery:
    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: object, **kwargs: object) -> object:
            if has_app_context():
                # an eager task run inside a request (often from an after-commit hook): a nested app
                # context would remove the request's scoped session on teardown, mid-commit
                return self.run(*args, **kwargs)
            with app.app_context():
                return self.run(*args, **kwargs)

    config = dict(app.config["CELERY"])
    from .beat import configure as configure_beat

    configure_beat(config, app.config["INSTANCE_DIR"])
    options = config.get("broker_transport_options") or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if key in options:
            import os

            os.makedirs(options[key], exist_ok=True)
    backend = str(config.get("result_backend", ""))
    if backend.startswith("file://"):
        import os

        os.makedirs(backend.removeprefix("file://"), exist_ok=True)
    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.config_from_object(config)
    celery.conf.beat_schedule = dict(app.extensions.get("griddesk_beat", {}))
    celery.set_default()
    app.extensions["celery"] = celery

    from celery.signals import worker_process_init

    from core.db import db

    @worker_process_init.connect(weak=False)
    def fresh_pool_after_fork(**_kwargs: object) -> None:
        # Pooled connections must never be shared between a forked child and its parent.
        if db.engine is not None:
            db.engine.dispose(close=False)

    return celery


@shared_task(name="griddesk.ping")
def ping() -> str:
    """The health check's round trip through the broker."""
    return "pong"
