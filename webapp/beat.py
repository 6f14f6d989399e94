"""One celery beat per instance folder: the scheduler holds a lock beside its schedule file while it runs.

A second beat (an orphan of a killed worker's ``-B``, or one started twice) would queue every periodic task
again; it now stops at start with a message instead. The lock is a file lock, so it covers one machine (the
embedded ``make run`` setup); across machines run exactly one beat, and the periodic tasks themselves still run
alone (``core.locks.run_alone``).
"""

from __future__ import annotations

import fcntl
import os
from typing import Any

from celery.beat import PersistentScheduler


class SingleBeatScheduler(PersistentScheduler):  # type: ignore[misc]
    """celery's file-backed scheduler that refuses to start while another beat holds ``<schedule file>.lock``."""

    _lock_fd: int | None = None

    def setup_schedule(self) -> None:
        self._lock_fd = take_beat_lock(f"{self.schedule_filename}.lock")
        super().setup_schedule()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)  # closing the file releases its lock
                self._lock_fd = None


def take_beat_lock(path: str) -> int:
    """The open lock file, locked for this process; SystemExit naming the holder if another process has it."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        message = f"celery beat: another beat (pid {holder}) is running for {path}; not starting a second"
        raise SystemExit(message) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def configure(config: dict[str, Any], instance_dir: str) -> None:
    """Celery settings: this scheduler, and its schedule file (and lock) under the instance folder."""
    config.setdefault("beat_scheduler", f"{__name__}:SingleBeatScheduler")
    config.setdefault("beat_schedule_filename", os.path.join(instance_dir, "celery", "beat-schedule"))
