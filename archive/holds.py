"""Holds on blobs: a filing in flight holds the blob it relies on, and a rolled-back filing removes a blob it
created only once nobody holds it.

Content-addressed storage shares a blob between every document with the same content, so a rolled-back filing
must not remove a blob that another filing, not committed yet, has stored too. Each filing takes a shared hold
until its transaction ends; ``discard`` takes the exclusive hold (waiting for the shared ones) and only then asks
the database whether a committed document uses the blob.

Two implementations, chosen by the database (``holds_for``):

- ``AdvisoryLockHolds`` (PostgreSQL): PostgreSQL advisory locks, so holds work across processes *and machines*
  sharing the database. A filing's hold is a transaction-level lock taken on the filing's own connection
  (``pg_advisory_xact_lock_shared``): it ends with the transaction, commit or rollback, even when the process dies,
  and it costs no extra connection.
- ``FileLockHolds`` (SQLite, the embedded mode): ``flock`` on lock files in a local folder: every process on this
  machine, which is all that an SQLite database has.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from core.files import wait_for_exclusive_lock

from .interfaces import BlobHold


def check_sha256(sha256: str) -> str:
    """``sha256`` if it is a lower-case SHA-256 hex digest (the only names blobs have); ValueError otherwise."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("not a SHA-256 hex digest")
    return sha256


class BlobHolds(Protocol):
    def hold(self, sha256: str, session: Session | None = None) -> BlobHold:
        """A shared hold on the blob until ``release`` (or, given a session, until its transaction ends)."""

    def exclusive(self, sha256: str, timeout: float) -> AbstractContextManager[bool]:
        """Wait up to ``timeout`` until no one holds the blob and keep others out for the ``with`` block;
        the block gets True when that happened, False when the wait timed out."""


class _Released:
    """The hold of a transaction-level lock: the transaction's end releases it, ``release`` has nothing to do."""

    def release(self) -> None:
        pass


# --- flock: one machine --------------------------------------------------------------------------


class FileLockHolds:
    """Shared and exclusive ``flock`` on ``directory/<first two hex digits>.lock`` (256 stripes; never deleted)."""

    def __init__(self, directory: str | os.PathLike[str]):
        self.directory = Path(directory)

    def _lock_file(self, sha256: str) -> IO[str]:
        check_sha256(sha256)
        self.directory.mkdir(parents=True, exist_ok=True)
        return open(self.directory / f"{sha256[:2]}.lock", "a+")

    def hold(self, sha256: str, session: Session | None = None) -> BlobHold:
        handle = self._lock_file(sha256)
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        return _FileHold(handle)

    @contextlib.contextmanager
    def exclusive(self, sha256: str, timeout: float) -> Iterator[bool]:
        with self._lock_file(sha256) as handle:
            if not wait_for_exclusive_lock(handle, timeout, delay=0.02, max_delay=0.02):
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class _FileHold:
    def __init__(self, handle: IO[str]):
        self._handle: IO[str] | None = handle

    def release(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()


# --- PostgreSQL advisory locks: every machine sharing the database -------------------------------

BLOB_LOCK_CLASS = 0x626C6F62  # "blob": the first key of the two-key advisory locks (core.trail uses 7110422)


def lock_keys(sha256: str) -> tuple[int, int]:
    """The advisory lock (class, key) of a blob: the first 32 bits of its hash as a signed integer. Two blobs
    that share them only make one discard wait for the other's holds."""
    return BLOB_LOCK_CLASS, int.from_bytes(bytes.fromhex(check_sha256(sha256)[:8]), "big", signed=True)


class AdvisoryLockHolds:
    """Holds as PostgreSQL advisory locks on the blob's keys (``lock_keys``)."""

    def __init__(self, engine: Callable[[], Engine]):
        self._engine = engine

    def hold(self, sha256: str, session: Session | None = None) -> BlobHold:
        classid, key = lock_keys(sha256)
        if session is not None and session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock_shared(:c, :k)"), {"c": classid, "k": key})
            return _Released()
        connection = self._engine().connect()  # no transaction to tie it to: a session-level lock of its own
        try:
            connection.execute(text("SELECT pg_advisory_lock_shared(:c, :k)"), {"c": classid, "k": key})
            connection.commit()
        except BaseException:
            connection.close()
            raise
        return _ConnectionHold(connection, classid, key)

    @contextlib.contextmanager
    def exclusive(self, sha256: str, timeout: float) -> Iterator[bool]:
        classid, key = lock_keys(sha256)
        with self._engine().connect() as connection:
            wait = f"{max(1, int(timeout * 1000))}"  # 0 would mean no limit
            connection.execute(text("SELECT set_config('lock_timeout', :ms, true)"), {"ms": wait})
            try:
                connection.execute(text("SELECT pg_advisory_xact_lock(:c, :k)"), {"c": classid, "k": key})
            except OperationalError as exc:
                if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available: the wait timed out
                    raise
                connection.rollback()
                yield False
                return
            try:
                yield True
            finally:
                connection.rollback()  # ends the transaction: releases the lock


class _ConnectionHold:
    def __init__(self, connection: Any, classid: int, key: int):
        self._connection: Any = connection
        self._keys = (classid, key)

    def release(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                connection.execute(
                    text("SELECT pg_advisory_unlock_shared(:c, :k)"), {"c": self._keys[0], "k": self._keys[1]}
                )
                connection.commit()
            except BaseException:
                connection.invalidate()  # back in the pool it would keep the session-level lock: drop it
                raise
            finally:
                connection.close()


def holds_for(engine: Callable[[], Engine | None], directory: str | os.PathLike[str]) -> BlobHolds:
    """Advisory locks when the database is PostgreSQL (holds shared by every machine), else file locks."""
    current = engine()
    if current is not None and current.dialect.name == "postgresql":

        def bound() -> Engine:
            found = engine()
            assert found is not None
            return found

        return AdvisoryLockHolds(bound)
    return FileLockHolds(directory)
