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


PAGE_BREAK = "\f"  # extraction separates pages with a form feed


def _pattern(terms: list[str]) -> re.Pattern[str]:
    # case-insensitive: the index lowercases, so fy-88123 finds FY-88123 and must mark it as written
    return re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)


def snippet(text: str, terms: list[str], width: int = 120) -> str:
    """About ``width`` characters around the first matched term, HTML-escaped, every term in <mark>.

    Plain string search on the stored text: re-analysing every hit (Whoosh's highlighter) cost more than
    the search itself."""
    text = text.replace(PAGE_BREAK, "\n")
    if not terms:
        return escape(text[:width])
    pattern = _pattern(terms)
    first = pattern.search(text)
    start = max(0, first.start() - width // 4) if first else 0
    window = text[start : start + width]
    out, last = [], 0
    for match in pattern.finditer(window):
        out.append(escape(window[last : match.start()]))
        out.append(f'<mark class="hit">{escape(match.group())}</mark>')
        last = match.end()
    out.append(escape(window[last:]))
    return ("…" if start else "") + "".join(out)


def page_snippet(text: str, terms: list[str], width: int = 120) -> tuple[str, int | None]:
    """The snippet from the page that matched (most of the query's words, the first such page) and that page's
    number; the number is None for text without pages (DOCX, a one-page file) or when no word is in the text."""
    pages = text.split(PAGE_BREAK)
    if len(pages) < 2 or not terms:
        return snippet(text, terms, width), None
    pattern = _pattern(terms)
    best, best_found = 0, 0
    for number, page in enumerate(pages):
        found = len({m.group().lower() for m in pattern.finditer(page)})
        if found > best_found:
            best, best_found = number, found
    if not best_found:
        return snippet(text, terms, width), None
    return snippet(pages[best], terms, width), best + 1
