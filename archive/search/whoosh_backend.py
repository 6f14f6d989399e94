"""The embedded search backend: a Whoosh index on local disk, one writer at a time across processes."""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import threading
import time
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec, W3LeafMatcher, W3PostingsWriter, W3Segment
from whoosh.columns import VarBytesColumn
from whoosh.fields import COLUMN, ID, STORED, TEXT, Schema
from whoosh.filedb.structfile import BufferFile
from whoosh.index import LockError
from whoosh.qparser import MultifieldParser
from whoosh.query import And, Every, Phrase, Prefix, Query, QueryError, Term, TermRange

from core.errors import DomainError
from core.files import fsync_dir, wait_for_exclusive_lock

from ..interfaces import IndexEntry, SearchHit, SearchQuery, SearchResult
from . import fast
from .analysis import SHINGLE_MAX, ChineseAnalyzer, CountedFrequency, ShingleAnalyzer, shingle_text
from .highlight import highlight_terms, page_snippet, snippet
from .writer import BulkSegmentWriter


class IndexBusy(RuntimeError):
    """Another writer held the index longer than the bounded wait; the caller retries (nothing is dropped)."""


def make_schema() -> Schema:
    analyzer = ChineseAnalyzer()
    shingles = ShingleAnalyzer()
    schema = Schema(
        document_id=ID(stored=True, unique=True),
        account_no=ID(stored=True),
        holder_name=TEXT(analyzer=analyzer, stored=True, phrase=False),
        unit_path=ID(stored=True),
        doc_type=ID(stored=True),
        title=TEXT(analyzer=analyzer, stored=True, field_boost=2.0, phrase=False),
        text=TEXT(analyzer=analyzer, stored=True, phrase=False),
        # adjacent word runs of the fields above: quoted phrases of up to three words are one term
        title_sh=TEXT(analyzer=shingles, phrase=False),
        text_sh=TEXT(analyzer=shingles, phrase=False),
        holder_name_sh=TEXT(analyzer=shingles, phrase=False),
        formed_on=ID(stored=True),
        filed_on=ID(stored=True),
        fingerprint=STORED(),
        # "document_id:fingerprint" per document in a column of its own, so that verify reads a few bytes a
        # document instead of every stored field (the stored text grows with the index)
        fingerprint_key=COLUMN(VarBytesColumn()),
    )
    for name in ("holder_name", "title", "text", "title_sh", "text_sh", "holder_name_sh"):
        field = schema[name]
        field.format = CountedFrequency(field_boost=getattr(field.format, "field_boost", 1.0))
    return schema


class _ViewFile:
    """Read access to a memoryview (a segment file inside the memory-mapped compound file) that copies only
    what is read. Whoosh's ``BufferFile`` wraps the view in ``BytesIO``, which copies the whole file up
    front: every searcher held a private copy of every segment's postings (2.3 GB at 100,000 documents)."""

    def __init__(self, view: memoryview):
        self._view: memoryview | None = view
        self._pos = 0

    def _data(self) -> memoryview:
        if self._view is None:
            raise ValueError("I/O operation on closed file")
        return self._view

    def read(self, size: int | None = -1) -> bytes:
        view = self._data()
        start = min(self._pos, len(view))
        end = len(view) if size is None or size < 0 else min(len(view), start + size)
        self._pos = end
        return bytes(view[start:end])

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        view = self._data()
        start = min(self._pos, len(view))
        limit = len(view) if size is None or size < 0 else min(len(view), start + size)
        end = start
        while end < limit:  # look for the newline a chunk at a time
            chunk = bytes(view[end : min(limit, end + 4096)])
            found = chunk.find(b"\n")
            if found >= 0:
                end += found + 1
                break
            end += len(chunk)
        self._pos = end
        return bytes(view[start:end])

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: len(self._data())}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self._view = None  # the BufferFile releases the view itself


class _ViewBufferFile(BufferFile):  # type: ignore[misc]
    """Whoosh's ``BufferFile`` over a memoryview, reading through ``_ViewFile`` (no copy of the file)."""

    def __init__(self, view: memoryview, name: str | None = None):
        super().__init__(b"", name=name)
        self._buf = view
        self.file = _ViewFile(view)  # type: ignore[assignment]  # reads like the BinaryIO it replaces


