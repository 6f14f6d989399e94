"""The shared search backend: PostgreSQL full text over our own rjieba tokens (``SEARCH_BACKEND=postgres``).

Every web and worker node that shares the database shares the index. PostgreSQL's own text parser does not
segment Chinese, so it never sees the text: ``terms`` is a tsvector built from the tokens of ``analysis`` (the
Whoosh backend's: rjieba words, lower-cased, and the dictionary words inside a long word at that word's position),
written as a tsvector literal, which is what the ``simple`` configuration would store for these lexemes (no
stemming, no stop words). Queries are parsed by the same parser as the Whoosh backend (its ``MultifieldParser``
over the same analyzer) and written as a tsquery literal from those tokens: words are lexemes, a quoted phrase is
a chain of ``<->``. Highlights come from the stored original text (``highlight.snippet``, the Whoosh backend's).

Weights tell the fields apart: whole words of the title are A, of the holder's name B, of the text D; the words
inside a long word are C, so a phrase (whose lexemes must be A, B or D) matches whole words only, exactly like the
Whoosh backend's shingles, while a bare word also finds the longer words it is part of. The fields follow one
another in position order with a gap, so no phrase runs from one field into the next.

Ranking is ``ts_rank_cd`` with the title counting twice the text (Whoosh's field boost), ties broken by document id;
a search without words lists the newest first. A search with words ranks the first ``rank_candidates`` (2,000)
matches the index yields, not every match: at 2,000,000 documents a common word matches nearly all of them, and
ranking them all read every row (1.7 GB of pages at 200,000 documents, seconds a query). Up to that many matches
the ranking and the total are exact; beyond it the total is PostgreSQL's estimate from its statistics of the
lexemes (``ANALYZE``; ``tidy`` runs it) and pages stop at the candidates.

Rows belong to a generation (``search_index_state`` names the live one), so that a rebuild writes a generation
nobody searches yet and swaps it in with one committed update. Writers of the live generation hold the state row
``FOR SHARE`` until their transaction ends: a swap waits for them, and a writer after the swap writes the new
generation, so nothing written during a rebuild lands in a generation that is about to be dropped unseen (the
catch-up after the swap compares fingerprints as for Whoosh).

Limits of PostgreSQL's tsvector: positions stop at 16,383 (a phrase further into a very long document is not
found; its words are) and only the first 256 positions of a word are kept (a phrase at a later occurrence of a very
frequent word is not found); lexemes longer than 2,046 bytes are not indexed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session
from whoosh.fields import ID, TEXT, Schema
from whoosh.qparser import MultifieldParser, QueryParser
from whoosh.query import And, AndNot, Every, Not, NullQuery, Or, Phrase, Prefix, Query, Term

from core.db import copy_stream
from core.errors import DomainError

from ..interfaces import IndexEntry, SearchHit, SearchQuery, SearchResult
from .analysis import ChineseAnalyzer, words_with_parts
from .highlight import highlight_terms, page_snippet, snippet

log = logging.getLogger(__name__)

FIELD_WEIGHTS = {"title": "A", "holder_name": "B", "text": "D"}
PART_WEIGHT = "C"
WHOLE_WORDS = "ABD"
SEARCHED_FIELDS = ("title", "text", "holder_name")
# ts_rank_cd's weights in the order D, C, B, A: a title word counts twice a word of the text or the holder's name
RANK_WEIGHTS = "{0.1, 0.1, 0.1, 0.2}"
MAX_POSITION = 16383
MAX_POSITIONS_PER_WORD = 256
MAX_LEXEME_BYTES = 2046

_COLUMNS = (
    "generation",
    "document_id",
    "account_no",
    "holder_name",
    "unit_path",
    "doc_type",
    "title",
    "text",
    "formed_on",
    "filed_on",
    "fingerprint",
)


# --- the tsvector ----------------------------------------------------------------------------------------------


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


@lru_cache(maxsize=262144)
def _lexeme(word: str) -> str | None:
    """The quoted lexeme of a word, None for one too long to index (a rebuild quotes the same words millions of
    times)."""
    return _quote(word) if len(word.encode()) <= MAX_LEXEME_BYTES else None


# "1A", "2A", ... for every position and weight (D is written without a letter): a posting is a list look-up
_LABELS = {weight: [f"{p}{weight}" for p in range(MAX_POSITION + 1)] for weight in ("A", "B", "C", "")}


def _labels(weight: str, start: int, count: int) -> list[str]:
    """The labels of ``count`` positions from ``start`` (positions past the last one stay on it)."""
    table = _LABELS[weight]
    labels = table[start : start + count]
    return labels + [table[MAX_POSITION]] * (count - len(labels))


def terms_of(entry: IndexEntry) -> str:
    """The tsvector literal of an entry: title (A), holder's name (B) and text (D) words at their positions, the
    words inside long words (C) at the long word's position."""
    positions: dict[str, list[str]] = {}
    start = 1
    for value, weight in ((entry.title, "A"), (entry.holder_name, "B"), (entry.text, "")):
        words = words_with_parts(value)
        part_labels: list[str] | None = None
        for offset, ((word, parts), label) in enumerate(zip(words, _labels(weight, start, len(words)), strict=True)):
            found = positions.get(word)
            if found is None:
                positions[word] = [label]
            else:
                found.append(label)
            if parts:
                if part_labels is None:
                    part_labels = _labels(PART_WEIGHT, start, len(words))
                for part in parts:
                    found = positions.get(part)
                    if found is None:
                        positions[part] = [part_labels[offset]]
                    else:
                        found.append(part_labels[offset])
        start += len(words) + 1  # a gap: a phrase never joins the end of one field to the start of the next
    out = []
    for word, found in positions.items():
        lexeme = _lexeme(word)
        if lexeme is not None:
            kept = found if len(found) <= MAX_POSITIONS_PER_WORD else found[:MAX_POSITIONS_PER_WORD]
            out.append(lexeme + ":" + ",".join(kept))
    return " ".join(out)


