"""Vectorised query evaluation over a Whoosh index's own postings (numpy), for the queries the archive asks.

Whoosh scores and counts one matching document at a time in Python (tens of microseconds each), and in an
archive the common words (合同, 电费) are in almost every document, so a search over 100,000 documents cost
seconds. Here a posting list is read a block at a time into numpy arrays, BM25 is computed over whole arrays,
AND/OR are array intersections/unions, and filters are per-segment columns: the total is exact and the
cost is a few array operations per term instead of a Python loop per document.

``evaluate`` handles the shapes our parser produces (``And``/``Or``/``NOT``/``ANDNOT`` of ``Term`` and of
``Phrase``: up to three words are one shingle term, see ``analysis.ShingleTokenizer``; longer ones need all
their three-word shingles and are checked in the stored text) plus the filters of ``SearchQuery``. Anything
else (wildcards, ranges in the query text, a lone NOT) raises ``Unsupported`` and the caller lets Whoosh run
the query.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.query import And, AndNot, Every, Not, Or, Phrase, Prefix, Query, Term, TermRange
from whoosh.util.numeric import byte_to_length

from .analysis import SHINGLE_MAX, contains_run, shingle_text, word_sequence

K1, B = 1.2, 0.75  # Whoosh's BM25F defaults
_LENGTH_OF_BYTE = np.array([byte_to_length(i) for i in range(256)], dtype=np.float64)
SHINGLE_SUFFIX = "_sh"

_Scored = tuple[np.ndarray, np.ndarray]  # (matched: bool per docnum of one segment, score per docnum)


@dataclass
class Ranked:
    """Global docnums of one page in rank order, and the exact number of matching documents."""

    docnums: list[int]
    scores: list[float]
    total: int


class Unsupported(Exception):
    """The query has a shape this evaluator does not handle; Whoosh runs it instead."""


# --- per-segment caches (postings are immutable for a segment's lifetime) ----------------------------

_cache_lock = threading.Lock()
_columns: dict[tuple[str, str, str], Any] = {}
_frequencies: dict[tuple[tuple[str, ...], str, str], int] = {}


def _segment_key(reader: Any) -> str:
    segment = reader.segment()
    return f"{segment.index_name()}:{segment.segment_id()}"


def _cached(reader: Any, kind: str, field: str, build: Any) -> Any:
    key = (_segment_key(reader), kind, field)
    with _cache_lock:
        found = _columns.get(key)
    if found is None:
        found = build()
        with _cache_lock:
            if len(_columns) > 256:  # segments merged away leave stale keys; start over now and then
                _columns.clear()
            _columns[key] = found
    return found


def _lengths(reader: Any, field: str) -> np.ndarray:
    """Field length of every document of the segment (Whoosh stores one byte per document)."""

    def build() -> np.ndarray:
        count = reader.doc_count_all()
        out = np.zeros(count, dtype=np.uint8)
        perdoc = reader._perdoc
        column = perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
        if column is not None:
            stored = min(column._count, count)
            raw = column._dbfile.get(column._basepos, stored)
            out[:stored] = np.frombuffer(raw, dtype=np.uint8)
        return _LENGTH_OF_BYTE[out]

    return _cached(reader, "len", field, build)  # type: ignore[no-any-return]


def _term_column(reader: Any, field: str) -> tuple[np.ndarray, list[str]]:
    """For an ID field with few distinct values: the value index of every document and the values."""

    def build() -> tuple[np.ndarray, list[str]]:
        codes = np.full(reader.doc_count_all(), -1, dtype=np.int32)
        values: list[str] = []
        for value in reader.lexicon(field):
            text = value.decode("utf-8") if isinstance(value, bytes) else str(value)
            ids, _weights = _postings(reader, field, text)
            codes[ids] = len(values)
            values.append(text)
        return codes, values

    return _cached(reader, "col", field, build)  # type: ignore[no-any-return]


def _dates(reader: Any) -> np.ndarray:
    """formed_on of every document as a number YYYYMMDD (0 when absent), for newest-first order."""

    def build() -> np.ndarray:
        codes, values = _term_column(reader, "formed_on")
        as_numbers = np.asarray([int(v.replace("-", "")) for v in values] + [0], dtype=np.int64)
        return as_numbers[codes]  # code -1 picks the trailing 0

    return _cached(reader, "date", "formed_on", build)  # type: ignore[no-any-return]


def _live(reader: Any) -> np.ndarray | None:
    """Docnums deleted in the segment (None when there are none)."""
    if not reader.has_deletions():
        return None
    return np.fromiter(sorted(reader.deleted_docs_set), dtype=np.int64)


# --- postings ---------------------------------------------------------------------------------------


class _PostingsCache:
    """Decoded postings by (segment, field, term), the least recently used dropped beyond ``budget`` bytes.

    A segment never changes once written, so an entry stays true for the segment's life; a merged-away segment's
    entries are simply never asked for again and age out. Decoding is most of a search's cost (a common word's
    list runs through the whole archive), and staff ask for the same words all day."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self._items: OrderedDict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str]) -> tuple[np.ndarray, np.ndarray] | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[str, str, str], postings: tuple[np.ndarray, np.ndarray]) -> None:
        size = sum(array.nbytes for array in postings) + 200  # the key and the tuples
        if size > self.budget:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = postings
            self.used += size
            while self.used > self.budget:
                _key, dropped = self._items.popitem(last=False)
                self.used -= sum(array.nbytes for array in dropped) + 200

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.used = 0