class _ZeroCopyStorage:
    """The storage the segment readers of ``ArchiveCodec`` open their files from: the files of a
    memory-mapped compound segment are views of the map (pages the OS shares and can drop), not copies."""

    def __init__(self, storage: Any):
        self._storage = storage

    def open_file(self, name: str, *args: Any, **kwargs: Any) -> Any:
        # a segment reader's storage is an OverlayStorage whose first part is the segment's CompoundStorage
        compound = getattr(self._storage, "a", self._storage)
        source = getattr(compound, "_source", None)  # the compound file's mmap, if it is mapped
        if source is None or args or kwargs or not compound.file_exists(name):
            return self._storage.open_file(name, *args, **kwargs)
        offset, length = compound.range(name)
        return _ViewBufferFile(memoryview(source)[offset : offset + length], name=name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)


class ArchiveCodec(W3Codec):  # type: ignore[misc]
    """Whoosh's codec with posting blocks numpy can read without a Python object per posting.

    Docnum deltas and weights are stored as packed 32-bit arrays (bytes) instead of pickled tuples, so the
    vectorised search turns a block into arrays with ``np.frombuffer``; Whoosh's own matcher reads them
    too (``_PackedLeafMatcher``). No per-block length statistics: they only serve Whoosh's block
    skipping, which the vectorised search does not use, and looking the length up for every posting cost
    a tenth of indexing. (Segments remember their codec class, so these names must stay importable.)"""

    length_stats = False

    def new_segment(self, storage: Any, indexname: str) -> Any:
        # Whoosh names a segment from the global ``random``, which a test framework may seed: two indexes could then
        # hold segments of one name, and the search's per-segment caches (``fast.py``) are keyed by that name
        return W3Segment(self, indexname, segid=secrets.token_hex(8))

    def postings_writer(self, dbfile: Any, byteids: bool = False) -> Any:
        return _PackedPostingsWriter(
            dbfile,
            blocklimit=self._blocklimit,
            byteids=byteids,
            compression=self._compression,
            inlinelimit=self._inlinelimit,
        )

    def terms_reader(self, storage: Any, segment: Any) -> Any:
        return super().terms_reader(_ZeroCopyStorage(storage), segment)

    def per_document_reader(self, storage: Any, segment: Any) -> Any:
        return super().per_document_reader(_ZeroCopyStorage(storage), segment)

    def postings_reader(self, dbfile: Any, terminfo: Any, format_: Any, term: Any = None, scorer: Any = None) -> Any:
        if terminfo.is_inlined():
            return super().postings_reader(dbfile, terminfo, format_, term=term, scorer=scorer)
        offset, length = terminfo.extent()
        return _PackedLeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)  # type: ignore[abstract]


class _PackedPostingsWriter(W3PostingsWriter):  # type: ignore[misc]
    def add_postings_array(self, docnums: Any, freqs: Any, boost: float) -> None:
        """A term's postings (ascending docnums, frequencies) of a ``Frequency`` field, a block at a time:
        the blocks ``add_posting`` would write, without a Python call per posting."""
        limit = self._blocklimit
        fixed = self._format.fixed_value_size() if self._format is not None else None
        weights = (freqs * np.float32(boost)).astype(np.float32)
        values = freqs.astype(">u4")
        for start in range(0, len(docnums), limit):
            if len(self._ids):
                self._write_block()
                self._new_block()
            end = start + limit
            self._ids = array("I", docnums[start:end].astype(np.uint32).tobytes())
            chunk = weights[start:end]
            self._weights = array("f", chunk.tobytes())
            self._values = [values[start:end].tobytes()] if fixed == 4 else []
            self._maxweight = float(chunk.max())

    def _mini_ids(self) -> Any:
        if self._byteids:
            return super()._mini_ids()
        buffered: Any = self._ids  # array("I") while not byteids
        ids = np.frombuffer(buffered, dtype=np.uint32)
        deltas = ids.copy()  # np.diff(prepend=...) costs several times more on the many short blocks
        deltas[1:] -= ids[:-1]
        return deltas.tobytes()

    def _mini_weights(self) -> Any:
        buffered: Any = self._weights  # array("f")
        weights = np.frombuffer(buffered, dtype=np.float32)
        if (weights == 1.0).all():
            return None
        if (weights == weights[0]).all():
            return float(weights[0])
        return weights.tobytes()


