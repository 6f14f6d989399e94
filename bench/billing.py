"""Billing benchmark on PostgreSQL: the batch bill run and concurrent payment posting, each next to a reference.

    .venv/bin/python bench/billing.py                 # 5,000 accounts (a minute or two)
    .venv/bin/python bench/billing.py --accounts 100000

Bills: ``billing.run.run_period_in_processes`` (``--workers``, default 2 as on this 2-core box) over N accounts
with a month of readings (bills/s), next to a plain bulk insert of the same bill rows into a scratch table
(rows/s): ratio = bills/s / insert rows/s.
Payments: 8 client processes (as a server's worker processes would be; threads of one process would share one
interpreter lock) each posting payments to their own accounts through ``billing.payments.record_payment``
(payments/s), next to ``pgbench -N`` (simple-update script) at 8 clients (tps): ratio = payments/s / tps.
The database (``--url``, default gd_billing_bench on 127.0.0.1) is dropped and recreated.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import re
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--payments", type=int, default=2000, help="payments posted in all by the 8 clients")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--chunk", type=int, default=2000, help="accounts per bill-run transaction")
    parser.add_argument("--workers", type=int, default=2, help="bill-run processes (the CLI's default: one a core)")
    parser.add_argument("--seconds", type=int, default=10, help="pgbench duration")
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/gd_billing_bench")
    args = parser.parse_args()

    from sqlalchemy import create_engine, insert, text

    admin_url, name = args.url.rsplit("/", 1)
    admin = create_engine(f"{admin_url}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    os.environ["DATABASE_URL"] = args.url
    os.environ.setdefault("GRIDDESK_INSTANCE", f"/tmp/{name}-instance")

    from billing.models import Account, MeterReading
    from billing.payments import record_payment, request_hash
    from billing.run import run_period_in_processes
    from core.db import db
    from core.identity import ensure_root_unit
    from webapp import create_app
    from webapp.models import load_all

    app = create_app()
    with app.app_context():
        assert db.engine is not None
        load_all().metadata.create_all(db.engine)
        with db.transaction() as session:
            root = ensure_root_unit(session)
            from billing.demo_billing import ZJ_TARIFFS, load_tariffs

            load_tariffs(session, ZJ_TARIFFS)
            unit_id = root.id
        n = args.accounts
        print(f"generating {n} accounts with readings for 2026-01 (start) and 2026-02 ...", flush=True)
        with db.transaction() as session:
            rows = [
                {
                    "account_no": f"9{i:09d}",
                    "holder_name": "bench",
                    "id_last4_hash": "x",
                    "category": "residential" if i % 5 else "general",
                    "capacity_kva": Decimal(8),
                    "tariff_code": "ZJ-RES-TIER" if i % 5 else "ZJ-GEN-FLAT",
                    "unit_id": unit_id,
                    "status": "active",
                    "meter_multiplier": Decimal(1),
                    "balance": Decimal("0.00"),
                    "address": "",
                }
                for i in range(n)
            ]
            for start in range(0, n, 10000):
                session.execute(insert(Account), rows[start : start + 10000])
            ids = [r[0] for r in session.execute(text("SELECT id FROM accounts ORDER BY id"))]
            readings = [{"account_id": a, "period": "2026-01", "reading": Decimal(1000)} for a in ids] + [
                {"account_id": a, "period": "2026-02", "reading": Decimal(1000 + 150 + a % 400)} for a in ids
            ]
            for start in range(0, len(readings), 10000):
                session.execute(insert(MeterReading), readings[start : start + 10000])

        started = time.perf_counter()
        result = run_period_in_processes(
            args.url, "2026-02", workers=args.workers, chunk=args.chunk, issued_on=dt.date(2026, 3, 1)
        )
        run_seconds = time.perf_counter() - started
        bills_per_s = result.issued / run_seconds

        with db.transaction() as session:
            session.execute(text("CREATE TABLE bench_bills (LIKE bills INCLUDING DEFAULTS)"))
            copy = [
                dict(
                    zip(
                        ("account_id", "period", "category", "tariff_id", "kwh", "amount", "due_date", "issued_at"),
                        r,
                        strict=True,
                    )
                )
                for r in session.execute(
                    text("SELECT account_id, period, category, tariff_id, kwh, amount, due_date, issued_at FROM bills")
                )
            ]
        plain = text(
            "INSERT INTO bench_bills (account_id, period, category, tariff_id, kwh, amount, due_date, issued_at)"
            " VALUES (:account_id, :period, :category, :tariff_id, :kwh, :amount, :due_date, :issued_at)"
        )
        started = time.perf_counter()
        for start in range(0, len(copy), 2000):
            with db.transaction() as session:
                session.execute(plain, copy[start : start + 2000])
        insert_per_s = len(copy) / (time.perf_counter() - started)
        print(f"bill run: {result.issued} bills in {run_seconds:.1f} s = {bills_per_s:,.0f} bills/s")
        print(f"plain bulk insert of the same rows: {insert_per_s:,.0f} rows/s; ratio {bills_per_s / insert_per_s:.2f}")

        per_client = max(1, args.payments // args.clients)
        errors: list[BaseException] = []

        def client(index: int) -> None:
            try:
                for k in range(per_client):
                    account_id = ids[(index * per_client + k) % len(ids)]
                    with db.transaction() as session:
                        account = session.get(Account, account_id)
                        assert account is not None
                        fields = {
                            "account_no": account.account_no,
                            "amount": Decimal("50.00"),
                            "channel": "counter",
                            "paid_at": dt.datetime(2026, 3, 5, 2, tzinfo=dt.UTC),
                            "reference": f"B-{index}-{k}",
                        }
                        record_payment(
                            session,
                            account,
                            fields,
                            idempotency_key=f"bench-{index}-{k}",
                            digest=request_hash(fields, True),
                            actor_id=None,
                        )
            except BaseException as exc:  # reported below
                errors.append(exc)

        def client_process(index: int) -> None:
            db.init(args.url, pool_size=1)  # its own connections: none are shared across the fork
            client(index)
            if errors:
                raise errors[0]

        assert db.engine is not None
        db.engine.dispose()
        fork = multiprocessing.get_context("fork")
        processes = [fork.Process(target=client_process, args=(i,)) for i in range(args.clients)]
        started = time.perf_counter()
        for p in processes:
            p.start()
        for p in processes:
            p.join()
        pay_seconds = time.perf_counter() - started
        if any(p.exitcode for p in processes):
            raise SystemExit("a payment client failed (its traceback is above)")
        payments_per_s = per_client * args.clients / pay_seconds
        print(f"payments: {per_client * args.clients} at {args.clients} clients = {payments_per_s:,.0f} payments/s")

    pg = re.match(r"postgresql\+psycopg://(\w+)@([\w.]+):(\d+)/", args.url + "/")
    user, host, port = pg.groups() if pg else ("postgres", "127.0.0.1", "5432")
    base = ["pgbench", "-h", host, "-p", port, "-U", user]
    subprocess.run([*base, "-i", "-q", "-s", "1", name], check=True, capture_output=True)
    out = subprocess.run(
        [*base, "-N", "-c", str(args.clients), "-j", "2", "-T", str(args.seconds), name],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    tps_match = re.search(r"tps = ([\d.]+)", out)
    tps = float(tps_match.group(1)) if tps_match else float("nan")
    print(f"pgbench -N at {args.clients} clients: {tps:,.0f} tps; ratio {payments_per_s / tps:.2f}")


if __name__ == "__main__":
    main()
