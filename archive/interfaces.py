"""What the archive needs from the outside world; implementations are chosen by configuration."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class BlobCorrupt(Exception):
    """A stored blob no longer hashes to its name: it is reported, never read or served as good."""

    def __init__(self, sha256: str):
        super().__init__(f"blob {sha256} is corrupt: its content no longer hashes to its name")
        self.sha256 = sha256


@runtime_checkable
class BlobStore(Protocol):
    """Content-addressed file storage (SHA-256 names); the same content is stored once."""

    def put(self, stream: IO[bytes]) -> tuple[str, bool]:
        """Store the stream's bytes atomically; return (sha256, newly_created)."""

    def open(self, sha256: str) -> IO[bytes]:
        """A seekable stream of the blob's content, verified against its name before it is returned:
        FileNotFoundError if absent, ``BlobCorrupt`` if the content no longer hashes to the name."""

    def exists(self, sha256: str) -> bool: ...

    def verify(self, sha256: str) -> str:
        """'ok', 'missing' or 'corrupt' (content no longer hashes to its name)."""

    def pin(self, sha256: str, session: Session | None = None) -> BlobHold:
        """Hold a blob for a transaction in flight: ``discard`` waits until every hold is released. Given the
        session of that transaction, the hold may end with it (database-backed holds do)."""

    def discard(self, sha256: str, *, still_needed: Callable[[], bool] | None = None, timeout: float = 30.0) -> bool:
        """Remove a blob a rolled-back filing created, once no transaction holds it, unless
        ``still_needed()`` (asked only then) says a committed record uses it. True if removed."""

    def health(self) -> dict[str, object]:
        """``{"ok": ...}`` and what the store is (for ``/healthz``); raises when the store cannot be reached."""


class BlobHold(Protocol):
    def release(self) -> None: ...


@dataclass(frozen=True)
class IndexEntry:
    """One document as the search index sees it (all plain values)."""

    document_id: int
    account_no: str
    holder_name: str
    unit_path: str
    doc_type: str
    title: str
    text: str
    formed_on: dt.date
    filed_on: dt.date
    fingerprint: str


@dataclass(frozen=True)
class SearchQuery:
    q: str = ""
    doc_type: str | None = None
    account_no: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    unit_path: str | None = None  # the caller's unit scope: only documents under this path
    page: int = 1
    per_page: int = 20


@dataclass(frozen=True)
class SearchHit:
    document_id: int
    account_no: str
    title: str
    doc_type: str
    formed_on: dt.date
    score: float
    highlight: str
    page: int | None = None  # the page the highlight comes from (text with page breaks only)


@dataclass
class SearchResult:
    items: list[SearchHit] = field(default_factory=list)
    total: int = 0


@runtime_checkable
class SearchBackend(Protocol):
    """A full-text index over documents. Writes are serialized by the backend; none is ever dropped."""

    def upsert(self, entries: Iterable[IndexEntry], *, replace: bool = True, session: Session | None = None) -> int:
        """Add (``replace=False``: known to be absent) or replace entries; return how many were written.

        ``session``: the caller's transaction. A backend that lives in the database writes there, so the entry
        commits or rolls back with the caller's change; a backend on files writes at once."""

    def delete(self, document_ids: Iterable[int], *, session: Session | None = None) -> None:
        """Remove documents from the index (``session`` as for ``upsert``)."""

    def search(self, query: SearchQuery) -> SearchResult: ...

    def fingerprints(self) -> Iterator[tuple[int, str]]:
        """(document_id, fingerprint) of every indexed document."""

    def clear(self) -> None:
        """Drop everything (replaces the live index with an empty one)."""

    def rebuild(self) -> AbstractContextManager[SearchBackend]:
        """A backend that writes into a fresh index nobody searches yet. When the ``with`` block ends
        cleanly the fresh index replaces the live one at once; if it raises, the fresh one is discarded.
        Searches keep answering from the live index throughout."""

    def health(self) -> dict[str, object]: ...


@runtime_checkable
class TextExtractor(Protocol):
    """Turns a stored file into text: a PDF's text layer, DOCX text, or OCR of scans and images."""

    def extract(self, stream: IO[bytes], content_type: str) -> tuple[str, str]:
        """Return (text, method) where method is 'pdf_text', 'docx', 'ocr' or 'none'."""