class _PackedLeafMatcher(W3LeafMatcher):  # type: ignore[misc]
    def _read_ids(self) -> None:
        if self._data is None:
            self._read_data()
        data: Any = self._data
        ids = data[0]
        if isinstance(ids, bytes) and not self._byteids:
            self._ids = np.cumsum(np.frombuffer(ids, dtype=np.uint32), dtype=np.int64).tolist()
        else:
            super()._read_ids()

    def _read_weights(self) -> None:
        if self._data is None:
            self._read_data()
        data: Any = self._data
        weights = data[1]
        if isinstance(weights, bytes):
            self._weights = array("f", weights)
        else:
            super()._read_weights()


def _codec() -> Any:
    """Long, uncompressed posting blocks: the vectorised search reads whole posting lists, and per block it
    pays a fixed cost plus zlib (the files grow by about a quarter)."""
    return ArchiveCodec(blocklimit=BLOCK_POSTINGS, compression=0)


BLOCK_POSTINGS = 1024
# A rebuild commits a segment once its writer holds this many postings (about 700 a document of 1,500
# characters; 12 bytes each in the columnar pool, plus the segment's vocabulary).
REBUILD_SEGMENT_POSTINGS = 8_000_000


FINGERPRINT_KEY = "fingerprint_key"

CURRENT = "CURRENT"  # names the live generation (a subdirectory); replaced atomically by a rebuild


