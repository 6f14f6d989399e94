"""HTTP load test: gunicorn (2 workers of 4 threads, as production runs it) on PostgreSQL under locust, next to a bare
gunicorn route in the same run.

Customers read their home (the account summary), bills, usage and inbox; staff search the archive (9 customers to
1 staff member). Two scenarios, each run by headless locust on 127.0.0.1 for a bounded time:

(a) capacity: ``--users`` users (default 100) without pauses against GridDesk, then the same locust run against a
    bare gunicorn app (same worker count) that answers every one of those paths with the JSON GridDesk gave for it,
    without auth or database work; requests/s, p50/p95/p99 and errors of both, and the ratio (target >= 0.5);
(b) the day bills go out: ``--paced-users`` users (default 200) pausing 1-3 s between pages (target p95 <= 100 ms,
    zero errors).

While they run it samples the resident memory (VmRSS) of each gunicorn master and worker (and, with
``--celery-broker``, of a Celery worker it starts) and prints each one's peak.

The database named by ``--database-url`` is dropped, created and loaded with the demo data plus one customer per
user, each bound to a demo account. Usage: python -m bench.load [--users 100] [--paced-users 200] [--seconds 30]
[--workers 2] [--threads 4] [--database-url URL]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/gd_load_bench"
HOST = "127.0.0.1"


def bare_app() -> Any:
    """The reference: a Flask app answering each path of the plan with the JSON GridDesk gave for it (gunicorn
    loads ``bench.load:bare_app()``)."""
    from flask import Flask, Response, request

    payloads: dict[str, str] = json.loads(Path(os.environ["GRIDDESK_LOAD_PAYLOADS"]).read_text(encoding="utf-8"))
    app = Flask("bare")

    @app.get("/<path:path>")
    def answer(path: str) -> Response:
        key = request.full_path.rstrip("?")
        return Response(payloads[key], mimetype="application/json")

    return app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _prepare(database_url: str, customers: int, workdir: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Load the database; returns the locust plan (tokens, accounts, words) and each path's JSON."""
    from sqlalchemy import select

    from archive.demo import DEMO_DOCUMENTS
    from billing.models import Account
    from core.db import db
    from core.identity import AccountBinding, Role, User
    from core.security import hash_password
    from webapp import create_app
    from webapp.auth import issue_token
    from webapp.models import load_all

    app = create_app()
    assert db.engine is not None
    load_all().metadata.drop_all(db.engine)
    load_all().metadata.create_all(db.engine)
    for hook in app.extensions.get("griddesk_schema_hooks", []):
        hook(db.engine)
    result = app.test_cli_runner().invoke(args=["griddesk", "seed-demo"])
    assert result.exit_code == 0, result.output
    with db.transaction() as session:
        accounts = list(session.scalars(select(Account).order_by(Account.account_no)))
        password = hash_password(secrets.token_hex(8))  # nobody signs in: tokens are issued below
        people = [
            User(username=f"139{n:08d}", name=f"用户{n}", password_hash=password, role=Role.CUSTOMER)
            for n in range(customers)
        ]
        session.add_all(people)
        session.flush()
        for n, user in enumerate(people):
            session.add(AccountBinding(user_id=user.id, account_id=accounts[n % len(accounts)].id))
        staff = list(session.scalars(select(User).where(User.role.in_([Role.ARCHIVIST, Role.SUPERVISOR]))))
        plan: dict[str, Any] = {"customers": [], "staff": [], "words": [title for _t, title, _o in DEMO_DOCUMENTS]}
        with app.test_request_context():
            for n, user in enumerate(people):
                account_no = accounts[n % len(accounts)].account_no
                plan["customers"].append({"token": issue_token(user)[0], "account_no": account_no})
            plan["staff"] = [{"token": issue_token(user)[0]} for user in staff]
    if db.engine.dialect.name == "postgresql":  # the statistics autovacuum keeps in service
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")

    client = app.test_client()
    payloads: dict[str, str] = {}

    def capture(path: str, token: str) -> None:
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True)[:300])
        payloads[path] = response.get_data(as_text=True)

    for me in plan["customers"]:
        for tail in ("", "/bills", "/usage"):
            capture(f"/api/v1/accounts/{me['account_no']}{tail}", me["token"])
        capture("/api/v1/me/notifications", me["token"])  # the bare app answers one inbox for all
    for word in plan["words"]:
        capture(f"/api/v1/archive/search?q={urllib.request.quote(word)}", plan["staff"][0]["token"])
    db.remove_session()
    db.engine.dispose()
    return plan, payloads


