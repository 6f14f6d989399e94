"""Highlights shared by the search backends: the words a query looks for, marked in the stored original text."""

from __future__ import annotations

import re
from html import escape
from typing import Any


def highlight_terms(query: Any) -> list[str]:
    """The words of a parsed (Whoosh) query in the title and text fields, longest first."""
    return sorted(
        {str(t if isinstance(t, str) else t.decode()) for f, t in query.all_terms() if f in ("text", "title")},
        key=len,
        reverse=True,
    )


def snippet(text: str, terms: list[str], width: int = 120) -> str:
    """About ``width`` characters around the first matched term, HTML-escaped, every term in <mark>.

    Plain string search on the stored text: re-analysing every hit (Whoosh's highlighter) cost more than
    the search itself."""
    found = [i for i in (text.find(t) for t in terms) if i >= 0]
    start = max(0, min(found) - width // 4) if found else 0
    window = text[start : start + width]
    if not terms:
        return escape(window)
    pattern = re.compile("|".join(re.escape(t) for t in terms))
    out, last = [], 0
    for match in pattern.finditer(window):
        out.append(escape(window[last : match.start()]))
        out.append(f'<mark class="hit">{escape(match.group())}</mark>')
        last = match.end()
    out.append(escape(window[last:]))
    return ("…" if start else "") + "".join(out)