class WhooshBackend:
    """Whoosh index under ``directory``. Writes take an exclusive ``flock`` (bounded wait, then ``IndexBusy``).

    The live index is a generation ``directory/gen-*`` named by the file ``directory/CURRENT``. A rebuild
    writes a new generation that nobody reads, then replaces ``CURRENT`` with one atomic rename: searchers
    keep answering from the old generation until then, and the one before stays on disk until the next
    rebuild so that a search already running on it can finish. (An index written before generations, with
    its files directly in ``directory``, is read as it is until the first rebuild.)"""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        lock_timeout: float = 60.0,
        _generation: Path | None = None,
    ):
        self.directory = Path(directory)
        self.lock_timeout = lock_timeout
        self._generation = _generation  # set on the writer of a rebuild: it writes there and only there
        name = _generation.name if _generation is not None else self.directory.name
        base = self.directory if _generation is not None else self.directory.parent
        self._lock_path = base / f".{name}.writelock"
        self._local = threading.local()  # one searcher per thread, refreshed when the index changed
        self._held: Any = None  # a rebuild's writer, kept open across batches (see _rebuild_writer)

    # --- opening and locking -------------------------------------------------------------------

    def _live_dir(self) -> Path:
        if self._generation is not None:
            return self._generation
        try:
            name = (self.directory / CURRENT).read_text().strip()
        except FileNotFoundError:
            return self.directory  # nothing yet, or an index from before generations
        return self.directory / name

    def _open(self, *, locked: bool = False) -> Any:
        live = self._live_dir()
        if whoosh_index.exists_in(str(live)):
            return whoosh_index.open_dir(str(live))
        if self._generation is not None:
            live.mkdir(parents=True, exist_ok=True)
            return whoosh_index.create_in(str(live), make_schema())
        if locked:
            self._swap(self._new_generation())
        else:
            with self._write_lock():  # two processes starting at once must agree on one generation
                if not whoosh_index.exists_in(str(self._live_dir())):
                    self._swap(self._new_generation())
        return whoosh_index.open_dir(str(self._live_dir()))

    def _new_generation(self) -> Path:
        generation = self.directory / f"gen-{time.time_ns()}-{os.getpid()}"
        generation.mkdir(parents=True)
        whoosh_index.create_in(str(generation), make_schema())
        return generation

    def _swap(self, generation: Path) -> None:
        """Make ``generation`` the live index (caller holds the write lock); drop all but it and the last."""
        previous = self._live_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f"{CURRENT}.tmp"
        with open(tmp, "w") as handle:
            handle.write(generation.name)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.directory / CURRENT)
        fsync_dir(self.directory)
        keep = {generation.name, previous.name if previous != self.directory else ""}
        for entry in self.directory.iterdir():
            if entry.is_dir() and entry.name.startswith("gen-") and entry.name not in keep:
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.name.endswith(".writelock") and entry.name[1:-10] not in keep:
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
            elif entry.is_file() and "" not in keep and not entry.name.startswith((CURRENT, ".")):
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()  # files of an index from before generations, two rebuilds ago

    @contextlib.contextmanager
    def rebuild(self) -> Iterator[WhooshBackend]:
        """A writer into a fresh generation; on a clean exit it becomes the live index in one rename."""
        if self._generation is not None:
            raise RuntimeError("a rebuild cannot be nested")
        self.directory.mkdir(parents=True, exist_ok=True)
        generation = self.directory / f"gen-{time.time_ns()}-{os.getpid()}"
        builder = WhooshBackend(self.directory, lock_timeout=self.lock_timeout, _generation=generation)
        builder._open()
        try:
            yield builder
            builder._flush_rebuild()
        except BaseException:
            builder._cancel_rebuild()
            shutil.rmtree(generation, ignore_errors=True)
            raise
        with self._write_lock():
            self._swap(generation)

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a+") as handle:
            if not wait_for_exclusive_lock(handle, self.lock_timeout):
                raise IndexBusy(f"the search index stayed locked for {self.lock_timeout:.0f} s")
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _writer(self, **options: Any) -> Iterator[Any]:
        self._flush_rebuild()  # a rebuild's held writer (if any) commits first: it holds Whoosh's lock
        options.setdefault("codec", _codec())  # segments a deletion merges are written as ours too
        with self._write_lock():
            ix = self._open(locked=True)
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    writer = BulkSegmentWriter(ix, **options)
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

    def _rebuild_writer(self) -> Any:
        """The writer a rebuild keeps open across batches (nobody else writes to its generation): batches
        of a few hundred documents would each commit a small segment and merge segments again and again."""
        writer = self._held
        if writer is None:
            writer = self._held = BulkSegmentWriter(self._open(), limitmb=128, codec=_codec())
        return writer

    def _flush_rebuild(self, *, threshold: int = 0) -> None:
        """Commit the rebuild's held writer as one segment (without merging) once it holds ``threshold``
        postings; the rebuild's memory stays bounded and the index ends with a few large segments."""
        writer = self._held
        if writer is not None and writer.pending_postings() >= threshold:
            self._held = None
            writer.commit(merge=False)

    def _cancel_rebuild(self) -> None:
        writer, self._held = self._held, None
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.cancel()

    def upsert(self, entries: Iterable[IndexEntry], *, replace: bool = True, session: Any = None) -> int:
        """Write at once (the index is files: ``session`` has no part in it)."""
        batch = list(entries)
        if not batch:
            return 0
        if self._generation is not None and not replace:
            writer = self._rebuild_writer()
            self._add(writer, writer.add_document, batch)
            self._flush_rebuild(threshold=REBUILD_SEGMENT_POSTINGS)
            return len(batch)
        options: dict[str, Any] = {"limitmb": 128, "codec": _codec()}
        with self._writer(**options) as writer:
            self._add(writer, writer.update_document if replace else writer.add_document, batch)
        return len(batch)

    @staticmethod
    def _add(writer: Any, add: Any, batch: list[IndexEntry]) -> None:
        keyed = FINGERPRINT_KEY in writer.schema  # an index from before the column: stored fingerprints only
        for entry in batch:
            key = {FINGERPRINT_KEY: f"{entry.document_id}:{entry.fingerprint}".encode()} if keyed else {}
            add(
                **key,
                document_id=str(entry.document_id),
                account_no=entry.account_no,
                holder_name=entry.holder_name,
                holder_name_sh=entry.holder_name,
                unit_path=entry.unit_path,
                doc_type=entry.doc_type,
                title=entry.title,
                title_sh=entry.title,
                text=entry.text,
                text_sh=entry.text,
                formed_on=entry.formed_on.isoformat(),
                filed_on=entry.filed_on.isoformat(),
                fingerprint=entry.fingerprint,
            )

    def delete(self, document_ids: Iterable[int], *, session: Any = None) -> None:
        ids = [str(i) for i in document_ids]
        if not ids:
            return
        with self._writer() as writer:
            for document_id in ids:
                writer.delete_by_term("document_id", document_id)

    def clear(self) -> None:
        with self.rebuild():
            pass

    def fingerprints(self) -> Iterator[tuple[int, str]]:
        """From the ``fingerprint_key`` column, segment by segment: memory stays bounded whatever the size
        of the stored text. Segments without the column (an index from before it) stream their stored fields."""
        ix = self._open()
        with ix.searcher() as searcher:
            for reader, _offset in searcher.reader().leaf_readers():
                keyed = FINGERPRINT_KEY in reader.schema and reader.has_column(FINGERPRINT_KEY)
                column = reader.column_reader(FINGERPRINT_KEY) if keyed else None
                for docnum in reader.all_doc_ids():
                    key = column[docnum] if column is not None else b""
                    if key:
                        document_id, _, fingerprint = key.decode().partition(":")
                        yield int(document_id), fingerprint
                    else:  # written without the column: one document's stored fields at a time
                        fields = reader.stored_fields(docnum)
                        yield int(fields["document_id"]), str(fields.get("fingerprint", ""))

    def health(self) -> dict[str, object]:
        ix = self._open()
        return {"ok": True, "backend": "whoosh", "documents": ix.doc_count()}

    def _searcher(self) -> Any:
        """A cached searcher, refreshed after writes and reopened when a rebuild swapped generations."""
        old = getattr(self._local, "searcher", None)
        live = str(self._live_dir())
        searcher = None
        if old is not None and getattr(self._local, "live", None) == live:
            with contextlib.suppress(Exception):  # segments merged under us: open afresh
                # refresh() hands the segment readers it keeps to the new searcher and closes the rest
                # itself; closing the old searcher as well would close readers the new one uses
                searcher = old.refresh()
        if searcher is None:
            if old is not None:
                with contextlib.suppress(Exception):
                    old.close()
            searcher = self._open().searcher()
            self._local.live = str(self._live_dir())
        self._local.searcher = searcher
        return searcher

    def search(self, query: SearchQuery) -> SearchResult:
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
        searcher = self._searcher()
        if text:
            parser = MultifieldParser(["title", "text", "holder_name"], searcher.schema)
            parsed = parser.parse(text)
            main: Query = parsed
        else:
            main = Every()
        offset = (max(query.page, 1) - 1) * query.per_page
        try:
            ranked = fast.evaluate(searcher, main, filters, offset=offset, limit=query.per_page, newest_first=not text)
            rows = [(searcher.stored_fields(n), s) for n, s in zip(ranked.docnums, ranked.scores, strict=True)]
            total = ranked.total
        except fast.Unsupported:  # a query shape the vectorised path does not cover: Whoosh runs it
            try:
                rows, total = self._whoosh_search(searcher, main, filters, query, sort=not text)
            except QueryError as exc:
                raise DomainError("bad_query") from exc
        terms = highlight_terms(main) if text else []
        items = []
        for fields, score in rows:
            highlight, page = page_snippet(str(fields.get("text", "")), terms)
            if not highlight:
                highlight = snippet(str(fields.get("title", "")), terms)
            items.append(
                SearchHit(
                    document_id=int(fields["document_id"]),
                    account_no=fields["account_no"],
                    title=fields["title"],
                    doc_type=fields["doc_type"],
                    formed_on=_date(fields["formed_on"]),
                    score=score,
                    highlight=highlight,
                    page=page,
                )
            )
        return SearchResult(items=items, total=total)

    @staticmethod
    def _whoosh_search(
        searcher: Any, main: Query, filters: list[Query], query: SearchQuery, *, sort: bool
    ) -> tuple[list[tuple[dict[str, Any], float]], int]:
        main = main.accept(lambda q: _phrase_for_whoosh(q, searcher.schema))
        combined = And([main, *filters]) if filters else main
        options: dict[str, Any] = {"sortedby": "formed_on", "reverse": True} if sort else {}
        page = searcher.search_page(combined, query.page, pagelen=query.per_page, **options)
        return [(hit.fields(), float(hit.score or 0.0)) for hit in page], page.total


def _phrase_for_whoosh(query: Query, schema: Schema) -> Query:
    """Phrases for Whoosh's own matcher: text fields keep no positions, so a phrase is its shingle terms.

    Up to ``SHINGLE_MAX`` words that is exact; a longer phrase needs all its shingles (adjacent runs, so it is
    nearly exact); a phrase with slop ("..."~2) matches all of its words.
    """
    if not isinstance(query, Phrase) or len(query.words) < 2:
        return query
    field = query.fieldname + fast.SHINGLE_SUFFIX
    words = [str(w) for w in query.words]
    if query.slop != 1 or field not in schema:
        return Phrase(query.fieldname, words, slop=query.slop, boost=query.boost, degrade=True)
    size = min(len(words), SHINGLE_MAX)
    runs = [shingle_text(words[i : i + size]) for i in range(len(words) - size + 1)]
    terms = [Term(field, run, boost=query.boost) for run in runs]
    return terms[0] if len(terms) == 1 else And(terms)


def _date(value: str) -> Any:
    import datetime as dt

    return dt.date.fromisoformat(value)
