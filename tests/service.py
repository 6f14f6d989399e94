"""Starting a real Celery worker on Redis for the service tests (PostgreSQL run)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import pytest
from flask import Flask


def start_worker(app: Flask, *, require: bool) -> subprocess.Popen[bytes]:
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis"):
        message = "service tests need Redis: set TEST_REDIS_URL (make test does)"
        if require:
            pytest.fail(message)
        pytest.skip(message)
    import redis

    try:
        redis.Redis.from_url(broker).flushdb()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {broker} is not usable: {exc}")
    env = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "0"}
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "webapp.worker:celery",
            "worker",
            "-c",
            "2",
            "--loglevel",
            "WARNING",
            "-n",
            f"test-{worker}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env=env,
    )
    celery = app.extensions["celery"]
    eager, celery.conf.task_always_eager = celery.conf.task_always_eager, False
    try:
        return _wait_for_pong(celery, proc)
    finally:
        celery.conf.task_always_eager = eager


def _wait_for_pong(celery: Any, proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the Celery worker exited with {proc.returncode}")
        try:
            if celery.send_task("griddesk.ping").get(timeout=5) == "pong":
                return proc
        except Exception:
            time.sleep(0.5)
    proc.kill()
    pytest.fail("the Celery worker did not answer within 60 s")
