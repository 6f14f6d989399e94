"""Chinese analysis for Whoosh: rjieba words with ordinal positions and character offsets.

jieba's stock ``ChineseAnalyzer`` puts character offsets into ``pos``, so a phrase like "供用电合同"
(tokens 供用电, 合同 at 4 and 7) never looks adjacent and phrase queries find nothing. Here ``pos`` counts
tokens, so phrases match, and ``startchar``/``endchar`` carry the offsets that highlighting needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import rjieba
from whoosh.analysis import LowercaseFilter, Token, Tokenizer

# punctuation and spaces carry no meaning for search; dropping them keeps positions of words adjacent
_SKIP = frozenset(" \t\r\n\u3000，。、；：？！“”‘’（）《》【】—…·,.;:?!\"'()[]<>-_/\\|@#$%^&*+=~`{}")


def segment(text: str) -> list[str]:
    """The words of ``text`` as the index sees them (also used to pre-segment for FTS5 in the benchmark)."""
    return [w for w in rjieba.cut(text) if w.strip() and not all(c in _SKIP for c in w)]


class JiebaTokenizer(Tokenizer):  # type: ignore[misc]
    """Yields rjieba words; ``pos`` is the ordinal of the word, ``startchar``/``endchar`` its span."""

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
            token.original = token.text = value  # type: ignore[attr-defined]
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


def _words(value: str, start_pos: int, *, with_parts: bool) -> Iterator[tuple[str, int, int, int]]:
    """(word, ordinal position, start, end). Indexing also yields the dictionary words inside a long word
    (停电 and 通知 inside 停电通知) at the long word's position, so a search for 停电 finds 停电通知;
    queries use whole words only, so a quoted phrase stays a sequence of positions."""
    pos = start_pos
    if not with_parts:
        for word, start, end in rjieba.tokenize(value):
            if word.strip() and not all(c in _SKIP for c in word):
                yield word, pos, start, end
                pos += 1
        return
    words = [(w, s, e) for w, s, e in rjieba.tokenize(value) if w.strip() and not all(c in _SKIP for c in w)]
    owner = [-1] * len(value)
    for index, (_w, start, end) in enumerate(words):
        owner[start:end] = [index] * (end - start)
    parts: dict[int, list[tuple[str, int, int]]] = {}
    if any(end - start > 2 for _w, start, end in words):
        for word, start, end in rjieba.tokenize(value, mode="search"):
            index = owner[start]
            if index >= 0 and owner[end - 1] == index and (start, end) != words[index][1:]:
                parts.setdefault(index, []).append((word, start, end))
    for index, (word, start, end) in enumerate(words):
        yield word, start_pos + index, start, end
        for part, part_start, part_end in parts.get(index, ()):
            yield part, start_pos + index, part_start, part_end


def ChineseAnalyzer() -> Any:
    """rjieba words (and, when indexing, the words inside long words), lower-cased; no stop words removed."""
    return JiebaTokenizer() | LowercaseFilter()
