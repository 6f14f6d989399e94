"""File-system helpers shared by the blob store and the search index: durable renames and waiting for a lock."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import IO, Any


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in ``path`` durable (the directory itself is flushed)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def wait_for_exclusive_lock(handle: IO[Any], timeout: float, *, delay: float = 0.01, max_delay: float = 0.5) -> bool:
    """Take an exclusive flock on ``handle``, polling with backoff for up to ``timeout`` seconds; True if taken."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, max_delay)
