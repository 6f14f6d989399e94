"""Nearest service points: the grid-indexed search next to a brute-force geodesic scan, in one run.

Loads N points (default 10,000, the issue's size) scattered over greater Hangzhou into a fresh database, then
times ``mapping.search.nearest`` (limit 5) for random positions in the same area, and the brute-force reference
(``nearest_brute_force``: geodesic distance to every point) for a smaller sample. Both return the same points
(checked). Target: p95 of the indexed search at most 5 ms.

Usage: python -m bench.nearest [--points 10000] [--queries 2000] [--brute-queries 50] [--database-url URL]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--brute-queries", type=int, default=50)
    parser.add_argument("--limit", type=int, default=5)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()

    from sqlalchemy import delete

    from core.db import make_engine
    from mapping.index import cell_of
    from mapping.models import ServicePoint
    from mapping.search import nearest, nearest_brute_force
    from webapp.models import load_all

    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='griddesk-bench-nearest-')}/bench.db"
    engine = make_engine(url)
    load_all().metadata.create_all(engine)
    from sqlalchemy.orm import Session

    rng = random.Random(2026)
    kinds = ["business_hall", "self_service", "charging_station"]
    week = {d: "08:30-17:30" for d in ("mon", "tue", "wed", "thu", "fri")}
    with Session(engine) as session:
        session.execute(delete(ServicePoint))
        rows = []
        for i in range(args.points):
            lat, lon = 30.27 + rng.uniform(-0.35, 0.35), 120.16 + rng.uniform(-0.45, 0.45)
            rows.append(
                {
                    "code": f"B{i:06d}",
                    "name": f"网点{i}",
                    "kind": kinds[i % 3],
                    "address": "杭州市",
                    "district": "",
                    "lat": lat,
                    "lon": lon,
                    "cell": cell_of(lat, lon),
                    "hours": week,
                    "services": [],
                    "phone": "",
                    "location_source": "given",
                }
            )
        session.execute(ServicePoint.__table__.insert(), rows)
        session.commit()
    print(f"{args.points} points in {engine.dialect.name}; limit {args.limit}")

    queries = [(30.27 + rng.uniform(-0.35, 0.35), 120.16 + rng.uniform(-0.45, 0.45)) for _ in range(args.queries)]
    with Session(engine) as session:
        for lat, lon in queries[:20]:  # warm-up: connection, statement cache
            nearest(session, lat, lon, limit=args.limit)
        indexed = []
        for lat, lon in queries:
            t0 = time.perf_counter()
            nearest(session, lat, lon, limit=args.limit)
            indexed.append((time.perf_counter() - t0) * 1000)
        brute = []
        for lat, lon in queries[: args.brute_queries]:
            t0 = time.perf_counter()
            slow = nearest_brute_force(session, lat, lon, limit=args.limit)
            brute.append((time.perf_counter() - t0) * 1000)
            fast = nearest(session, lat, lon, limit=args.limit)
            assert [f.point.id for f in fast] == [s.point.id for s in slow], "indexed and brute force disagree"

    def line(name: str, values: list[float]) -> str:
        return (
            f"{name:<12} n={len(values):<5} p50 {_percentile(values, 50):8.2f} ms"
            f"  p95 {_percentile(values, 95):8.2f} ms  p99 {_percentile(values, 99):8.2f} ms"
            f"  mean {statistics.fmean(values):8.2f} ms"
        )

    print(line("indexed", indexed))
    print(line("brute force", brute))
    p95_fast, p95_slow = _percentile(indexed, 95), _percentile(brute, 95)
    print(
        f"p95 ratio brute/indexed: {p95_slow / p95_fast:.0f}x;"
        f" target p95 <= 5 ms: {'met' if p95_fast <= 5 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