# --- the tsquery -----------------------------------------------------------------------------------------------


def _parser() -> QueryParser:
    """The Whoosh backend's parser over the same fields (the plain-value fields too, so that a query naming one
    is refused rather than read as words)."""
    analyzer = ChineseAnalyzer()
    schema = Schema(
        **{name: TEXT(analyzer=analyzer, phrase=False) for name in SEARCHED_FIELDS},
        **{name: ID() for name in ("document_id", "account_no", "unit_path", "doc_type", "formed_on", "filed_on")},
    )
    return MultifieldParser(list(SEARCHED_FIELDS), schema)


def _bad_query(detail: str) -> DomainError:
    log.info("search refused: %s", detail)
    return DomainError("bad_query")


def _field_of(node: Query) -> str | None:
    """The one field every leaf of ``node`` searches, or None when there are several (or none)."""
    if isinstance(node, Term | Prefix | Phrase):
        return str(node.fieldname)
    children = [node.a, node.b] if isinstance(node, AndNot) else list(node.children())
    fields = {_field_of(child) for child in children}
    return fields.pop() if len(fields) == 1 else None


def _shape(node: Query) -> Any:
    """``node`` without its field names: the parser repeats one shape once per searched field."""
    if isinstance(node, Term | Prefix):
        return (type(node).__name__, node.text)
    if isinstance(node, Phrase):
        return ("Phrase", tuple(node.words), node.slop)
    if isinstance(node, AndNot):
        return ("AndNot", _shape(node.a), _shape(node.b))
    return (type(node).__name__, tuple(_shape(child) for child in node.children()))


def _word(value: Any) -> str:
    return str(value if isinstance(value, str) else value.decode())


