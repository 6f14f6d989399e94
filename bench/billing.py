"""Billing benchmark on PostgreSQL: the batch bill run and concurrent payment posting, each next to a reference.

    .venv/bin/python -m bench.billing                 # 5,000 accounts (a minute or two)
    .venv/bin/python -m bench.billing --accounts 100000

Bills: ``billing.run.run_period_in_processes`` (``--workers``, default 2 as on this 2-core box) over N accounts
with a month of readings (bills/s), next to a plain bulk insert of the same bill rows into a scratch table
(rows/s): ratio = bills/s / insert rows/s.
Payments: 8 clients, as 2 processes of 4 threads (``--processes``; pgbench's 8 clients run in 2 threads, -j 2;
a server on 2 cores would run 2 worker processes with threads), each posting payments to its own accounts
through ``billing.payments.post_payment``, as the API and the counter do (payments/s): a session per payment,
the payment's own transaction (the idempotent insert, the account's lock, oldest bill first, the applications,
the balance, the trail event, the outbox message and the commit). The account rows are read beforehand, as a
request has them from its permission check; further rounds run the 8 clients as 8 processes and read each
account in the request first. Next to it ``pgbench -N`` (simple-update script) at 8 clients (tps): ratio =
payments/s / tps. Then the outbox is relayed (the payment notices are made by workers, not by the posting
requests) and its time printed.
Two figures tell a slower machine from a slower product: the time of a fixed Python loop (the CPU that the
payment clients, written in Python, share with the database on this box; ``pgbench -N`` is bound by commits
more than by the CPU, so the payments ratio falls on a slower CPU), and ``payment_record`` called by pgbench
itself at 8 clients (the database's share of a payment, without the Python clients).
The database (``--url``, default gd_billing_bench on 127.0.0.1) is dropped and recreated.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import re
import shutil
import subprocess
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench._postgres import fresh_database


def python_loop_ms() -> float:
    """A fixed pure-Python workload, best of five (ms): how fast this machine runs the payment clients."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        sum(i * i for i in range(1_000_000))
        best = min(best, time.perf_counter() - started)
    return best * 1000


# payment_record as a request would call it, for the accounts of bench_targets (made by the bench), by pgbench
PGBENCH_PAYMENT = """\\set target random(1, {count})
SELECT p.payment_id FROM bench_targets t, LATERAL payment_record(
    t.account_id, t.account_no, 50.00, 'counter', '2026-03-05 02:00+00', '2026-03-05', 'pgbench',
    gen_random_uuid()::text, 'bench', NULL, NULL, now(), '{rates}'::numeric[], t.chain, t.event, t.after, true) p
WHERE t.n = :target;
"""


