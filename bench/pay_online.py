"""Paying online end to end: signed Alipay notices processed per second, next to the counter payment path.

    .venv/bin/python -m bench.pay_online                    # 1,000 orders, every notice sent three times
    .venv/bin/python -m bench.pay_online --orders 5000

The app runs under gunicorn as in production (2 workers of 4 threads, ``--workers``/``--threads``) on PostgreSQL,
with Alipay played by the simulator (``billing.online.simulator``, the same RSA2 keys). In the same run:

- reference: 8 clients (threads) POST ``/api/v1/payments`` (a clerk's counter payments, one Idempotency-Key each)
  for as many payments as there are orders: payments/s;
- online: 8 notifiers (threads) POST the simulator's signed ``TRADE_SUCCESS`` notices to
  ``/api/v1/payment-providers/alipay/notify``, every notice three times (copies spread over the notifiers, so
  that they race), each answered ``success``: notices/s and orders settled/s. Each notice is verified (RSA2),
  logged, and the first copy locks the order, records the payment through the ledger and marks the order paid.

Ratio = online notices/s ÷ counter payments/s (the issue's target: at least 0.5). Then the check: every order is
paid, exactly one payment per order (``zero duplicates``), and the notice log says ``settled`` once per order and
``duplicate`` for the other copies. The database (``--url``) is dropped and recreated.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench._postgres import fresh_database

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _run_threads(jobs: list[list[Any]], work: Any) -> float:
    """Run ``work(job)`` for each job list in its own thread; the seconds until all are done."""
    failed: list[BaseException] = []

    def run(items: list[Any]) -> None:
        try:
            for item in items:
                work(item)
        except BaseException as exc:  # reported below
            failed.append(exc)

    threads = [threading.Thread(target=run, args=(items,)) for items in jobs]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        raise failed[0]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8, help="notifiers, and counter clients")
    parser.add_argument("--copies", type=int, default=3, help="times every notice is sent")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/gd_payonline_bench")
    args = parser.parse_args()

    import requests
    from sqlalchemy import create_engine, func, insert, select, text

    name = args.url.rsplit("/", 1)[1]
    fresh_database(args.url)
    instance = Path(os.environ.get("GRIDDESK_INSTANCE", f"/tmp/{name}-instance"))
    shutil.rmtree(instance / "celery", ignore_errors=True)  # the task queue of earlier runs
    os.environ.update(DATABASE_URL=args.url, GRIDDESK_INSTANCE=str(instance), ALIPAY_APP_ID="")

    from billing.models import Account, Payment
    from billing.online.models import PaymentNotice, PaymentOrder
    from billing.online.simulator import SIM_APP_ID, AlipaySimulator, Trade
    from core import clock
    from core.db import db
    from core.identity import Role, create_user, ensure_root_unit
    from webapp import create_app
    from webapp.models import load_all

    simulator = AlipaySimulator(instance / "payment_simulator").start()
    os.environ["PAYMENT_SIMULATOR_URL"] = simulator.url
    app = create_app()
    n = args.orders
    with app.app_context():
        assert db.engine is not None
        load_all().metadata.create_all(db.engine)
        with db.transaction() as session:
            root = ensure_root_unit(session)
            clerk = create_user(session, "bench-clerk", "bench-password-1", Role.CLERK, root, name="bench")
            session.flush()
            from webapp.auth import issue_token

            token, _ttl = issue_token(clerk)
            rows = [
                {"account_no": f"8{i:09d}", "holder_name": "bench", "id_last4_hash": "x", "category": "residential",
                 "capacity_kva": Decimal(8), "tariff_code": "ZJ-RES-TIER", "unit_id": root.id, "status": "active",
                 "meter_multiplier": Decimal(1), "balance": Decimal("0.00"), "address": ""}
                for i in range(2 * n)
            ]  # fmt: skip
            session.execute(insert(Account), rows)
            ids = [r[0] for r in session.execute(text("SELECT id FROM accounts ORDER BY id"))]
            paid_at = dt.datetime(2026, 3, 5, 2, tzinfo=dt.UTC)
            expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
            orders = [
                {"order_no": f"GD20260305100000{i:08d}", "account_id": ids[n + i], "amount": Decimal("50.00"),
                 "provider": "alipay", "status": "created", "expires_at": expires}
                for i in range(n)
            ]  # fmt: skip
            session.execute(insert(PaymentOrder), orders)
        analyze = create_engine(args.url, isolation_level="AUTOCOMMIT")
        with analyze.connect() as conn:
            conn.execute(text("ANALYZE"))
        analyze.dispose()
        db.engine.dispose()

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    notify_url = f"{base}/api/v1/payment-providers/alipay/notify"
    for order in orders:  # the trades as the simulator's cashier would have them, paid, their notices not yet sent
        no = order["order_no"]
        simulator.trades[no] = Trade(
            out_trade_no=no, total_amount="50.00", subject="电费", notify_url=notify_url, return_url="",
            app_id=SIM_APP_ID, gmt_create=clock.to_provider(paid_at),
        )  # fmt: skip
        simulator.pay(no, notify=False, at=paid_at)
    notices = [simulator.notice(order["order_no"]) for order in orders]

    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(args.workers), "-k", "gthread", "--threads", str(args.threads),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", "webapp:create_app()"],
        cwd=ROOT, env=os.environ.copy(),
    )  # fmt: skip
    try:
        _wait_for(f"{base}/healthz")
        sessions = threading.local()

        def http() -> Any:
            if not hasattr(sessions, "s"):
                sessions.s = requests.Session()
            return sessions.s

        def counter(i: int) -> None:
            body = {"account_no": f"8{i:09d}", "amount": "50.00", "channel": "counter", "reference": f"BENCH-{i}"}
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"bench-counter-{i}"}
            reply = http().post(f"{base}/api/v1/payments", json=body, headers=headers, timeout=60)
            assert reply.status_code == 201, reply.text[:300]

        def notify(form: dict[str, str]) -> None:
            reply = http().post(notify_url, data=form, timeout=60)
            assert (reply.status_code, reply.text.strip()) == (200, "success"), reply.text[:300]

        c = args.clients
        counter_seconds = _run_threads([list(range(k, n, c)) for k in range(c)], counter)
        counter_per_s = n / counter_seconds
        print(f"counter payments (POST /api/v1/payments, {c} clients): {n} in {counter_seconds:.1f} s"
              f" = {counter_per_s:,.0f} payments/s", flush=True)  # fmt: skip
        # every notice three times; the copies of one notice go to different notifiers at about the same moment
        sent = [notices[i] for _copy in range(args.copies) for i in range(n)]
        jobs = [sent[k::c] for k in range(c)]
        online_seconds = _run_threads(jobs, notify)
        notices_per_s = len(sent) / online_seconds
        settled_per_s = n / online_seconds
        print(f"online notices ({c} notifiers, each notice {args.copies} times): {len(sent)} in {online_seconds:.1f} s"
              f" = {notices_per_s:,.0f} notices/s, {settled_per_s:,.0f} orders settled/s", flush=True)  # fmt: skip
        print(f"ratio notices/s to counter payments/s: {notices_per_s / counter_per_s:.2f} (target 0.5);"
              f" payments/s ratio {settled_per_s / counter_per_s:.2f}")  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
        simulator.stop()

    with app.app_context(), db.transaction() as session:
        online_payments = session.scalar(select(func.count()).select_from(Payment).where(Payment.channel == "app"))
        paid = session.scalar(select(func.count()).select_from(PaymentOrder).where(PaymentOrder.status == "paid"))
        outcomes = dict(
            session.execute(select(PaymentNotice.outcome, func.count()).group_by(PaymentNotice.outcome)).all()
        )
    duplicates = online_payments - paid  # one payment per order paid, whatever the copies
    print(f"check: {paid} of {n} orders paid, {online_payments} online payments, duplicates {duplicates},"
          f" notice log {outcomes}")  # fmt: skip
    if paid != n or online_payments != n or duplicates or outcomes.get("settled") != n:
        raise SystemExit("FAILED: every order paid exactly once")


if __name__ == "__main__":
    main()
