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
import os
import resource
import sys
import tempfile
import time

from bench._postgres import fresh_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--full", action="store_true", help="the issue's size: 100,000 accounts")
    parser.add_argument(
        "--prefecture", action="store_true", help="1,000,000 accounts in a prefecture's mix of capacities"
    )
    parser.add_argument("--violation-rate", type=float, default=0.1)
    parser.add_argument(
        "--database-url", default=None, help="default: a fresh SQLite file (PostgreSQL: dropped and created anew)"
    )
    args = parser.parse_args()
    n = 1_000_000 if args.prefecture else 100_000 if args.full else args.accounts

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
        plan = samples.plan(
            n, today=today, units=units, violation_rate=args.violation_rate, rules=planted, capacities=capacities
        )
        expected = samples.write(session, plan, archive=has_archive)
        session.commit()
        if backend == "postgresql":
            session.execute(text("ANALYZE"))
            session.commit()
        documents = session.scalar(text("SELECT count(*) FROM documents")) if has_archive else 0
        print(f"backend: {backend}; {n:,} accounts, {documents:,} documents, {len(expected):,} planted violations, "
              f"{len(rules)} rules; generated in {time.perf_counter() - t0:.1f} s")  # fmt: skip

        tables = ["accounts", "units", "bills", "payments", "payment_applications", "adjustments", "users"]
        if has_archive:
            tables += ["dossiers", "documents", "document_events", "handovers", "dossier_attempts"]
        t0 = time.perf_counter()
        for table in tables:  # every row and column, once: what any audit must at least read
            session.execute(text(f"SELECT * FROM {table}")).all()
        reference = time.perf_counter() - t0
        session.rollback()

        timings = []
        for label in ("full run", "rerun"):
            run = AuditRun(kind="full", rules_total=len(rules))
            session.add(run)
            session.commit()
            with tqdm(total=len(rules), desc=label, unit="rule", file=sys.stderr) as bar:
                t0 = time.perf_counter()
                done = execute_run(session, run.id, today=today, progress=lambda _r: bar.update(1))
                timings.append(time.perf_counter() - t0)
            print(f"{label:<10} {timings[-1]:7.2f} s  new {done.findings_new:,}  problems {done.problems_seen:,}")

        found = {(r, s) for r, s in session.execute(select(Finding.rule, Finding.subject))}
        assert found == expected, f"findings differ from the planted violations: {len(found ^ expected)}"
        open_count = session.scalar(select(func.count()).select_from(Finding))
        print(f"reference  {reference:7.2f} s  (plain full scan of {', '.join(tables)})")
        print(f"full run / reference: {timings[0] / reference:.1f}x; rerun / reference: {timings[1] / reference:.1f}x")
        rate = n / timings[0]
        print(f"full run: {rate:,.0f} accounts/s -> 100,000 accounts in {100_000 / rate:.1f} s (target <= 60 s); "
              f"findings: {open_count:,}, exactly the planted ones")  # fmt: skip
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory of this process (generation included): {peak_mib:,.0f} MiB")
        session.close()


if __name__ == "__main__":
    main()
