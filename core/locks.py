"""Named locks across processes and machines, for work that must not run twice at once (periodic tasks).

Two celery beats (an orphaned one, or two started by mistake) each queue every periodic task; a slow run may
also overlap the next one. A task wrapped in ``run_alone`` does nothing while another run of it holds the
lock. PostgreSQL: a session advisory lock, so every machine sees it and a dead worker's lock goes with its
connection. SQLite (one machine): an exclusive file lock beside the database file, released when the process dies.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import text

from core.db import db

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def _advisory_key(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def _lock_file(name: str) -> Path:
    assert db.engine is not None
    database = db.engine.url.database
    folder = Path(f"{database}.locks") if database and database != ":memory:" else Path(tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    return folder / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name) + ".lock")


@contextmanager
def exclusive(name: str) -> Iterator[bool]:
    """Hold the lock ``name`` for the block if nobody else holds it: yields True, or False without waiting."""
    assert db.engine is not None
    if db.engine.dialect.name == "postgresql":
        key = _advisory_key(name)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            held = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
            try:
                yield held
            finally:
                if held:
                    conn.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        return
    fd = os.open(_lock_file(name), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def run_alone(name: str) -> Callable[[F], F]:
    """A function (a periodic task) that returns ``{"skipped": ...}`` at once while another run of ``name`` holds
    its lock, anywhere; otherwise runs with the lock held."""

    def wrap(function: F) -> F:
        @functools.wraps(function)
        def alone(*args: Any, **kwargs: Any) -> Any:
            with exclusive(name) as mine:
                if not mine:
                    log.info("%s: another run is going; this one does nothing", name)
                    return {"skipped": "another run is going"}
                return function(*args, **kwargs)

        alone.run_alone = name  # type: ignore[attr-defined]
        return alone  # type: ignore[return-value]

    return wrap
