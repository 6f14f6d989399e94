"""A Whoosh segment writer that inverts a batch of documents with numpy instead of one tuple per posting.

Whoosh's ``SegmentWriter`` puts every posting into a sorting pool as a Python tuple, sorts the pool, then
hands each posting to the codec one call at a time: with shingle fields that is about 700 postings per
document and most of the indexing time. This writer keeps, per counted field, a term id, a docnum and a
frequency per posting in packed arrays, orders them with one ``np.lexsort`` and writes each term's posting
blocks from array slices. The files it writes are the ones Whoosh writes (same codec, same blocks), so
readers, merges and existing indexes are unaffected.
"""

from __future__ import annotations

import itertools
from array import array
from collections import Counter
from typing import Any

import numpy as np
from whoosh.system import unpack_uint
from whoosh.writing import SegmentWriter

from .analysis import CountedFrequency


class _FieldPostings:
    """The postings of one counted field: packed term ids, docnums and frequencies, and the vocabulary."""

    __slots__ = ("boost", "docs", "freqs", "ids", "vocab")

    def __init__(self, boost: float):
        self.boost = boost
        self.vocab: dict[str, int] = {}
        self.ids = array("I")
        self.docs = array("I")
        self.freqs = array("I")

    def add_counts(self, docnum: int, counts: Counter[str]) -> None:
        vocab = self.vocab
        # set.difference(dict) looks each term up (counts.keys() - vocab.keys() would walk the whole vocabulary)
        new = set(counts).difference(vocab)
        if new:
            vocab.update(zip(new, range(len(vocab), len(vocab) + len(new)), strict=True))
        self.ids.extend(map(vocab.__getitem__, counts))
        self.freqs.extend(counts.values())
        self.docs.extend(itertools.repeat(docnum, len(counts)))

    def add_posting(self, term: str, docnum: int, freq: int) -> None:
        vocab = self.vocab
        self.ids.append(vocab.setdefault(term, len(vocab)))
        self.docs.append(docnum)
        self.freqs.append(freq)

    def __len__(self) -> int:
        return len(self.ids)


class _BulkPool:
    """Stands in for Whoosh's ``PostingPool``: counted fields go to ``_FieldPostings``, the few postings
    of other fields (ids, dates) stay tuples."""

    def __init__(self, counted: dict[str, float]):
        self.counted = {name: _FieldPostings(boost) for name, boost in counted.items()}
        self.other: list[tuple[str, bytes, int, float, bytes | None]] = []
        self.fieldnames: set[str] = set()

    def add(self, item: tuple[str, bytes, int, float, bytes | None]) -> None:
        """One posting (Whoosh calls this when it merges segments into the new one)."""
        fieldname, tbytes, docnum, _weight, vbytes = item
        self.fieldnames.add(fieldname)
        postings = self.counted.get(fieldname)
        if postings is None:
            self.other.append(item)
        else:
            postings.add_posting(tbytes.decode("utf-8"), docnum, unpack_uint(vbytes)[0] if vbytes else 1)

    def postings(self) -> int:
        return len(self.other) + sum(len(p) for p in self.counted.values())

    def iter_postings(self) -> Any:
        """All postings as sorted tuples (only for callers that want Whoosh's pool interface)."""
        items = list(self.other)
        for name, p in self.counted.items():
            terms = list(p.vocab)
            for tid, doc, freq in zip(p.ids, p.docs, p.freqs, strict=True):
                items.append((name, terms[tid].encode("utf-8"), doc, freq * p.boost, _pack_uint(freq)))
        return iter(sorted(items))

    def cleanup(self) -> None:
        self.other.clear()
        self.counted.clear()


def _pack_uint(value: int) -> bytes:
    return int(value).to_bytes(4, "big")


class BulkSegmentWriter(SegmentWriter):  # type: ignore[misc]
    """``SegmentWriter`` with a columnar pool for ``CountedFrequency`` fields (see the module docstring)."""

    def __init__(self, ix: Any, **kwargs: Any):
        super().__init__(ix, **kwargs)
        counted = {
            name: float(field.format.field_boost)
            for name, field in self.schema.items()
            if isinstance(field.format, CountedFrequency)
            and getattr(field.analyzer, "terms", None) is not None
            and not field.vector
            and not field.separate_spelling()
        }
        self.pool.cleanup()
        self._bulk = _BulkPool(counted)
        self.pool = self._bulk  # type: ignore[assignment]  # the same interface, columnar inside

    def pending_postings(self) -> int:
        """Postings held in memory for the segment being written."""
        return self._bulk.postings()

    def add_document(self, **fields: Any) -> None:
        self._check_state()
        pool = self._bulk
        counted = pool.counted
        if any(f"_{name}_boost" in fields for name in counted) or "_boost" in fields:
            raise ValueError("per-document boosts are not supported by this writer")
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)
        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields[fieldname]
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                postings = counted.get(fieldname)
                if postings is not None:
                    terms = field.analyzer.terms(value)
                    if terms:
                        postings.add_counts(docnum, Counter(terms))
                        pool.fieldnames.add(fieldname)
                    length = len(terms) if field.scorable else 0
                elif field.indexed:
                    for tbytes, freq, weight, vbytes in field.index(value):
                        if field.scorable:
                            length += freq
                        pool.add((fieldname, tbytes, docnum, weight, vbytes))
                perdocwriter.add_field(fieldname, field, value if field.stored else None, length)
                column = field.column_type
                if column:
                    perdocwriter.add_column_value(fieldname, column, field.to_column_value(value))
        except ValueError:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        fieldwriter = self.fieldwriter
        pool = self._bulk
        other = sorted(pool.other)
        for fieldname in sorted(pool.fieldnames):
            postings = pool.counted.get(fieldname)
            if postings is None:
                items = [item for item in other if item[0] == fieldname]
                fieldwriter.add_postings(self.schema, None, iter(items))
            elif len(postings):
                _write_field(fieldwriter, fieldname, self.schema[fieldname], postings)
        fieldwriter.close()


def _write_field(fieldwriter: Any, fieldname: str, field: Any, postings: _FieldPostings) -> None:
    ids = np.frombuffer(postings.ids, dtype=np.uint32)
    docs = np.frombuffer(postings.docs, dtype=np.uint32)
    freqs = np.frombuffer(postings.freqs, dtype=np.uint32)
    order = np.lexsort((docs, ids))  # by term, then docnum (merged segments come after new documents)
    ids, docs, freqs = ids[order], docs[order], freqs[order]
    bounds = np.searchsorted(ids, np.arange(len(postings.vocab) + 1, dtype=np.uint32)).tolist()
    terms = sorted((term.encode("utf-8"), tid) for term, tid in postings.vocab.items())
    fieldwriter.start_field(fieldname, field)
    bulk_add = getattr(fieldwriter._postwriter, "add_postings_array", None)
    for tbytes, tid in terms:
        low, high = bounds[tid], bounds[tid + 1]
        if low == high:
            continue
        fieldwriter.start_term(tbytes)
        if bulk_add is not None:
            bulk_add(docs[low:high], freqs[low:high], postings.boost)
        else:  # a codec without array blocks (Whoosh's default, e.g. a deletion's merge): posting by posting
            for doc, freq in zip(docs[low:high].tolist(), freqs[low:high].tolist(), strict=True):
                fieldwriter.add(doc, freq * postings.boost, _pack_uint(freq), 0)
        fieldwriter.finish_term()
    fieldwriter.finish_field()