POSTINGS_CACHE_BYTES = 64 * 1024 * 1024  # per process: a word in all of 4 million postings takes 64 MiB
postings_cache = _PostingsCache(POSTINGS_CACHE_BYTES)


def _postings(reader: Any, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
    """(docnums, term frequencies) of a term in one segment (read-only arrays, shared between searches)."""
    key = (_segment_key(reader), field, text)
    found = postings_cache.get(key)
    if found is None:
        found = _read_postings(reader, field, text)
        for array in found:
            array.flags.writeable = False  # a caller changing a cached list would change every later search
        postings_cache.put(key, found)
    return found


def _read_postings(reader: Any, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
    """(docnums, term frequencies) of a term in one segment, read a block at a time."""
    if (field, text) not in reader:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    matcher = reader.postings(field, text)
    if not isinstance(matcher, W3LeafMatcher):  # inlined postings of a rare term: a short list
        ids, weights = [], []
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            matcher.next()
        return np.asarray(ids, dtype=np.int64), np.asarray(weights, dtype=np.float64)
    id_parts: list[np.ndarray] = []
    weight_parts: list[np.ndarray] = []
    leaf: Any = matcher  # whoosh3's block reader; its block fields are private but stable in 3.x
    while leaf.is_active():
        leaf._read_data()
        raw_ids, raw_weights, _values = leaf._data
        count = int(leaf._blocklength)
        if isinstance(raw_ids, bytes):  # packed by ArchiveCodec: no Python object per posting
            id_parts.append(np.cumsum(np.frombuffer(raw_ids, dtype=np.uint32), dtype=np.int64))
        else:  # a pickled tuple of deltas (an index written before ArchiveCodec)
            id_parts.append(np.cumsum(np.asarray(raw_ids, dtype=np.int64)))
        if raw_weights is None:
            weight_parts.append(np.ones(count))
        elif isinstance(raw_weights, float):
            weight_parts.append(np.full(count, raw_weights))
        elif isinstance(raw_weights, bytes):
            weight_parts.append(np.frombuffer(raw_weights, dtype=np.float32).astype(np.float64))
        else:
            weight_parts.append(np.asarray(raw_weights, dtype=np.float64))
        leaf._next_block()
    return np.concatenate(id_parts), np.concatenate(weight_parts)


# --- evaluation -------------------------------------------------------------------------------------


class _Context:
    def __init__(self, searcher: Any):
        self.searcher = searcher
        self.schema = searcher.schema
        self.doc_count = searcher.doc_count_all()
        self.leaves = searcher.reader().leaf_readers()
        self._segments: tuple[str, ...] | None = None  # the live segments' keys, once a term needs them
        self._idf: dict[tuple[str, str], float] = {}

    def _doc_frequency(self, field: str, text: str) -> int:
        """Whoosh's document frequency of the term in this set of segments, remembered for the set's life."""
        if self._segments is None:
            self._segments = tuple(_segment_key(reader) for reader, _base in self.leaves)
        key = (self._segments, field, text)
        with _cache_lock:
            found = _frequencies.get(key)
        if found is None:
            found = int(self.searcher.doc_frequency(field, text))
            with _cache_lock:
                if len(_frequencies) > 65_536:  # sets of segments merged away leave stale keys
                    _frequencies.clear()
                _frequencies[key] = found
        return found

    def idf(self, field: str, text: str) -> float:
        key = (field, text)
        if key not in self._idf:  # index-wide, the same for every segment
            self._idf[key] = float(np.log(self.doc_count / (self._doc_frequency(field, text) + 1)) + 1)
        return self._idf[key]

    def bm25(self, reader: Any, source_field: str, field: str, text: str, boost: float) -> _Scored:
        """(matched, scores) over the segment's docnums: which documents hold the term, and their BM25."""
        count = reader.doc_count_all()
        matched = np.zeros(count, dtype=bool)
        dense = np.zeros(count)
        ids, tf = _postings(reader, field, text)
        if not len(ids):
            return matched, dense
        idf = self.idf(field, text)
        avg = self.searcher.avg_field_length(source_field) or 1.0
        lengths = _lengths(reader, source_field)[ids]
        scores = idf * (tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * lengths / avg))
        matched[ids] = True
        dense[ids] = scores * boost  # a field boost is already in the weights (applied when indexing)
        return matched, dense


def _union(parts: Sequence[_Scored]) -> _Scored:
    matched, scores = parts[0]
    for other_matched, other_scores in parts[1:]:
        matched = matched | other_matched
        scores = scores + other_scores
    return matched, scores


def _intersection(parts: Sequence[_Scored]) -> _Scored:
    matched, scores = parts[0]
    for other_matched, other_scores in parts[1:]:
        matched = matched & other_matched
        scores = scores + other_scores
    return matched, scores


def _match(query: Query, reader: Any, ctx: _Context) -> _Scored:
    if isinstance(query, Term):
        return ctx.bm25(reader, query.fieldname, query.fieldname, str(query.text), query.boost)
    if isinstance(query, Phrase):
        words = [str(w) for w in query.words]
        if len(words) == 1:
            return ctx.bm25(reader, query.fieldname, query.fieldname, words[0], query.boost)
        field = query.fieldname + SHINGLE_SUFFIX
        if field not in ctx.schema or query.slop != 1:
            raise Unsupported("phrase without shingles")
        if len(words) <= SHINGLE_MAX:
            return ctx.bm25(reader, query.fieldname, field, shingle_text(words), query.boost)
        # longer: every run of SHINGLE_MAX words must be there, then the whole phrase is checked in the text
        windows = [words[i : i + SHINGLE_MAX] for i in range(len(words) - SHINGLE_MAX + 1)]
        matched, scores = _intersection(
            [ctx.bm25(reader, query.fieldname, field, shingle_text(w), query.boost) for w in windows]
        )
        for docnum in np.flatnonzero(matched):
            value = reader.stored_fields(int(docnum)).get(query.fieldname, "")
            if not contains_run(word_sequence(str(value)), words):
                matched[docnum] = False
        return matched, scores
    if isinstance(query, Or) and query.minmatch in (0, 1) and not query.scale and query.subqueries:
        return _union([_match(q, reader, ctx) for q in query.subqueries])
    if isinstance(query, And) and query.subqueries:
        wanted = [q for q in query.subqueries if not isinstance(q, Not)]
        if not wanted:
            raise Unsupported("only NOT")
        matched, scores = _intersection([_match(q, reader, ctx) for q in wanted])
        for excluded in (q for q in query.subqueries if isinstance(q, Not)):
            matched = matched & ~_match(excluded.query, reader, ctx)[0]
        return matched, scores
    if isinstance(query, AndNot):
        matched, scores = _match(query.a, reader, ctx)
        return matched & ~_match(query.b, reader, ctx)[0], scores
    raise Unsupported(type(query).__name__)


def _filter_mask(filters: Sequence[Query], reader: Any) -> np.ndarray | None:
    """Boolean mask over the segment's docnums for the filters (None: no filter)."""
    mask: np.ndarray | None = None
    for query in filters:
        if isinstance(query, Term) and query.fieldname in ("doc_type", "account_no"):
            ids, _tf = _postings(reader, query.fieldname, str(query.text))
            part = np.zeros(reader.doc_count_all(), dtype=bool)
            part[ids] = True
        elif isinstance(query, Prefix | TermRange):
            codes, values = _term_column(reader, query.fieldname)
            if isinstance(query, Prefix):
                wanted = [i for i, v in enumerate(values) if v.startswith(str(query.text))]
            else:
                low, high = query.start, query.end
                wanted = [i for i, v in enumerate(values) if (low is None or v >= low) and (high is None or v <= high)]
            part = np.isin(codes, np.asarray(wanted, dtype=np.int32))
        else:
            raise Unsupported(f"filter {query!r}")
        mask = part if mask is None else mask & part
    return mask


def evaluate(
    searcher: Any,
    main: Query,
    filters: Sequence[Query],
    *,
    offset: int,
    limit: int,
    newest_first: bool = False,
) -> Ranked:
    """Rank the documents matching ``main`` and every filter; return ``limit`` of them from ``offset``.

    With ``newest_first`` (a query without words) the order is formed_on descending instead of the score.
    Raises ``Unsupported`` for query shapes it does not evaluate."""
    ctx = _Context(searcher)
    all_ids: list[np.ndarray] = []
    all_keys: list[np.ndarray] = []
    for reader, base in ctx.leaves:
        if reader.doc_count_all() == 0:
            continue
        if isinstance(main, Every):
            ids = np.arange(reader.doc_count_all(), dtype=np.int64)
            keys = np.zeros(len(ids))
        else:
            matched, dense = _match(main, reader, ctx)
            ids = np.flatnonzero(matched)
            keys = dense[ids]
        if not len(ids):
            continue
        mask = _filter_mask(filters, reader)
        keep = np.ones(len(ids), dtype=bool) if mask is None else mask[ids]
        deleted = _live(reader)
        if deleted is not None:
            keep &= ~np.isin(ids, deleted)
        ids, keys = ids[keep], keys[keep]
        if newest_first:
            keys = _dates(reader)[ids]
        all_ids.append(ids + base)
        all_keys.append(keys)
    if not all_ids:
        return Ranked([], [], 0)
    ids = np.concatenate(all_ids)
    keys = np.concatenate(all_keys)
    total = len(ids)
    wanted = min(total, offset + limit)
    if wanted <= 0 or offset >= total:
        return Ranked([], [], total)
    if newest_first:
        chosen = np.lexsort((-ids, -keys))[:wanted]
        scores = np.zeros(len(chosen))
    else:
        # the top ``wanted`` by score, ties broken by docnum (stable pages)
        if wanted < total:
            candidates = np.argpartition(-keys, wanted - 1)[:wanted]
            threshold = keys[candidates].min()
            candidates = np.flatnonzero(keys >= threshold)
        else:
            candidates = np.arange(total)
        chosen = candidates[np.lexsort((ids[candidates], -keys[candidates]))][:wanted]
        scores = keys[chosen]
    page = slice(offset, wanted)
    return Ranked([int(i) for i in ids[chosen][page]], [float(s) for s in scores[page]], total)