def _tsquery(node: Query, any_field: bool) -> str:
    """The tsquery of a parsed query. ``any_field``: the parser's copies for every searched field were merged, so
    a word may stand in any field (and inside a longer word); otherwise each leaf keeps to its field's whole words."""
    if isinstance(node, Term | Prefix | Phrase) and node.fieldname not in FIELD_WEIGHTS:
        raise _bad_query(f"the field {node.fieldname} is not searchable here")
    if isinstance(node, Term):
        return _quote(_word(node.text)) + ("" if any_field else f":{FIELD_WEIGHTS[node.fieldname]}")
    if isinstance(node, Prefix):
        return _quote(_word(node.text)) + ":*" + ("" if any_field else FIELD_WEIGHTS[node.fieldname])
    if isinstance(node, Phrase):
        words = [_word(w) for w in node.words]
        if len(words) == 1 or node.slop != 1:  # a phrase with slop matches all its words, as on Whoosh
            return "(" + " & ".join(_tsquery(Term(node.fieldname, w), any_field) for w in words) + ")"
        weight = WHOLE_WORDS if any_field else FIELD_WEIGHTS[node.fieldname]
        return "(" + " <-> ".join(f"{_quote(w)}:{weight}" for w in words) + ")"
    if isinstance(node, Not):
        return f"!{_tsquery(node.query, any_field)}"
    if isinstance(node, AndNot):
        return f"({_tsquery(node.a, any_field)} & !{_tsquery(node.b, any_field)})"
    if isinstance(node, And):
        return "(" + " & ".join(_tsquery(child, any_field) for child in node.children()) + ")"
    if isinstance(node, Or):
        return "(" + " | ".join(_or_parts(node, any_field)) + ")"
    raise _bad_query(f"{type(node).__name__} queries are not supported by the PostgreSQL search backend")


def _or_parts(node: Or, any_field: bool) -> list[str]:
    """The alternatives of an Or, where the copies of one alternative for each searched field become one."""
    groups: dict[Any, list[Query]] = {}
    for child in node.children():
        groups.setdefault(_shape(child), []).append(child)
    parts = []
    for members in groups.values():
        fields = [_field_of(member) for member in members]
        if not any_field and sorted(f or "" for f in fields) == sorted(SEARCHED_FIELDS):
            parts.append(_tsquery(members[0], any_field=True))
        else:
            parts.extend(_tsquery(member, any_field) for member in members)
    return parts


# --- the backend -----------------------------------------------------------------------------------------------


def _default_engine() -> Engine:
    from core.db import db

    if db.engine is None:
        raise RuntimeError("the database is not initialised")
    return db.engine


