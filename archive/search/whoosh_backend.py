"""The embedded search backend: a Whoosh index on local disk, one writer at a time across processes."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.highlight import ContextFragmenter, HtmlFormatter
from whoosh.index import LockError
from whoosh.qparser import MultifieldParser
from whoosh.query import And, Every, Prefix, Query, Term, TermRange

from ..interfaces import IndexEntry, SearchHit, SearchQuery, SearchResult
from .analysis import ChineseAnalyzer


class IndexBusy(RuntimeError):
    """Another writer held the index longer than the bounded wait; the caller retries (nothing is dropped)."""


def make_schema() -> Schema:
    analyzer = ChineseAnalyzer()
    return Schema(
        document_id=ID(stored=True, unique=True),
        account_no=ID(stored=True),
        holder_name=TEXT(analyzer=analyzer, stored=True),
        unit_path=ID(stored=True),
        doc_type=ID(stored=True),
        title=TEXT(analyzer=analyzer, stored=True, field_boost=2.0),
        text=TEXT(analyzer=analyzer, stored=True),
        formed_on=ID(stored=True),
        filed_on=ID(stored=True),
        fingerprint=STORED(),
    )


class WhooshBackend:
    """Whoosh index in ``directory``. Writes take an exclusive ``flock`` (bounded wait, then ``IndexBusy``)."""

    def __init__(self, directory: str | os.PathLike[str], *, lock_timeout: float = 60.0):
        self.directory = Path(directory)
        self.lock_timeout = lock_timeout
        self._lock_path = self.directory.parent / f".{self.directory.name}.writelock"

    # --- opening and locking -------------------------------------------------------------------

    def _open(self) -> Any:
        self.directory.mkdir(parents=True, exist_ok=True)
        if whoosh_index.exists_in(str(self.directory)):
            return whoosh_index.open_dir(str(self.directory))
        return whoosh_index.create_in(str(self.directory), make_schema())

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a+") as handle:
            deadline = time.monotonic() + self.lock_timeout
            delay = 0.01
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise IndexBusy(f"the search index stayed locked for {self.lock_timeout:.0f} s") from None
                    time.sleep(delay)
                    delay = min(delay * 2, 0.5)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _writer(self, **options: Any) -> Iterator[Any]:
        with self._write_lock():
            ix = self._open()
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    writer = ix.writer(**options)
                    break
                except LockError:  # a writer that does not use our flock (should not happen): wait too
                    if time.monotonic() >= deadline:
                        raise IndexBusy("the Whoosh writer lock is held elsewhere") from None
                    time.sleep(0.1)
            try:
                yield writer
            except BaseException:
                writer.cancel()
                raise
            writer.commit()

    # --- SearchBackend -------------------------------------------------------------------------

    def upsert(self, entries: Iterable[IndexEntry], *, replace: bool = True, procs: int = 1) -> int:
        batch = list(entries)
        if not batch:
            return 0
        options: dict[str, Any] = {"limitmb": 128}
        if procs > 1:
            options.update(procs=procs, multisegment=True)
        with self._writer(**options) as writer:
            add = writer.update_document if replace else writer.add_document
            for entry in batch:
                add(
                    document_id=str(entry.document_id),
                    account_no=entry.account_no,
                    holder_name=entry.holder_name,
                    unit_path=entry.unit_path,
                    doc_type=entry.doc_type,
                    title=entry.title,
                    text=entry.text,
                    formed_on=entry.formed_on.isoformat(),
                    filed_on=entry.filed_on.isoformat(),
                    fingerprint=entry.fingerprint,
                )
        return len(batch)

    def delete(self, document_ids: Iterable[int]) -> None:
        ids = [str(i) for i in document_ids]
        if not ids:
            return
        with self._writer() as writer:
            for document_id in ids:
                writer.delete_by_term("document_id", document_id)

    def clear(self) -> None:
        with self._write_lock():
            if self.directory.exists():
                shutil.rmtree(self.directory)
            self.directory.mkdir(parents=True)
            whoosh_index.create_in(str(self.directory), make_schema())

    def fingerprints(self) -> Iterator[tuple[int, str]]:
        ix = self._open()
        with ix.searcher() as searcher:
            for fields in searcher.all_stored_fields():
                yield int(fields["document_id"]), str(fields.get("fingerprint", ""))

    def health(self) -> dict[str, object]:
        ix = self._open()
        return {"ok": True, "backend": "whoosh", "documents": ix.doc_count()}

    def search(self, query: SearchQuery) -> SearchResult:
        ix = self._open()
        filters: list[Query] = []
        if query.doc_type:
            filters.append(Term("doc_type", query.doc_type))
        if query.account_no:
            filters.append(Term("account_no", query.account_no))
        if query.unit_path:
            filters.append(Prefix("unit_path", query.unit_path))
        if query.date_from or query.date_to:
            low = query.date_from.isoformat() if query.date_from else None
            high = query.date_to.isoformat() if query.date_to else None
            filters.append(TermRange("formed_on", low, high))
        text = query.q.strip()
        with ix.searcher() as searcher:
            if text:
                parser = MultifieldParser(["title", "text", "holder_name"], ix.schema)
                parsed = parser.parse(text)
                main: Query = parsed
            else:
                main = Every()
            combined = And([main, *filters]) if filters else main
            if text:
                page = searcher.search_page(combined, query.page, pagelen=query.per_page, terms=True)
            else:
                page = searcher.search_page(
                    combined, query.page, pagelen=query.per_page, sortedby="formed_on", reverse=True
                )
            page.results.fragmenter = ContextFragmenter(maxchars=120, surround=30)
            page.results.formatter = HtmlFormatter(tagname="mark", classname="hit", termclass="t")
            items = []
            for hit in page:
                highlight = ""
                if text:
                    highlight = hit.highlights("text", top=2) or hit.highlights("title")
                if not highlight:
                    from html import escape

                    highlight = escape(str(hit.get("text", ""))[:120])
                items.append(
                    SearchHit(
                        document_id=int(hit["document_id"]),
                        account_no=hit["account_no"],
                        title=hit["title"],
                        doc_type=hit["doc_type"],
                        formed_on=_date(hit["formed_on"]),
                        score=float(hit.score or 0.0),
                        highlight=highlight,
                    )
                )
            return SearchResult(items=items, total=page.total)


def _date(value: str) -> Any:
    import datetime as dt

    return dt.date.fromisoformat(value)
