"""Archive search benchmark: a search backend (Whoosh + rjieba by default, or the PostgreSQL backend) next to
SQLite FTS5 (unicode61) over the same documents pre-segmented by the same segmenter, in one run.

    .venv/bin/python -m bench.archive            # Whoosh, 2,000 documents (a minute or two)
    .venv/bin/python -m bench.archive --full     # 100,000 documents (the issue's size)
    .venv/bin/python -m bench.archive --backend postgres --database-url postgresql+psycopg://postgres@127.0.0.1/bench

Prints indexing docs/s, search p50/p95 over fixed 1-3 word queries and quoted phrases, the ratios to FTS5,
and the peak memory of the indexing process (the bound the reindex command keeps). Above 200,000 documents the
FTS5 reference is measured at 200,000 (``--fts5-documents``; a 2,000,000-document run ran out of time building
it) and the ratio line names the size it was measured at; ``--fts5-documents 0`` leaves it out and says so. The
PostgreSQL run needs a database of its own: it drops and creates that database, creates the search tables there,
and empties the index when it ends; it also says which queries PostgreSQL answers through the GIN index.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import random
import resource
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from archive.interfaces import IndexEntry, SearchBackend, SearchQuery
from archive.samples import chinese_text
from archive.search.analysis import segment
from archive.search.whoosh_backend import WhooshBackend

DOC_TYPES = ["power_supply_contract", "inspection_sheet", "outage_notice", "late_fee_waiver", "new_install_work_order"]
QUERIES = ["合同", "违约金", "停电 检修", "供用电 合同 电费", "计量装置", "欠缴 电费", "用电检查", "竣工 验收"]
FTS5_DEFAULT_CAP = 200_000  # the FTS5 reference's size at most, unless --fts5-documents says otherwise
PHRASES = ['"供用电合同"', '"电费违约金"', '"计量装置封印"', '"一户一档"']


def documents(n: int, seed: int = 11) -> Iterator[IndexEntry]:
    """The same ``n`` documents every time (generated lazily: the corpus is not held in memory)."""
    rng = random.Random(seed)
    for i in range(1, n + 1):
        size = max(500, min(3000, int(rng.gauss(1500, 500))))
        yield (
            IndexEntry(
                document_id=i,
                account_no=f"33010{rng.randint(1, 99999):05d}",
                holder_name=rng.choice(["张伟", "王芳", "杭州明辉纺织有限公司"]),
                unit_path=f"/1/{rng.randint(2, 8)}/",
                doc_type=rng.choice(DOC_TYPES),
                title=f"第{i}号{rng.choice(['供用电合同', '用电检查单', '停电通知单', '违约金减免审批'])}",
                text=chinese_text(rng, size),
                formed_on=dt.date(2015, 1, 1) + dt.timedelta(days=rng.randint(0, 4000)),
                filed_on=dt.date(2026, 1, 1),
                fingerprint="",
            )
        )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _search_latencies(backend: SearchBackend) -> list[float]:
    latencies = []
    for _round in range(3):
        for q in QUERIES + PHRASES:
            t = time.perf_counter()
            backend.search(SearchQuery(q=q, per_page=20, unit_path="/1/"))  # scoped like the staff pages
            latencies.append((time.perf_counter() - t) * 1000)
    return latencies


def _progress(done: int, n: int, checkpoint: int, start: float) -> None:
    """The indexing rate so far, every ``checkpoint`` documents (a long run leaves it for the sizes it reached)."""
    if checkpoint and done % checkpoint == 0 and done < n:
        print(f"  indexed {done} documents, {done / (time.perf_counter() - start):.0f} docs/s", flush=True)


def bench_whoosh(n: int, root: Path, batch: int, checkpoint: int, rebuild: bool) -> dict[str, float]:
    """Index ``n`` documents in batches; every ``checkpoint`` documents print the search latency so far
    (a long run leaves figures for the sizes it reached). ``rebuild``: through ``backend.rebuild()`` as
    ``archive reindex`` does (one writer across batches, a segment per bounded number of postings)."""
    backend = WhooshBackend(root / "whoosh")
    backend.clear()
    index_seconds = 0.0
    done = 0
    docs = documents(n)
    if rebuild:
        start = time.perf_counter()
        with backend.rebuild() as fresh:
            while chunk := list(itertools.islice(docs, batch)):
                fresh.upsert(chunk, replace=False)
                done += len(chunk)
                _progress(done, n, checkpoint, start)
        index_seconds = time.perf_counter() - start
    while True:
        start = time.perf_counter()
        chunk = list(itertools.islice(docs, batch))
        if not chunk:
            break
        backend.upsert(chunk, replace=False)
        index_seconds += time.perf_counter() - start
        done += len(chunk)
        if checkpoint and done % checkpoint == 0 and done < n:
            lat = _search_latencies(backend)
            print(
                f"  at {done} documents: indexing {done / index_seconds:.0f} docs/s, "
                f"search p50 {percentile(lat, 50):.1f} ms, p95 {percentile(lat, 95):.1f} ms",
                flush=True,
            )
    segments = len(backend._searcher().reader().leaf_readers())
    print(f"whoosh: {n} documents in {index_seconds:.1f} s, {segments} segments", flush=True)
    latencies = _search_latencies(backend)
    return {"docs_per_s": n / index_seconds, "p50": percentile(latencies, 50), "p95": percentile(latencies, 95)}


def bench_postgres(n: int, database_url: str, batch: int, rebuild: bool, checkpoint: int = 0) -> dict[str, float]:
    """``n`` documents into the PostgreSQL backend of ``database_url``: through ``rebuild()`` as ``archive reindex``
    writes, or in batches of live upserts as the index tasks do (then tidied, as autovacuum would)."""
    from sqlalchemy import text

    from archive.models import SearchEntry, SearchIndexState
    from archive.search.postgres_backend import PostgresBackend
    from bench._postgres import fresh_database
    from core.db import Base, make_engine

    if database_url.startswith("postgresql"):
        fresh_database(database_url)
    engine = make_engine(database_url)
    if engine.dialect.name != "postgresql":
        raise SystemExit("--database-url must name a PostgreSQL database")
    Base.metadata.create_all(engine, tables=[SearchEntry.__table__, SearchIndexState.__table__])  # type: ignore[list-item]
    with engine.connect() as connection:
        if connection.scalar(text("SELECT count(*) FROM search_entries")):
            raise SystemExit("that database's search index holds documents: give the benchmark a database of its own")
    backend = PostgresBackend(lambda: engine)
    docs = documents(n)
    try:
        start = time.perf_counter()
        done = 0
        with backend.rebuild() if rebuild else contextlib.nullcontext(backend) as writer:
            while chunk := list(itertools.islice(docs, batch)):
                writer.upsert(chunk, replace=False)
                done += len(chunk)
                _progress(done, n, checkpoint, start)
            if rebuild:
                print(f"  written in {time.perf_counter() - start:.1f} s; then the swap and tidy()", flush=True)
        if not rebuild:
            backend.tidy()
        index_seconds = time.perf_counter() - start
        with engine.connect() as connection:
            size = connection.scalar(text("SELECT pg_size_pretty(pg_total_relation_size('search_entries'))"))
        print(f"postgres: {n} documents in {index_seconds:.1f} s, search_entries with its indexes: {size}", flush=True)
        for q in QUERIES + PHRASES:
            plan = backend.explain(SearchQuery(q=q, per_page=20, unit_path="/1/"))
            print(f"  {q:20} {'GIN index' if 'ix_search_entries_terms' in plan else 'sequential scan'}", flush=True)
        latencies = _search_latencies(backend)
    finally:
        with engine.begin() as connection:
            connection.execute(text("TRUNCATE search_entries, search_index_state"))
        engine.dispose()
    return {"docs_per_s": n / index_seconds, "p50": percentile(latencies, 50), "p95": percentile(latencies, 95)}


def _fts_query(q: str) -> str:
    if q.startswith('"'):
        return '"' + " ".join(segment(q.strip('"'))) + '"'
    return " AND ".join(f'"{w}"' for part in q.split() for w in segment(part))


def bench_fts5(n: int, root: Path) -> dict[str, float]:
    conn = sqlite3.connect(root / "fts.db")
    conn.execute("CREATE VIRTUAL TABLE docs USING fts5(title, text, tokenize='unicode61')")
    start = time.perf_counter()
    rows = ((d.document_id, " ".join(segment(d.title)), " ".join(segment(d.text))) for d in documents(n))
    conn.executemany("INSERT INTO docs(rowid, title, text) VALUES (?, ?, ?)", rows)
    conn.commit()
    index_seconds = time.perf_counter() - start
    latencies = []
    for _round in range(3):
        for q in QUERIES + PHRASES:
            t = time.perf_counter()
            conn.execute(
                "SELECT rowid, highlight(docs, 1, '<mark>', '</mark>') FROM docs WHERE docs MATCH ? "
                "ORDER BY rank LIMIT 20",
                (_fts_query(q),),
            ).fetchall()
            conn.execute("SELECT count(*) FROM docs WHERE docs MATCH ?", (_fts_query(q),)).fetchone()
            latencies.append((time.perf_counter() - t) * 1000)
    conn.close()
    return {"docs_per_s": n / index_seconds, "p50": percentile(latencies, 50), "p95": percentile(latencies, 95)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--documents", type=int, default=2000, help="number of documents (default 2000)")
    parser.add_argument("--full", action="store_true", help="the issue's size: 100,000 documents")
    parser.add_argument("--batch", type=int, default=1000, help="documents per index commit")
    parser.add_argument(
        "--checkpoint",
        type=int,
        default=0,
        help="every this many documents: Whoosh live upserts also measure search; the others print the indexing rate",
    )
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="index through rebuild() like `archive reindex` (checkpoints print the indexing rate only)",
    )
    parser.add_argument("--backend", choices=["whoosh", "postgres"], default="whoosh", help="the backend to measure")
    parser.add_argument("--database-url", help="--backend postgres: a PostgreSQL database of the benchmark's own")
    parser.add_argument(
        "--fts5-documents",
        type=int,
        help="documents for the FTS5 reference (default: as many as measured, at most 200,000; 0: leave it out)",
    )
    args = parser.parse_args()
    if args.backend == "postgres" and not args.database_url:
        parser.error("--backend postgres needs --database-url")
    n = 100_000 if args.full else args.documents
    t = time.perf_counter()
    avg = statistics.mean(len(d.text) for d in documents(n))
    print(f"generated {n} documents, {avg:.0f} characters on average, in {time.perf_counter() - t:.1f} s", flush=True)
    with tempfile.TemporaryDirectory(prefix="griddesk-bench-") as tmp:
        root = Path(tmp)
        if args.backend == "postgres":
            measured = bench_postgres(n, args.database_url, args.batch, args.rebuild, args.checkpoint)
        else:
            measured = bench_whoosh(n, root, args.batch, args.checkpoint, args.rebuild)
        rss_mib = (
            max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
        )
        fts_n = min(n, FTS5_DEFAULT_CAP) if args.fts5_documents is None else min(n, args.fts5_documents)
        fts = bench_fts5(fts_n, root) if fts_n > 0 else None
    name = args.backend
    print(f"{'':14} {'index docs/s':>14} {'search p50 ms':>14} {'search p95 ms':>14}")
    rows = [(name, measured)] + ([(f"fts5 ({fts_n})" if fts_n < n else "fts5", fts)] if fts else [])
    for label, r in rows:
        print(f"{label:14} {r['docs_per_s']:14.0f} {r['p50']:14.2f} {r['p95']:14.2f}")
    targets = "(target <= 5x and p95 <= 50 ms; indexing >= 400 docs/s)"
    if fts is None:
        print(f"ratio {name}/fts5: not measured (--fts5-documents 0: no FTS5 reference was built)")
    else:
        against = ""
        if fts_n < n:
            against = f" (FTS5 measured at {fts_n} documents, not {n}: a smaller index, {name}'s worst case)"
        print(
            f"ratio {name}/fts5: indexing {measured['docs_per_s'] / fts['docs_per_s']:.3f}x, "
            f"p95 {measured['p95'] / fts['p95']:.1f}x {targets}{against}"
        )
    print(
        f"peak memory while indexing (largest of this process and its writer processes): {rss_mib:.0f} MiB "
        "(target for reindex < 1024 MiB)"
    )


if __name__ == "__main__":
    main()