class PostgresBackend:
    """Search entries in ``search_entries`` of the application's PostgreSQL database (see the module's text)."""

    rank_candidates = 2000  # matches ranked per search with words (the module's text)

    def __init__(self, engine: Callable[[], Engine] | None = None, *, _generation: int | None = None):
        self._engine = engine or _default_engine
        self._generation = _generation  # set on the writer of a rebuild: it writes there and only there
        self._parser = _parser()

    def check(self) -> None:
        """Refuse a database other than PostgreSQL at start-up rather than at the first search."""
        name = self._engine().dialect.name
        if name != "postgresql":
            raise ValueError(f"SEARCH_BACKEND=postgres needs a PostgreSQL DATABASE_URL (this one is {name})")

    # --- connections and generations ------------------------------------------------------------------

    @contextlib.contextmanager
    def _writing(self, session: Session | None) -> Iterator[Connection]:
        """The caller's transaction (``session``: the index row commits or rolls back with it) or our own."""
        if session is not None:
            yield session.connection()
            return
        with self._engine().begin() as connection:
            yield connection

    @staticmethod
    def _live_for_writing(connection: Connection) -> int:
        """The live generation, with the state row held FOR SHARE until the transaction ends (a swap waits)."""
        statement = text("SELECT live_generation FROM search_index_state WHERE id = 1 FOR SHARE")
        live = connection.scalar(statement)
        if live is None:
            connection.execute(
                text(
                    "INSERT INTO search_index_state (id, live_generation, last_generation) VALUES (1, 0, 0)"
                    " ON CONFLICT (id) DO NOTHING"
                )
            )
            live = connection.scalar(statement)
        return int(live)

    _LIVE = "(SELECT coalesce(max(live_generation), 0) FROM search_index_state)"

    def _generation_sql(self) -> tuple[str, dict[str, Any]]:
        if self._generation is not None:
            return ":generation", {"generation": self._generation}
        return self._LIVE, {}

    @contextlib.contextmanager
    def rebuild(self) -> Iterator[PostgresBackend]:
        """A writer into a fresh generation; on a clean exit it becomes the live one in one committed update."""
        if self._generation is not None:
            raise RuntimeError("a rebuild cannot be nested")
        with self._engine().begin() as connection:
            generation = int(
                connection.scalar(
                    text(
                        "INSERT INTO search_index_state AS s (id, live_generation, last_generation) VALUES (1, 0, 1)"
                        " ON CONFLICT (id) DO UPDATE"
                        " SET last_generation = greatest(s.last_generation, s.live_generation) + 1"
                        " RETURNING last_generation"
                    )
                )
            )
        builder = PostgresBackend(self._engine, _generation=generation)
        try:
            yield builder
        except BaseException:
            self._drop("generation = :g", generation)
            raise
        with self._engine().begin() as connection:
            swapped = connection.scalar(
                text(
                    "UPDATE search_index_state SET live_generation = :g WHERE id = 1 AND live_generation < :g"
                    " RETURNING live_generation"
                ),
                {"g": generation},
            )
        if swapped is None:  # a rebuild started later has swapped in meanwhile: it is as fresh as ours
            self._drop("generation = :g", generation)
        else:
            self._drop("generation < :g", generation)
            self.tidy()

    def tidy(self) -> None:
        """Move the GIN index's pending entries into the index proper and refresh the planner's statistics.

        Bulk writes go to the GIN index's pending list first (``fastupdate``: a rebuild writes twice as fast), which
        every search must then scan and which makes the planner shy of the index until autovacuum tidies it; a
        rebuild does this at once."""
        with self._engine().begin() as connection:
            connection.execute(text("SELECT gin_clean_pending_list('ix_search_entries_terms'::regclass)"))
            connection.execute(text("ANALYZE search_entries"))

    def _drop(self, condition: str, generation: int) -> None:
        with self._engine().begin() as connection:
            connection.execute(text(f"DELETE FROM search_entries WHERE {condition}"), {"g": generation})

    # --- SearchBackend: writing ---------------------------------------------------------------------------

    def upsert(self, entries: Iterable[IndexEntry], *, replace: bool = True, session: Session | None = None) -> int:
        """Write entries; given the caller's ``session``, inside its transaction. New entries (``replace=False``)
        go in by ``COPY``; like the INSERT, it fails on an entry the generation holds already."""
        batch = list(entries)
        if not batch:
            return 0
        with self._writing(session) as connection:
            generation = self._generation if self._generation is not None else self._live_for_writing(connection)
            if self._generation is not None and session is None:  # a rebuild's own transaction
                self._bulk_settings(connection)
            rows = _rows(generation, batch)
            if not replace:
                copy_stream(connection, "search_entries", (*_COLUMNS, "terms"), rows)
                return len(batch)
            names = ", ".join(_COLUMNS)
            values = ", ".join(f":{name}" for name in _COLUMNS)
            updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in (*_COLUMNS[2:], "terms"))
            statement = (
                f"INSERT INTO search_entries ({names}, terms) VALUES ({values}, CAST(:terms AS tsvector))"
                f" ON CONFLICT (generation, document_id) DO UPDATE SET {updates}"
            )
            connection.execute(text(statement), [dict(zip((*_COLUMNS, "terms"), row, strict=True)) for row in rows])
        return len(batch)

    @staticmethod
    def _bulk_settings(connection: Connection) -> None:
        """A rebuild's transaction does not wait for the disk at its commit: the swap's commit does, and that flushes
        everything written before it. The GIN pending list keeps its default size: a 64 MB list made each search of
        the live generation through the index scan it (182 ms instead of 4 ms at 20,000 documents)."""
        connection.execute(text("SELECT set_config('synchronous_commit', 'off', true)"))

    def delete(self, document_ids: Iterable[int], *, session: Session | None = None) -> None:
        """Remove documents from the index (the live generation and one being rebuilt alike)."""
        ids = [int(i) for i in document_ids]
        if not ids:
            return
        where, params = "", {}
        if self._generation is not None:  # a rebuild's writer: its own generation only
            where, params = "generation = :generation AND ", {"generation": self._generation}
        with self._writing(session) as connection:
            connection.execute(
                text(f"DELETE FROM search_entries WHERE {where}document_id = ANY(:ids)"), {"ids": ids, **params}
            )

    def clear(self) -> None:
        with self.rebuild():
            pass

    # --- SearchBackend: reading ---------------------------------------------------------------------------

    def fingerprints(self) -> Iterator[tuple[int, str]]:
        generation, params = self._generation_sql()
        with self._engine().connect() as connection:
            rows = connection.execution_options(stream_results=True, yield_per=10_000).execute(
                text(f"SELECT document_id, fingerprint FROM search_entries WHERE generation = {generation}"), params
            )
            for document_id, fingerprint in rows:
                yield int(document_id), str(fingerprint)

    def health(self) -> dict[str, object]:
        """The planner's row estimate (a count of millions of rows would make every health check slow); an exact
        count while the table has never been analysed."""
        with self._engine().connect() as connection:
            estimate = connection.scalar(text("SELECT reltuples FROM pg_class WHERE oid = 'search_entries'::regclass"))
            if estimate is None or estimate < 0:
                estimate = connection.scalar(text("SELECT count(*) FROM search_entries"))
        return {"ok": True, "backend": "postgres", "documents_estimate": int(estimate or 0)}

    def tsquery(self, q: str) -> tuple[str | None, list[str]]:
        """The tsquery literal of the search text (None: no words, list everything; "": nothing can match) and the
        words to highlight."""
        parsed = self._parser.parse(q)
        if isinstance(parsed, Every):
            return None, []
        if parsed is NullQuery:  # only punctuation
            return "", []
        return _tsquery(parsed, any_field=False), highlight_terms(parsed)

    def _statement(self, query: SearchQuery) -> tuple[str, str, dict[str, Any], list[str]] | None:
        """(the page's SQL, the condition alone, parameters, words to highlight); None when nothing can match."""
        words = query.q.strip()
        tsquery, terms = self.tsquery(words) if words else (None, [])
        if tsquery == "":
            return None
        generation, params = self._generation_sql()
        conditions = [f"generation = {generation}"]
        if tsquery is not None:
            conditions.append("terms @@ CAST(:q AS tsquery)")
            params["q"] = tsquery
        if query.doc_type:
            conditions.append("doc_type = :doc_type")
            params["doc_type"] = query.doc_type
        if query.account_no:
            conditions.append("account_no = :account_no")
            params["account_no"] = query.account_no
        if query.unit_path:
            conditions.append("unit_path LIKE :unit_prefix ESCAPE '\\'")
            escaped = query.unit_path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params["unit_prefix"] = escaped + "%"
        if query.date_from:
            conditions.append("formed_on >= :date_from")
            params["date_from"] = query.date_from
        if query.date_to:
            conditions.append("formed_on <= :date_to")
            params["date_to"] = query.date_to
        if tsquery is not None:
            score = "ts_rank_cd(CAST(:weights AS float4[]), terms, CAST(:q AS tsquery))"
            params["weights"] = RANK_WEIGHTS
            order, outer_order = "score DESC, document_id", "p.score DESC, p.document_id"
        else:
            score = "0.0"
            order, outer_order = "formed_on DESC, document_id DESC", "p.formed_on DESC, p.document_id DESC"
        where = " AND ".join(conditions)
        per_page = max(1, query.per_page)
        params.update(limit=per_page, offset=(max(query.page, 1) - 1) * per_page)
        # the score is computed in a fenced subquery (OFFSET 0): the window that counts the matches then holds three
        # narrow columns per match instead of each match's tsvector (which spilled to disk at 20,000 matches).
        # With words, only the first ``rank_candidates`` matches are ranked (see ``search``).
        matches = f"search_entries WHERE {where}"
        if tsquery is not None:
            matches = f"(SELECT * FROM search_entries WHERE {where} LIMIT :candidates) AS candidates"
            params["candidates"] = self.rank_candidates
        statement = (
            "SELECT e.document_id, e.account_no, e.title, e.doc_type, e.formed_on, e.text, p.score, p.total"
            " FROM (SELECT generation, document_id, score, formed_on, count(*) OVER () AS total"
            f" FROM (SELECT generation, document_id, formed_on, {score} AS score FROM {matches}"
            f" OFFSET 0) AS matched ORDER BY {order} LIMIT :limit OFFSET :offset) AS p"
            f" JOIN search_entries AS e USING (generation, document_id) ORDER BY {outer_order}"
        )
        return statement, where, params, terms

    def _estimate(self, connection: Connection, where: str, params: dict[str, Any]) -> int:
        """The planner's estimate of the rows matching ``where`` (its statistics of the lexemes; no scan)."""
        plan = connection.scalar(text(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM search_entries WHERE {where}"), params)
        if isinstance(plan, str):
            plan = json.loads(plan)
        return int(plan[0]["Plan"]["Plan Rows"])

    def search(self, query: SearchQuery) -> SearchResult:
        planned = self._statement(query)
        if planned is None:
            return SearchResult()
        statement, where, params, terms = planned
        capped = "candidates" in params
        with self._engine().connect() as connection:
            rows = connection.execute(text(statement), params).all()
            if rows:
                total = int(rows[0].total)
            else:  # a page past the end: count on its own (at most as far as the candidates go)
                counted = f"SELECT 1 FROM search_entries WHERE {where}" + (" LIMIT :candidates" if capped else "")
                total = int(connection.scalar(text(f"SELECT count(*) FROM ({counted}) AS m"), params) or 0)
            if capped and total >= self.rank_candidates:
                # more matches than were ranked: the total is the planner's estimate, never below what was seen
                total = max(total, self._estimate(connection, where, params))
        items = []
        for row in rows:
            highlight, page = page_snippet(row.text, terms)
            items.append(
                SearchHit(
                    document_id=int(row.document_id),
                    account_no=row.account_no,
                    title=row.title,
                    doc_type=row.doc_type,
                    formed_on=_date(row.formed_on),
                    score=float(row.score),
                    highlight=highlight or snippet(row.title, terms),
                    page=page,
                )
            )
        return SearchResult(items=items, total=total)

    def explain(self, query: SearchQuery, *, analyze: bool = False) -> str:
        """PostgreSQL's plan for the search (benchmarks and tests check that it uses the GIN index)."""
        planned = self._statement(query)
        if planned is None:
            return ""
        statement, _where, params, _terms = planned
        with self._engine().connect() as connection:
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN "
            return "\n".join(connection.execute(text(prefix + statement), params).scalars())


def _rows(generation: int, entries: list[IndexEntry]) -> Iterator[tuple[Any, ...]]:
    """The rows of ``entries`` in ``_COLUMNS`` order and then ``terms``, each made when it is asked for."""
    for entry in entries:
        yield (
            generation,
            entry.document_id,
            entry.account_no,
            entry.holder_name,
            entry.unit_path,
            entry.doc_type,
            entry.title,
            entry.text,
            entry.formed_on,
            entry.filed_on,
            entry.fingerprint,
            terms_of(entry),
        )


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