def admin_url_engine(url: str) -> Any:
    """An AUTOCOMMIT engine on ``url`` (VACUUM cannot run in a transaction)."""
    from sqlalchemy import create_engine

    return create_engine(url, isolation_level="AUTOCOMMIT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--payments", type=int, default=2000, help="payments posted in all by the 8 clients")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--processes", type=int, default=2, help="payment client processes, the clients their threads (pgbench -j 2)"
    )
    parser.add_argument("--chunk", type=int, default=2000, help="accounts per bill-run transaction")
    parser.add_argument("--workers", type=int, default=2, help="bill-run processes (the CLI's default: one a core)")
    parser.add_argument("--seconds", type=int, default=10, help="pgbench duration")
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/gd_billing_bench")
    args = parser.parse_args()

    from sqlalchemy import insert, select, text

    name = args.url.rsplit("/", 1)[1]
    fresh_database(args.url)
    os.environ["DATABASE_URL"] = args.url
    os.environ.setdefault("GRIDDESK_INSTANCE", f"/tmp/{name}-instance")
    # the filesystem task queue of earlier runs (relay requests no worker took): a long queue slows every publish
    shutil.rmtree(Path(os.environ["GRIDDESK_INSTANCE"]) / "celery", ignore_errors=True)

    from billing.models import Account, MeterReading
    from billing.payments import post_payment, request_hash
    from billing.run import run_period_in_processes
    from core.db import db
    from core.identity import ensure_root_unit
    from core.outbox import relay_all
    from webapp import create_app
    from webapp.models import load_all

    print(f"this machine: a fixed Python loop takes {python_loop_ms():.0f} ms (best of 5)", flush=True)
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

        # as ``pgbench -i`` does for its own tables: statistics of the freshly generated rows, so that the planner
        # sees the bills and applications tables as they are (a stale plan scanned every application per payment)
        with admin_url_engine(args.url).connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))

        per_client = max(1, args.payments // args.clients)

        rounds = ["warm-up", "post", "procs", "read"]

        def client(index: int, round_name: str, read_account: bool) -> None:
            # each round pays other accounts where there are enough (the same work: one payment to a bill)
            start = (rounds.index(round_name) * per_client * args.clients + index * per_client) % len(ids)
            mine = (ids[start:] + ids[:start])[:per_client]
            with db.transaction() as session:  # the accounts a server has from its permission check
                accounts = {a.id: a for a in session.scalars(select(Account).where(Account.id.in_(mine)))}
            for k in range(per_client):
                account_id = mine[k % len(mine)]
                with db.transaction() as session:
                    account = session.get(Account, account_id) if read_account else accounts[account_id]
                    assert account is not None
                    fields = {
                        "account_no": account.account_no,
                        "amount": Decimal("50.00"),
                        "channel": "counter",
                        "paid_at": dt.datetime(2026, 3, 5, 2, tzinfo=dt.UTC),
                        "reference": f"B-{round_name}-{index}-{k}",
                    }
                    post_payment(
                        session,
                        account,
                        fields,
                        idempotency_key=f"bench-{round_name}-{index}-{k}",
                        digest=request_hash(fields, True),
                        actor_id=None,
                    )

        def client_process(first: int, threads: int, round_name: str, read_account: bool) -> None:
            db.init_after_fork(args.url, pool_size=threads)  # its own connections: none are shared across the fork
            failed: list[BaseException] = []

            def run(index: int) -> None:
                try:
                    client(index, round_name, read_account)
                except BaseException as exc:  # reported below
                    failed.append(exc)

            workers = [threading.Thread(target=run, args=(first + t,)) for t in range(threads)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            if failed:
                raise failed[0]

        def payments_round(round_name: str, processes: int, read_account: bool = False) -> float:
            """payments/s of ``args.clients`` clients run as ``processes`` processes of equal thread counts."""
            assert db.engine is not None
            db.engine.dispose()
            threads = args.clients // processes
            fork = multiprocessing.get_context("fork")
            workers = [
                fork.Process(target=client_process, args=(p * threads, threads, round_name, read_account))
                for p in range(processes)
            ]
            started = time.perf_counter()
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            seconds = time.perf_counter() - started
            if any(w.exitcode for w in workers):
                raise SystemExit("a payment client failed (its traceback is above)")
            return per_client * args.clients / seconds

        count = per_client * args.clients
        payments_round("warm-up", args.processes)  # not measured: caches, prepared statements, the first checkpoint
        payments_per_s = payments_round("post", args.processes)
        layout = f"{args.processes} processes x {args.clients // args.processes} threads"
        print(f"payments: {count} at {args.clients} clients ({layout}) = {payments_per_s:,.0f} payments/s")
        one_each = payments_round("procs", args.clients)
        print(f"  the same at {args.clients} clients of a process each: {one_each:,.0f} payments/s")
        with_read = payments_round("read", args.processes, read_account=True)
        print(f"  with each request's account read in a transaction of its own first: {with_read:,.0f} payments/s")
        started = time.perf_counter()
        relayed = relay_all()
        relay_seconds = time.perf_counter() - started
        print(f"outbox relay afterwards: {relayed} announcements in {relay_seconds:.2f} s")

        from billing.payment_procedure import rates_of
        from billing.rules import current_rules
        from core.trail import prepare_for_database

        def target(n: int, account_id: int, account_no: str) -> dict[str, Any]:
            """A target account with its payment's trail event as core.trail prepares it for payment_record."""
            after = {"account_no": account_no, "amount": "50.00", "channel": "counter", "reference": "pgbench",
                     "paid_at": "2026-03-05T02:00:00+00:00", "idempotency_key": "pgbench"}  # fmt: skip
            filled = ("applied", "to_balance")
            event = prepare_for_database(
                actor_id=None, action="payment.recorded", entity="payment", after=after, filled=filled
            )
            return {"n": n, "account_id": account_id, "account_no": account_no, "chain": event.chain,
                    "event": list(event.event_parts), "after": list(event.after_parts)}  # fmt: skip

        with db.transaction() as session:
            session.execute(
                text(
                    "CREATE TABLE bench_targets (n integer PRIMARY KEY, account_id integer, account_no text,"
                    " chain smallint, event text[], after text[])"
                )
            )
            targets = session.execute(select(Account.id, Account.account_no).order_by(Account.id)).all()
            session.execute(
                text("INSERT INTO bench_targets VALUES (:n, :account_id, :account_no, :chain, :event, :after)"),
                [target(k + 1, a, no) for k, (a, no) in enumerate(targets)],
            )
        rates = "{" + ",".join(str(r) for r in rates_of(current_rules())) + "}"
        payment_script = Path(os.environ["GRIDDESK_INSTANCE"]) / "pgbench-payment.sql"
        payment_script.write_text(PGBENCH_PAYMENT.format(count=len(targets), rates=rates))

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
    tps = _tps(out)
    print(f"pgbench -N at {args.clients} clients: {tps:,.0f} tps; ratio {payments_per_s / tps:.2f}")
    out = subprocess.run(
        [*base, "-n", "-f", str(payment_script), "-c", str(args.clients), "-j", "2", "-T", str(args.seconds), name],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    direct = _tps(out)
    print(
        f"  the database's share: payment_record called by pgbench at {args.clients} clients: {direct:,.0f} tps;"
        f" ratio to pgbench -N {direct / tps:.2f} (the Python clients reach {payments_per_s / direct:.0%} of it)"
    )


def _tps(pgbench_output: str) -> float:
    found = re.search(r"tps = ([\d.]+)", pgbench_output)
    return float(found.group(1)) if found else float("nan")


if __name__ == "__main__":
    main()
