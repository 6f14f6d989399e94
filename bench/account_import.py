"""Accounts import benchmark: ``griddesk accounts import`` on generated rows next to a COPY of the same rows.

Generates a CSV of ``--accounts`` accounts (each with a last reading) for the demo units and tariffs, then runs the
import as the command does (read and validate the whole file, then write in batches with one trail event each), and
reports validation and writing apart. Reference in the same run: the same final rows (account columns with unit ids
and ID hashes, then the readings) sent by ``COPY ... FROM STDIN`` into tables made ``LIKE`` the real ones (same
indexes and constraints): what the database itself needs to take them in. A re-run of the import (every account
present, nothing written) is timed too. PostgreSQL only (the database is emptied).
Usage: python -m bench.account_import [--accounts 100000] [--batch 5000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import tempfile
import time
from pathlib import Path

from bench._postgres import fresh_database

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/gd_import_bench"
CATEGORY_TARIFFS = {"residential": "ZJ-RES-TIER", "general": "ZJ-GEN-FLAT", "large_industrial": "ZJ-LI-TOU"}


def _generate(path: Path, count: int, units: list[str]) -> None:
    from billing.account_import import COLUMNS

    categories = list(CATEGORY_TARIFFS)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([name for name in COLUMNS if name not in ("lat", "lon")])
        for n in range(count):
            category = categories[n % 7 % len(categories)]
            writer.writerow(
                [
                    f"77{n:08d}",
                    f"用户{n}",
                    f"{n % 10000:04d}",
                    f"浙江省杭州市测试路{n}号",
                    category,
                    "8" if category == "residential" else "315",
                    CATEGORY_TARIFFS[category],
                    units[n % len(units)],
                    "2018-06-01",
                    "1" if category == "residential" else "40",
                    "2026-05",
                    str(1000 + n % 5000),
                ]
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--database-url", default=DEFAULT_URL, help=f"emptied and loaded (default {DEFAULT_URL})")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="griddesk-bench-import-")
    os.environ.setdefault("GRIDDESK_INSTANCE", workdir)
    fresh_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"

    from sqlalchemy import select, text

    from bench.billing import python_loop_ms
    from billing.account_import import _ACCOUNT_COLUMNS, read_rows, validate, write
    from billing.models import Account
    from core.db import db
    from core.identity import Unit
    from webapp import create_app
    from webapp.models import load_all

    print(
        f"this machine: a fixed Python loop takes {python_loop_ms():.0f} ms (best of 5); "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    app = create_app()
    assert db.engine is not None and db.engine.dialect.name == "postgresql", "PostgreSQL only"
    with db.engine.begin() as conn:  # what a run that failed half-way left behind
        conn.execute(text("DROP TABLE IF EXISTS bench_accounts, bench_readings"))
    load_all().metadata.drop_all(db.engine)
    load_all().metadata.create_all(db.engine)
    for hook in app.extensions.get("griddesk_schema_hooks", []):
        hook(db.engine)
    with app.app_context():
        from billing.demo_billing import ZJ_TARIFFS, load_tariffs
        from core.demo import seed_units_and_users

        with db.transaction() as session:
            seed_units_and_users(session)
            load_tariffs(session, ZJ_TARIFFS)
        with db.transaction() as session:
            units = sorted(session.scalars(select(Unit.code).where(Unit.parent_id.is_not(None))))
    path = Path(workdir, "accounts.csv")
    _generate(path, args.accounts, units)
    key = str(app.config["ID_HASH_KEY"])
    print(f"{args.accounts:,} accounts in {path.stat().st_size / 1e6:.0f} MB of CSV; batches of {args.batch}")

    with app.app_context():
        started = time.perf_counter()
        with db.transaction() as session:
            plan = validate(session, read_rows(path), id_hash_key=key)
        validated = time.perf_counter() - started
        assert not plan.bad, list(plan.bad.items())[:3]
        started = time.perf_counter()
        written = write(db.transaction, plan, actor_id=None, source="bench", batch=args.batch)
        writing = time.perf_counter() - started
        assert written == args.accounts
        started = time.perf_counter()
        with db.transaction() as session:
            again = validate(session, read_rows(path), id_hash_key=key)
        rerun = time.perf_counter() - started
        assert again.present == args.accounts and not again.good

        # the reference: the same final rows by COPY into tables like the real ones
        with db.transaction() as session:
            ids = {n: i for n, i in session.execute(select(Account.account_no, Account.id))}
        accounts_csv, readings_csv = io.StringIO(), io.StringIO()
        accounts_out, readings_out = csv.writer(accounts_csv), csv.writer(readings_csv)
        for row in plan.good:
            account_id = ids[row.account_no]
            accounts_out.writerow([account_id, *row.values, "2026-12-07 00:00:00+00"])
            assert row.reading is not None
            readings_out.writerow([account_id, *row.reading, "2026-12-07 00:00:00+00", "passed", "[]", ""])
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS bench_accounts, bench_readings"))
            conn.execute(text("CREATE TABLE bench_accounts (LIKE accounts INCLUDING ALL)"))
            conn.execute(text("CREATE TABLE bench_readings (LIKE meter_readings INCLUDING ALL)"))
        started = time.perf_counter()
        with db.engine.begin() as conn:
            raw = conn.connection.driver_connection
            names = ", ".join(("id", *_ACCOUNT_COLUMNS))
            with raw.cursor() as cursor:
                with cursor.copy(f"COPY bench_accounts ({names}) FROM STDIN (FORMAT csv)") as copy:
                    copy.write(accounts_csv.getvalue())
                with cursor.copy(
                    "COPY bench_readings (account_id, period, reading, recorded_at, status, checks, review_note)"
                    " FROM STDIN (FORMAT csv, FORCE_NOT_NULL (review_note))"
                ) as copy:
                    copy.write(readings_csv.getvalue())
        copying = time.perf_counter() - started
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE bench_accounts, bench_readings"))

    total = validated + writing
    print(
        f"import: validate {validated:.1f} s, write {writing:.1f} s, in all {total:.1f} s "
        f"({args.accounts / total:,.0f} accounts/s)"
    )
    print(f"re-run (all present, nothing written): {rerun:.1f} s")
    print(f"COPY of the same rows (reference): {copying:.1f} s ({args.accounts / copying:,.0f} accounts/s)")
    print(f"ratio (COPY time / import time): {copying / total:.2f}; write alone {copying / writing:.2f}")
    print(f"projected for 1,000,000 accounts at this rate: {total * 1_000_000 / args.accounts / 60:.1f} min")


if __name__ == "__main__":
    main()
