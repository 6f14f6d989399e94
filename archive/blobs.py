"""Content-addressed blob storage on a local (or shared) file system."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from core.files import fsync_dir

from .holds import BlobHolds, FileLockHolds, check_sha256
from .interfaces import BlobCorrupt, BlobHold

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

_CHUNK = 1024 * 1024


def hash_stream(stream: IO[bytes]) -> str:
    """The SHA-256 hex digest of what is left to read in ``stream``."""
    digest = hashlib.sha256()
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


class FileBlobStore:
    """Blobs under ``root/ab/cd/<sha256>``, written through a temporary file, fsync and an atomic rename.

    Holds (``pin``/``discard``) are file locks under ``root/.locks`` unless ``holds`` says otherwise (database
    advisory locks, so that several machines can share the folder)."""

    def __init__(self, root: str | os.PathLike[str], *, holds: BlobHolds | None = None):
        self.root = Path(root)
        self.holds = holds if holds is not None else FileLockHolds(self.root / ".locks")

    def path(self, sha256: str) -> Path:
        check_sha256(sha256)
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
        """The open file, hashed through once before it is returned (at the start)."""
        handle = open(self.path(sha256), "rb")  # noqa: SIM115  (returned to the caller, who closes it)
        try:
            if hash_stream(handle) != sha256:
                raise BlobCorrupt(sha256)
            handle.seek(0)
        except BaseException:
            handle.close()
            raise
        return handle

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def verify(self, sha256: str) -> str:
        path = self.path(sha256)
        if not path.is_file():
            return "missing"
        with open(path, "rb") as fh:
            return "ok" if hash_stream(fh) == sha256 else "corrupt"

    def health(self) -> dict[str, object]:
        self.root.mkdir(parents=True, exist_ok=True)
        return {"ok": os.access(self.root, os.W_OK), "store": "file"}

    # --- pins: a blob a transaction in flight relies on is never removed under it -----------------

    def pin(self, sha256: str, session: Session | None = None) -> BlobHold:
        """Hold the blob until ``release`` (or the session's transaction ends): ``discard`` waits meanwhile."""
        return self.holds.hold(check_sha256(sha256), session)

    def discard(self, sha256: str, *, still_needed: Callable[[], bool] | None = None, timeout: float = 30.0) -> bool:
        """Remove a blob unless ``still_needed()`` says a committed record uses it; True if removed.

        Waits (up to ``timeout``) until no transaction in flight holds a pin on it, and asks
        ``still_needed`` only then, so a filing of the same content that commits meanwhile keeps it."""
        with self.holds.exclusive(check_sha256(sha256), timeout) as acquired:
            if not acquired:
                return False  # left in place: an unreferenced file is harmless, a missing one is not
            if still_needed is not None and still_needed():
                return False
            with contextlib.suppress(FileNotFoundError):
                self.path(sha256).unlink()
                return True
            return False
