"""Foundation benchmark: an authenticated, scoped API read next to a bare Flask route, in one run.

Measures GET /api/v1/accounts/{account_no} (bearer token check, role and unit-scope resolution, account summary,
JSON) as a staff member of the demo company, against a bare Flask route on the same app that returns the same
JSON without auth or database work. Both go through Werkzeug's test client in one process, in alternating blocks of
100 requests, so the ratio is the cost of the API stack itself.
Usage: python -m bench.api [--requests 2000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from typing import Any

from flask import jsonify

from bench._postgres import fresh_database


def _timed_in_turns(paths: dict[str, Any], n: int, block: int = 100) -> dict[str, tuple[float, list[float]]]:
    """Requests/s and latencies of each path, ``n`` requests each, taken in alternating blocks: a load that comes
    and goes on the machine falls on both paths alike instead of on whichever ran during it."""
    latencies: dict[str, list[float]] = {name: [] for name in paths}
    spent = dict.fromkeys(paths, 0.0)
    for done in range(0, n, block):
        for name, fn in paths.items():
            start = time.perf_counter()
            for _ in range(min(block, n - done)):
                t0 = time.perf_counter()
                fn()
                latencies[name].append(time.perf_counter() - t0)
            spent[name] += time.perf_counter() - start
    return {name: (n / spent[name], latencies[name]) for name in paths}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="griddesk-bench-api-")
    os.environ.setdefault("GRIDDESK_INSTANCE", workdir)
    if args.database_url and args.database_url.startswith("postgresql"):
        fresh_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{workdir}/bench.db"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"

    from core.db import db
    from webapp import create_app
    from webapp.models import load_all

    app = create_app()
    assert db.engine is not None
    load_all().metadata.drop_all(db.engine)
    load_all().metadata.create_all(db.engine)
    app.test_cli_runner().invoke(args=["griddesk", "seed-demo"])
    if db.engine.dialect.name == "postgresql":  # the statistics and visibility map autovacuum keeps in service
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")

    payload = None

    @app.get("/_bench/bare")
    def bare():  # type: ignore[no-untyped-def]
        return jsonify(payload)

    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "clerk", "password": "clerk-demo-2026"}).get_json()[
        "access_token"
    ]
    headers = {"Authorization": f"Bearer {token}"}
    payload = client.get("/api/v1/accounts/3301000001", headers=headers).get_json()
    assert payload["account_no"] == "3301000001"

    for _ in range(50):  # warm up both paths
        client.get("/api/v1/accounts/3301000001", headers=headers)
        client.get("/_bench/bare")
    measured = _timed_in_turns(
        {
            "api": lambda: client.get("/api/v1/accounts/3301000001", headers=headers),
            "bare": lambda: client.get("/_bench/bare"),
        },
        args.requests,
    )
    (api_rps, api_lat), (bare_rps, bare_lat) = measured["api"], measured["bare"]

    def p(lat: list[float], q: int) -> float:
        return statistics.quantiles(lat, n=100)[q - 1] * 1000

    def line(label: str, rps: float, lat: list[float]) -> str:
        return f"{label:<32} {rps:8.0f} req/s  p50 {p(lat, 50):.2f} ms  p95 {p(lat, 95):.2f} ms"

    backend = db.engine.dialect.name
    print(f"backend: {backend}, requests per path: {args.requests}")
    print(line("authenticated account summary:", api_rps, api_lat))
    print(line("bare Flask route (reference):", bare_rps, bare_lat))
    print(f"ratio (API / bare): {api_rps / bare_rps:.2f}")


if __name__ == "__main__":
    main()
