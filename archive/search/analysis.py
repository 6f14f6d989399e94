"""Chinese analysis for Whoosh: rjieba words with ordinal positions and character offsets.

jieba's stock ``ChineseAnalyzer`` puts character offsets into ``pos``, so a phrase like "供用电合同"
(tokens 供用电, 合同 at 4 and 7) never looks adjacent and phrase queries find nothing. Here ``pos`` counts
tokens, so phrases match, and ``startchar``/``endchar`` carry the offsets that highlighting needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import rjieba
from whoosh.analysis import Composable, LowercaseFilter, StopFilter, Token, Tokenizer

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
            token.original = token.text = value
            token.boost = 1.0
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar = start_char
                token.endchar = start_char + len(value)
            yield token
            return
        pos = start_pos
        for word, start, end in rjieba.tokenize(value):
            if not word.strip() or all(c in _SKIP for c in word):
                continue
            token.text = word
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = word
            if positions:
                token.pos = pos
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            pos += 1
            yield token


def ChineseAnalyzer() -> Composable:  # noqa: N802  (named like Whoosh's analyzers)
    """rjieba words, lower-cased (Latin letters in document numbers), no stop words removed."""
    return JiebaTokenizer() | LowercaseFilter() | StopFilter(stoplist=frozenset(), minsize=1)