def _serve(
    target: str, port: int, workers: int, threads: int, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "-w", str(workers)]
    command += ["--threads", str(threads)]  # more than 1: the gthread worker (keep-alive, reads overlap)
    command += ["-b", f"{HOST}:{port}", "--no-control-socket", target]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def _rss_mib(pid: int) -> float:
    """The process's resident memory (VmRSS) now; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return sorted(found)


class MemorySampler(threading.Thread):
    """Samples the resident memory of the named processes and their children every ``every`` seconds while the
    load runs; ``peaks`` holds each process's highest figure (Linux: /proc)."""

    def __init__(self, roots: dict[str, int], every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.roots, self.every = roots, every
        self.peaks: dict[str, float] = {}
        self._stop_event = threading.Event()

    def sample(self) -> None:
        for label, pid in self.roots.items():
            processes = {f"{label} (main, pid {pid})": pid}
            processes.update({f"{label} child (pid {child})": child for child in _children(pid)})
            for name, process in processes.items():
                self.peaks[name] = max(self.peaks.get(name, 0.0), _rss_mib(process))

    def run(self) -> None:
        while not self._stop_event.wait(self.every):
            self.sample()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


def _wait_until_up(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn on port {port} exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn on port {port} did not answer within {timeout:.0f} s")


def _locust(
    port: int, users: int, seconds: int, paced: bool, env: dict[str, str], workdir: str, label: str
) -> dict[str, Any]:
    prefix = os.path.join(workdir, label)
    command = [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "_locustfile.py"), "--headless"]
    command += ["-u", str(users), "-r", str(max(users // 2, 1)), "-t", f"{seconds}s", "--stop-timeout", "5"]
    command += ["--host", f"http://{HOST}:{port}", "--csv", prefix, "--only-summary", "--loglevel", "WARNING"]
    run_env = dict(env, GRIDDESK_LOAD_PACED="1" if paced else "0")
    done = subprocess.run(command, cwd=ROOT, env=run_env, capture_output=True, text=True)
    if done.returncode not in (0, 1):  # 1: some requests failed (counted below)
        raise SystemExit(f"locust failed ({done.returncode}):\n{done.stderr[-2000:]}")
    with open(f"{prefix}_stats.csv", encoding="utf-8") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    stats: dict[str, Any] = _stats_of(rows.pop("Aggregated"))
    stats["pages"] = {name: _stats_of(row) for name, row in rows.items()}
    return stats


def _stats_of(row: dict[str, str]) -> dict[str, float]:
    return {
        "requests": float(row["Request Count"]),
        "failures": float(row["Failure Count"]),
        "rps": float(row["Requests/s"]),
        "p50": float(row["50%"]),
        "p95": float(row["95%"]),
        "p99": float(row["99%"]),
    }


def _pages(stats: dict[str, Any]) -> str:
    """Each page's share of a mixed run: requests/s and p50 (which page the load spends its time on)."""
    pages = stats.get("pages") or {}
    return "  by page: " + ", ".join(
        f"{name} {page['rps']:.0f} req/s p50 {page['p50']:.0f} ms" for name, page in sorted(pages.items())
    )


def _line(label: str, stats: dict[str, Any]) -> str:
    return (
        f"{label:<34} {stats['rps']:7.0f} req/s  p50 {stats['p50']:5.0f} ms  p95 {stats['p95']:5.0f} ms  "
        f"p99 {stats['p99']:5.0f} ms  errors {stats['failures']:.0f} of {stats['requests']:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100, help="capacity run: users without pauses")
    parser.add_argument("--paced-users", type=int, default=200, help="bills-out run: users pausing 1-3 s")
    parser.add_argument("--seconds", type=int, default=30, help="length of each locust run")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (both servers)")
    parser.add_argument(
        "--threads",
        type=int,
        default=4,
        help="threads per gunicorn worker, both servers (default 4: the threaded worker production runs; 1: sync)",
    )
    parser.add_argument(
        "--database-url", default=DEFAULT_URL, help=f"dropped, created and loaded (default {DEFAULT_URL})"
    )
    parser.add_argument(
        "--celery-broker",
        default=None,
        help="also start a Celery worker on this broker (e.g. redis://127.0.0.1:6379/9) and sample its memory",
    )
    args = parser.parse_args()

    from bench.billing import python_loop_ms

    workdir = tempfile.mkdtemp(prefix="griddesk-bench-load-")
    os.environ["GRIDDESK_INSTANCE"] = workdir
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["SECRET_KEY"] = secrets.token_hex(32)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    print(
        f"this machine: a fixed Python loop takes {python_loop_ms():.0f} ms (best of 5); "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    if args.database_url.startswith("postgresql"):
        from bench._postgres import fresh_database

        fresh_database(args.database_url)
    plan, payloads = _prepare(args.database_url, max(args.users, args.paced_users), workdir)
    plan_file = Path(workdir, "plan.json")
    plan_file.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    payload_file = Path(workdir, "payloads.json")
    payload_file.write_text(json.dumps(payloads, ensure_ascii=False), encoding="utf-8")
    env = dict(os.environ, GRIDDESK_LOAD_PLAN=str(plan_file), GRIDDESK_LOAD_PAYLOADS=str(payload_file))

    app_port, bare_port = _free_port(), _free_port()
    servers = [
        _serve("webapp:create_app()", app_port, args.workers, args.threads, env, Path(workdir, "app.log")),
        _serve("bench.load:bare_app()", bare_port, args.workers, args.threads, env, Path(workdir, "bare.log")),
    ]
    roots = {"gunicorn GridDesk": servers[0].pid, "gunicorn bare": servers[1].pid}
    if args.celery_broker:
        worker_env = dict(env, CELERY_BROKER_URL=args.celery_broker)
        worker_env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        command = [sys.executable, "-m", "celery", "-A", "webapp.worker:celery", "worker", "--loglevel", "WARNING"]
        command += ["--concurrency", str(args.workers)]
        log = Path(workdir, "worker.log")
        servers.append(
            subprocess.Popen(command, cwd=ROOT, env=worker_env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        )
        roots["celery worker"] = servers[-1].pid
    sampler = MemorySampler(roots)
    try:
        _wait_until_up(app_port, servers[0])
        _wait_until_up(bare_port, servers[1])
        sampler.start()
        kind = "sync" if args.threads == 1 else f"gthread ({args.threads} threads)"
        print(f"gunicorn: {args.workers} {kind} workers each, 127.0.0.1; locust runs of {args.seconds} s", flush=True)
        app_stats = _locust(app_port, args.users, args.seconds, False, env, workdir, "capacity_app")
        bare_stats = _locust(bare_port, args.users, args.seconds, False, env, workdir, "capacity_bare")
        print(f"(a) capacity, {args.users} users without pauses:")
        print(_line("  GridDesk:", app_stats))
        print(_pages(app_stats))
        print(_line("  bare gunicorn route (reference):", bare_stats))
        print(f"  ratio (GridDesk / bare): {app_stats['rps'] / bare_stats['rps']:.2f} (target >= 0.5)")
        paced = _locust(app_port, args.paced_users, args.seconds, True, env, workdir, "paced_app")
        print(f"(b) bills out, {args.paced_users} users pausing 1-3 s (target p95 <= 100 ms, zero errors):")
        print(_line("  GridDesk:", paced))
        print(_pages(paced), flush=True)
        sampler.stop()
        print("peak resident memory (VmRSS) of each process during the runs:")
        for name, mib in sorted(sampler.peaks.items()):
            print(f"  {name:<44} {mib:7.0f} MiB")
    finally:
        sampler.stop()
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
