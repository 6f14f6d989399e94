"""Full-text search facade. Callers use these names only; the backend behind them is configuration.

``open_backend`` builds the configured backend (Whoosh by default); ``entry_for`` turns a document into an
``IndexEntry``; ``index_documents`` / ``search`` are what services, tasks and views call.
"""

from __future__ import annotations

from ..interfaces import IndexEntry, SearchBackend, SearchHit, SearchQuery, SearchResult
from .analysis import ChineseAnalyzer, segment
from .entries import entry_for, fingerprint_of

__all__ = [
    "ChineseAnalyzer",
    "IndexEntry",
    "SearchBackend",
    "SearchHit",
    "SearchQuery",
    "SearchResult",
    "entry_for",
    "fingerprint_of",
    "open_backend",
    "segment",
]


def open_backend(kind: str, location: str) -> SearchBackend:
    """The search backend named by configuration (``SEARCH_BACKEND``): ``whoosh`` (an index on local disk under
    ``location``, the embedded default) or ``postgres`` (tables of the application's PostgreSQL database, shared by
    every node)."""
    if kind == "whoosh":
        from .whoosh_backend import WhooshBackend

        return WhooshBackend(location)
    if kind == "postgres":
        from .postgres_backend import PostgresBackend

        backend = PostgresBackend()
        backend.check()
        return backend
    raise ValueError(f"unknown search backend {kind!r} (SEARCH_BACKEND is whoosh or postgres)")
