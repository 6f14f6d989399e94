"""Audit benchmark: a full audit run over N accounts with dossiers and planted violations.

Generates N accounts spread over 10 units, each with a dossier of the documents its capacity tier requires
(continuous pages, dates in order, hand-over records), about --violation-rate of them with one planted
violation of a rule; then times, in the same run:
  reference  a plain full scan of every table the rules read (the least any audit could cost),
  full run   every rule over everything, creating the findings (what a supervisor's first run costs),
  rerun      the same again with nothing changed (the steady state: no new findings),
and checks that the findings are exactly the planted ones. Target: 100,000 accounts in at most 60 s.

At a prefecture's size (--prefecture: 1,000,000 accounts, three in four of them households, about 4.4 million
documents) the target is a full run in at most 120 s on PostgreSQL.

Usage: python -m bench.audit [--accounts 10000] [--full | --prefecture] [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import resource
import sys
import tempfile
import time
from typing import Any

from bench._postgres import fresh_database


def _read_all(session: Any, table: str) -> None:
    """Every row of ``table`` into Python. PostgreSQL: through a server-side cursor a slice at a time (a
    prefecture's millions of documents held at once took gigabytes; SQLAlchemy's stream_results still buffered
    them all here)."""
    from sqlalchemy import text

    if session.get_bind().dialect.name != "postgresql":
        session.execute(text(f"SELECT * FROM {table}")).all()
        return
    raw = session.connection().connection.driver_connection
    with raw.cursor(name=f"bench_scan_{table}") as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        while cursor.fetchmany(20_000):
            pass


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--accounts", type=int, default=None, help="default 10,000 (--prefecture: its mix at this size)"
    )
    parser.add_argument("--full", action="store_true", help="the issue's size: 100,000 accounts")
    parser.add_argument(
        "--prefecture", action="store_true", help="1,000,000 accounts in a prefecture's mix of capacities"
    )
    parser.add_argument("--violation-rate", type=float, default=0.1)
    parser.add_argument("--chunk", type=int, default=20_000, help="accounts generated and written at a time")
    parser.add_argument(
        "--database-url", default=None, help="default: a fresh SQLite file (PostgreSQL: dropped and created anew)"
    )
    args = parser.parse_args()
    n = args.accounts or (1_000_000 if args.prefecture else 100_000 if args.full else 10_000)

    workdir = tempfile.mkdtemp(prefix="griddesk-bench-audit-")
    if args.database_url and args.database_url.startswith("postgresql"):
        fresh_database(args.database_url)
    os.environ.setdefault("GRIDDESK_INSTANCE", workdir)
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{workdir}/bench.db"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"

    from sqlalchemy import func, select, text
    from tqdm import tqdm

    from audit import samples
    from audit.execution import execute_run
    from audit.models import AuditRun, Finding
    from audit.rules import MISSING, all_rules
    from core.db import db
    from core.identity import create_unit, ensure_root_unit
    from webapp import create_app
    from webapp.models import load_all

    app = create_app()
    assert db.engine is not None
    metadata = load_all().metadata
    metadata.drop_all(db.engine)
    metadata.create_all(db.engine)
    today = dt.date.today()
    backend = db.engine.dialect.name
    rules = all_rules()

    with app.app_context():
        session = db.new_session()
        root = ensure_root_unit(session)
        units = [create_unit(session, f"U{i:02d}", f"供电所{i:02d}", root.code).code for i in range(10)]
        session.commit()
        t0 = time.perf_counter()
        all_rules()
        has_archive = "audit.rules.filing" not in MISSING
        planted = (samples.FILING_PLANTS if has_archive else ()) + samples.BUSINESS_PLANTS
        capacities = samples.PREFECTURE_CAPACITIES if args.prefecture else samples.CAPACITIES
        # a slice of accounts at a time, generated and written (COPY on PostgreSQL) before the next is made:
        # a prefecture's plan held at once took over 8 GB
        expected: set[tuple[str, str]] = set()
        chunks = samples.plans(
            n, chunk=args.chunk, today=today, units=units, violation_rate=args.violation_rate, rules=planted,
            capacities=capacities,
        )  # fmt: skip
        with tqdm(total=n, desc="generating", unit="account", file=sys.stderr) as bar:
            for plan in chunks:
                expected |= samples.write(session, plan, archive=has_archive)
                session.commit()
                bar.update(len(plan.accounts))
        if backend == "postgresql":
            session.execute(text("ANALYZE"))
            session.commit()
        documents = session.scalar(text("SELECT count(*) FROM documents")) if has_archive else 0
        print(f"backend: {backend}; {n:,} accounts, {documents:,} documents, {len(expected):,} planted violations, "
              f"{len(rules)} rules; generated in {time.perf_counter() - t0:.1f} s, "
              f"peak memory so far {_peak_mib():,.0f} MiB")  # fmt: skip

        tables = ["accounts", "units", "bills", "payments", "payment_applications", "adjustments", "users"]
        if has_archive:
            tables += ["dossiers", "documents", "document_events", "handovers", "dossier_attempts"]
        t0 = time.perf_counter()
        for table in tables:  # every row and column, once: what any audit must at least read
            _read_all(session, table)
        reference = time.perf_counter() - t0
        print(f"reference scan done; peak memory so far {_peak_mib():,.0f} MiB")
        session.rollback()

        timings = []
        for label in ("full run", "rerun"):
            run = AuditRun(kind="full", rules_total=len(rules))
            session.add(run)
            session.commit()
            per_rule: list[float] = []
            with tqdm(total=len(rules), desc=label, unit="rule", file=sys.stderr) as bar:

                def tick(_run: AuditRun, ends: list[float] = per_rule, bar: Any = bar) -> None:
                    ends.append(time.perf_counter())
                    bar.update(1)

                t0 = time.perf_counter()
                done = execute_run(session, run.id, today=today, progress=tick)
                timings.append(time.perf_counter() - t0)
            print(f"{label:<10} {timings[-1]:7.2f} s  new {done.findings_new:,}  problems {done.problems_seen:,}")
            ends = [t0, *per_rule]
            slowest = sorted(
                zip(rules, (b - a for a, b in itertools.pairwise(ends)), strict=False), key=lambda p: -p[1]
            )
            print("  slowest rules: " + ", ".join(f"{r.code} {s:.2f} s" for r, s in slowest[:5]))

        found = {(r, s) for r, s in session.execute(select(Finding.rule, Finding.subject))}
        assert found == expected, f"findings differ from the planted violations: {len(found ^ expected)}"
        open_count = session.scalar(select(func.count()).select_from(Finding))
        print(f"reference  {reference:7.2f} s  (plain full scan of {', '.join(tables)})")
        print(f"full run / reference: {timings[0] / reference:.1f}x; rerun / reference: {timings[1] / reference:.1f}x")
        rate = n / timings[0]
        print(f"full run: {rate:,.0f} accounts/s -> 100,000 accounts in {100_000 / rate:.1f} s (target <= 60 s); "
              f"findings: {open_count:,}, exactly the planted ones")  # fmt: skip
        print(f"peak memory of this process (generation included): {_peak_mib():,.0f} MiB")
        session.close()


if __name__ == "__main__":
    main()
