"""One outage notice fanned out by 2 Celery workers on Redis: inbox rows plus Web Push to a local receiver.

Seeds N customers, each bound to one account inside a polygon over Hangzhou (default 10,000; ``--full`` for the
issue's 100,000), gives a fraction of them a push subscription pointing at a local push service on 127.0.0.1,
starts 2 worker processes (concurrency 1 each, the machine has 2 cores), announces one outage for the polygon
and times until every inbox row exists and every push was answered. The reference, measured in the same run,
is the naive way: one INSERT and COMMIT per inbox row, extrapolated to N. Target: 100,000 accounts in 60 s.

Needs PostgreSQL and Redis. The database named by --database-url is dropped and created; Redis keys are
prefixed so nothing else on that server is touched.

Usage: python -m bench.notify [--accounts 10000 | --full] [--push-fraction 0.2] [--database-url URL] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench._postgres import fresh_database

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "griddesk-bench-notify:"
WORKER = f"""
from webapp.worker import celery
celery.conf.broker_transport_options = {{"global_keyprefix": "{PREFIX}"}}
celery.conf.result_backend_transport_options = {{"global_keyprefix": "{PREFIX}"}}
import sys
celery.worker_main(["worker", "-c", "1", "-n", sys.argv[1] + "@%h", "--loglevel", "WARNING",
                    "--without-gossip", "--without-mingle", "--without-heartbeat"])
