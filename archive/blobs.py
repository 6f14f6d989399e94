"""Content-addressed blob storage on a local (or shared) file system."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from core.files import fsync_dir, wait_for_exclusive_lock

_CHUNK = 1024 * 1024


class FileBlobStore:
    """Blobs under ``root/ab/cd/<sha256>``, written through a temporary file, fsync and an atomic rename."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, stream: IO[bytes]) -> tuple[str, bool]:
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as tmp:
                while chunk := stream.read(_CHUNK):
                    digest.update(chunk)
                    tmp.write(chunk)
                tmp.flush()
                os.fsync(tmp.fileno())
            sha = digest.hexdigest()
            final = self.path(sha)
            if final.exists():
                os.unlink(tmp_name)
                return sha, False
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp_name, 0o444)
            os.replace(tmp_name, final)
            fsync_dir(final.parent)
            return sha, True
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise

    def open(self, sha256: str) -> IO[bytes]:
        return open(self.path(sha256), "rb")

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def verify(self, sha256: str) -> str:
        path = self.path(sha256)
        if not path.is_file():
            return "missing"
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
        return "ok" if digest.hexdigest() == sha256 else "corrupt"

    # --- pins: a blob a transaction in flight relies on is never removed under it -----------------

    def _lock_file(self, sha256: str) -> IO[str]:
        self.path(sha256)  # validates the name
        locks = self.root / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        return open(locks / f"{sha256[:2]}.lock", "a+")  # 256 stripes: lock files are never deleted

    def pin(self, sha256: str) -> BlobPin:
        """Hold the blob (a shared lock) until ``release``: ``discard`` waits while anyone holds it."""
        handle = self._lock_file(sha256)
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        return BlobPin(handle)

    def discard(self, sha256: str, *, still_needed: Callable[[], bool] | None = None, timeout: float = 30.0) -> bool:
        """Remove a blob unless ``still_needed()`` says a committed record uses it; True if removed.

        Waits (up to ``timeout``) until no transaction in flight holds a pin on it, and asks
        ``still_needed`` only then, so a filing of the same content that commits meanwhile keeps it."""
        with self._lock_file(sha256) as handle:
            if not wait_for_exclusive_lock(handle, timeout, delay=0.02, max_delay=0.02):
                return False  # left in place: an unreferenced file is harmless, a missing one is not
            try:
                if still_needed is not None and still_needed():
                    return False
                with contextlib.suppress(FileNotFoundError):
                    self.path(sha256).unlink()
                    return True
                return False
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class BlobPin:
    """A shared hold on a blob, released once (at the end of the transaction that relies on it)."""

    def __init__(self, handle: IO[str]):
        self._handle: IO[str] | None = handle

    def release(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()
