"""Chinese analysis for Whoosh: rjieba words with ordinal positions and character offsets.

jieba's stock ``ChineseAnalyzer`` puts character offsets into ``pos``, so a phrase like "供用电合同"
(tokens 供用电, 合同 at 4 and 7) never looks adjacent and phrase queries find nothing. Here ``pos`` counts
tokens, so phrases match, and ``startchar``/``endchar`` carry the offsets that highlighting needs.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import rjieba
from whoosh.analysis import Token, Tokenizer
from whoosh.formats import Frequency
from whoosh.system import pack_uint

# punctuation and spaces carry no meaning for search; dropping them keeps positions of words adjacent
_SKIP = frozenset(" \t\r\n\u3000，。、；：？！“”‘’（）《》【】—…·,.;:?!\"'()[]<>-_/\\|@#$%^&*+=~`{}")


_SKIP_CHARS = "".join(sorted(_SKIP))


def segment(text: str) -> list[str]:
    """The words of ``text`` as the index sees them (also used to pre-segment for FTS5 in the benchmark)."""
    return [w for w in rjieba.cut(text) if w.strip(_SKIP_CHARS)]


class JiebaTokenizer(Tokenizer):  # type: ignore[misc]
    """Yields rjieba words; ``pos`` is the ordinal of the word, ``startchar``/``endchar`` its span."""

    def terms(self, value: str) -> list[str]:
        return _index_terms(value)

    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__

    def __hash__(self) -> int:
        return hash(self.__class__)

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.original = token.text = value.lower()  # type: ignore[attr-defined]
            token.boost = 1.0
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar = start_char
                token.endchar = start_char + len(value)
            yield token
            return
        for word, pos, start, end in _words(value, start_pos, with_parts=mode != "query"):
            token.text = word
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = word  # type: ignore[attr-defined]
            if positions:
                token.pos = pos
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            yield token


def _index_terms(value: str) -> list[str]:
    """What the tokenizer yields when indexing, as plain strings: the words, then the words inside the long
    ones (in another order than the tokens, which only counting sees)."""
    words = _plain_words(value)
    out = list(words)
    for word in words:
        if len(word) > 2:
            out += _part_words(word)
    return out


def _words(value: str, start_pos: int, *, with_parts: bool) -> Iterator[tuple[str, int, int, int]]:
    """(word, ordinal position, start, end). Indexing also yields the dictionary words inside a long word
    (停电 and 通知 inside 停电通知) at the long word's position, so a search for 停电 finds 停电通知;
    queries use whole words only, so a quoted phrase stays a sequence of positions."""
    pos = start_pos
    for word, start, end in _whole_words(value):
        yield word, pos, start, end
        if with_parts and len(word) > 2:
            for part, part_start, part_end in _parts(word):
                yield part, pos, start + part_start, start + part_end
        pos += 1


_last = threading.local()


def _whole_words(value: str) -> list[tuple[str, int, int]]:
    """rjieba's words of ``value`` without punctuation. The words and shingle fields analyse the same text
    one after the other, so the last result is kept (per thread) and the text is segmented once."""
    cached = getattr(_last, "entry", None)
    if cached is not None and cached[0] is value:
        return cached[1]  # type: ignore[no-any-return]
    words = [(w.lower(), s, e) for w, s, e in rjieba.tokenize(value) if w.strip(_SKIP_CHARS)]
    _last.entry = (value, words)
    return words


def _plain_words(value: str) -> list[str]:
    """The words of ``_whole_words(value)`` without their offsets, for indexing: ``rjieba.cut`` (no tuple a
    word), lower-cased only when the text has upper case, and a punctuation test only for words that start
    with a punctuation character. The words and shingle fields analyse the same text one after the other,
    so the last result is kept (per thread)."""
    cached = getattr(_last, "plain", None)
    if cached is not None and cached[0] is value:
        return cached[1]  # type: ignore[no-any-return]
    words: list[str] = rjieba.cut(value)
    if value != value.lower():
        words = [w.lower() for w in words]
    words = [w for w in words if w and (w[0] not in _SKIP or w.strip(_SKIP_CHARS))]
    _last.plain = (value, words)
    return words


def words_with_parts(value: str) -> list[tuple[str, tuple[str, ...]]]:
    """The whole words of ``value`` in order (lower-cased, as indexed), each with the dictionary words inside it
    (empty for words of one or two characters): what the index stores, for backends that keep positions
    themselves (the PostgreSQL backend's tsvector)."""
    return [(word, _part_words(word) if len(word) > 2 else ()) for word in _plain_words(value)]


@lru_cache(maxsize=65536)
def _part_words(word: str) -> tuple[str, ...]:
    return tuple(part for part, _s, _e in _parts(word))


@lru_cache(maxsize=65536)
def _parts(word: str) -> tuple[tuple[str, int, int], ...]:
    """The dictionary words inside a long word (jieba's search mode), with offsets inside it."""
    return tuple((p, s, e) for p, s, e in rjieba.tokenize(word, mode="search") if (s, e) != (0, len(word)))


def ChineseAnalyzer() -> Any:
    """rjieba words (and, when indexing, the words inside long words), lower-cased; no stop words removed."""
    return JiebaTokenizer()  # lower-cases itself: a filter stage per token cost a tenth of indexing


SHINGLE_MAX = 3  # phrases of up to this many words are one shingle term (exact, no positions needed)


def shingle_text(words: list[str]) -> str:
    """The term under which a run of 2 to ``SHINGLE_MAX`` adjacent words is indexed."""
    return " ".join(words)


def _shingles(value: str) -> list[str]:
    """The shingle terms of ``value`` (what ``ShingleTokenizer`` yields), joined by ``map`` over zipped runs:
    a Python call of ``shingle_text`` per shingle was a tenth of indexing."""
    assert SHINGLE_MAX == 3  # the runs below are written out for 2 and 3 words
    words = _plain_words(value)
    join = " ".join  # the same text as shingle_text
    return list(map(join, itertools.pairwise(words))) + list(map(join, zip(words, words[1:], words[2:], strict=False)))


class CountedFrequency(Frequency):  # type: ignore[misc]
    """Whoosh's ``Frequency`` format, counting the analyzer's terms with ``Counter`` instead of a Token
    object per term: the same postings for a third of the analysis time (indexing only; queries still
    go through the analyzer). Used for fields whose analyzer has a ``terms(value)`` method."""

    def word_values(self, value: Any, analyzer: Any, **kwargs: Any) -> Iterator[tuple[Any, int, float, bytes]]:
        terms = getattr(analyzer, "terms", None)
        if terms is None or kwargs.get("mode") == "query":
            yield from super().word_values(value, analyzer, **kwargs)
            return
        boost = self.field_boost
        for term, freq in Counter(terms(value)).items():
            yield term, freq, freq * boost, pack_uint(freq)


class ShingleTokenizer(Tokenizer):  # type: ignore[misc]
    """Every run of 2 and 3 adjacent whole words as one token (供用电 合同), so a quoted phrase of up to
    three words is a single term lookup instead of a comparison of positions in every candidate."""

    def terms(self, value: str) -> list[str]:
        return _shingles(value)

    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__

    def __hash__(self) -> int:
        return hash(self.__class__)

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        removestops: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        words = [w for w, _s, _e in _whole_words(value)]
        pos = 0
        for size in range(2, SHINGLE_MAX + 1):
            for i in range(len(words) - size + 1):
                token.text = shingle_text(words[i : i + size])
                token.boost = 1.0
                token.stopped = False
                if positions:
                    token.pos = pos
                    pos += 1
                yield token


def ShingleAnalyzer() -> Any:
    """Adjacent word runs (2 to ``SHINGLE_MAX`` words), lower-cased: the index side of exact phrases."""
    return ShingleTokenizer()


def word_sequence(value: str) -> list[str]:
    """The whole words of ``value``, lower-cased, in order (what a phrase is compared with)."""
    return [w.lower() for w, _s, _e in _whole_words(value)]


def contains_run(words: list[str], run: list[str]) -> bool:
    """Whether ``run`` occurs in ``words`` as consecutive items."""
    size = len(run)
    first = run[0]
    return any(words[i] == first and words[i : i + size] == run for i in range(len(words) - size + 1))