"""


class _Receiver(BaseHTTPRequestHandler):
    count = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with _Receiver.lock:
            _Receiver.count += 1
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _start_receiver() -> tuple[ThreadingHTTPServer, str]:
    for port in range(5300, 5400):
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), _Receiver)
        except OSError:
            continue
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, f"http://127.0.0.1:{port}"
    raise SystemExit("no free port in 5300-5399")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--full", action="store_true", help="100,000 accounts (the issue's size)")
    parser.add_argument("--push-fraction", type=float, default=0.2, help="share of customers with a push subscription")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/griddesk_bench_notify")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--reference-rows", type=int, default=1000)
    args = parser.parse_args()
    n = 100_000 if args.full else args.accounts

    workdir = tempfile.mkdtemp(prefix="griddesk-bench-notify-")
    fresh_database(args.database_url)
    env = {
        "GRIDDESK_INSTANCE": workdir,
        "DATABASE_URL": args.database_url,
        "CELERY_BROKER_URL": args.redis_url,
        "CELERY_RESULT_BACKEND": args.redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "NOTIFY_BATCH_SIZE": str(args.batch_size),
        "GEOCODER_PROVIDER": "none",
        "PUSH_ALLOWED_LOCAL_HOSTS": "127.0.0.1",  # the local push service below
    }
    os.environ.update(env)

    import random

    from sqlalchemy import func, insert, select, text
    from tqdm import tqdm

    from billing.models import Account
    from core.db import db
    from core.identity import AccountBinding, Role, User, create_unit, create_user, ensure_root_unit
    from core.security import hash_password
    from notifications.commands import AnnounceOutage
    from notifications.models import Delivery, Message, Notice, PushSubscription
    from notifications.services import create_outage_notice
    from webapp import create_app
    from webapp.models import load_all

    app = create_app()
    celery = app.extensions["celery"]
    celery.conf.broker_transport_options = {"global_keyprefix": PREFIX}
    celery.conf.result_backend_transport_options = {"global_keyprefix": PREFIX}
    assert db.engine is not None
    load_all().metadata.create_all(db.engine)
    receiver, receiver_url = _start_receiver()

    rng = random.Random(7)
    area = {
        "type": "Polygon",
        "coordinates": [[[119.9, 30.0], [120.4, 30.0], [120.4, 30.5], [119.9, 30.5], [119.9, 30.0]]],
    }
    from tests.notifications.push_receiver import BrowserKeys

    keys = BrowserKeys().subscription("x")["keys"]
    with db.transaction() as session:
        root = ensure_root_unit(session)
        unit = create_unit(session, "BENCH", "压测单位", root.code)
        clerk = create_user(session, "bench-clerk", "bench-password", Role.CLERK, unit)
        unit_id, clerk_id = unit.id, clerk.id
    password_hash = hash_password("bench-customer")
    chunk = 5000
    with db.transaction() as session, tqdm(total=n, desc="seeding customers", unit=" acct") as bar:
        for start in range(0, n, chunk):
            count = min(chunk, n - start)
            users = [{"username": f"139{start + i:08d}", "name": "客户", "password_hash": password_hash,
                      "role": "customer", "token_version": 1, "active": True} for i in range(count)]  # fmt: skip
            user_ids = session.scalars(insert(User).returning(User.id), users).all()
            accounts = [{"account_no": f"77{start + i:08d}", "holder_name": "客户", "id_last4_hash": "x",
                         "address": "杭州市", "lat": 30.0 + rng.random() * 0.5, "lon": 119.9 + rng.random() * 0.5,
                         "category": "residential", "capacity_kva": 8, "tariff_code": "ZJ-RES-TIER",
                         "unit_id": unit_id, "status": "active", "meter_multiplier": 1, "balance": 0}
                        for i in range(count)]  # fmt: skip
            account_ids = session.scalars(insert(Account).returning(Account.id), accounts).all()
            session.execute(
                insert(AccountBinding),
                [{"user_id": u, "account_id": a} for u, a in zip(user_ids, account_ids, strict=True)],
            )
            subs = [{"user_id": u, "endpoint": f"{receiver_url}/push/{u}", "p256dh": keys["p256dh"],
                     "auth": keys["auth"], "user_agent": "bench"}
                    for u in user_ids if rng.random() < args.push_fraction]  # fmt: skip
            if subs:
                session.execute(insert(PushSubscription), subs)
            bar.update(count)
    with db.transaction() as session:
        pushes = session.scalar(select(func.count()).select_from(PushSubscription)) or 0

    # reference: the naive fan-out, one INSERT and COMMIT per inbox row
    with db.transaction() as session:
        ref_notice = Notice(kind="outage", title="ref", body="ref", data={})
        session.add(ref_notice)
        session.flush()
        ref_id = ref_notice.id
        ref_users = list(session.scalars(select(User.id).where(User.role == "customer").limit(args.reference_rows)))
    t0 = time.perf_counter()
    for uid in ref_users:
        with db.transaction() as session:
            session.add(Message(notice_id=ref_id, user_id=uid))
    per_row = (time.perf_counter() - t0) / max(len(ref_users), 1)

    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, f"bench{i}"], env={**os.environ, **env}, cwd=ROOT)
        for i in (1, 2)
    ]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                celery.send_task("griddesk.ping").get(timeout=5)
                break
            except Exception:
                time.sleep(0.5)
        with db.transaction() as session:
            clerk = session.get(User, clerk_id)
            notice, recipients = create_outage_notice(
                session,
                clerk,
                AnnounceOutage.parse(
                    {
                        "title": "计划停电",
                        "body": "压测",
                        "starts_at": "2026-12-05T08:30:00+08:00",
                        "ends_at": "2026-12-05T17:30:00+08:00",
                        "area": area,
                    }
                ),
            )
            notice_id, expected = notice.id, len(recipients.user_ids)
        started = time.perf_counter()  # the commit put the notice's outbox message; a worker relays and fans out
        done_sql = text(
            "SELECT (SELECT count(*) FROM notice_messages WHERE notice_id = :n),"
            " (SELECT count(*) FROM notice_deliveries d JOIN notice_messages m ON m.id = d.message_id"
            "  WHERE m.notice_id = :n AND d.status <> 'pending')"
        )
        with tqdm(total=expected + pushes, desc="inbox rows + pushes", unit=" msg") as bar:
            while True:
                with db.engine.connect() as conn:
                    messages, finished = conn.execute(done_sql, {"n": notice_id}).one()
                bar.update(messages + finished - bar.n)
                if messages >= expected and finished >= pushes:
                    break
                if time.perf_counter() - started > 900:
                    raise SystemExit("gave up after 15 minutes")
                time.sleep(0.25)
        elapsed = time.perf_counter() - started
    finally:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        receiver.shutdown()
        import redis

        client = redis.Redis.from_url(args.redis_url)
        for key in client.scan_iter(f"{PREFIX}*", count=1000):
            client.delete(key)
    with db.transaction() as session:
        sent = session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "sent"))
    print(f"accounts {n}, recipients {expected}, push subscriptions {pushes}, batch size {args.batch_size}")
    print(f"fan-out by 2 workers: {elapsed:.1f} s  ({expected / elapsed:,.0f} inbox rows/s; pushes sent {sent}, "
          f"received by the local push service {_Receiver.count})")  # fmt: skip
    naive = per_row * expected
    print(f"reference, one INSERT+COMMIT per inbox row: {per_row * 1000:.2f} ms/row -> {naive:.1f} s for {expected} "
          f"rows (no push); ratio {naive / elapsed:.1f}x")  # fmt: skip
    target = "met" if (n < 100_000 or elapsed <= 60) else "MISSED"
    print(f"target 100,000 accounts in 60 s: {target if n >= 100_000 else 'run with --full to check'}")


if __name__ == "__main__":
    main()
