"""Service desk benchmark: a storm of fault reports, taken in through the API and grouped into incidents.

Generates N fault reports (default 2,000; ``--full`` 20,000) spread over 10 minutes of simulated time around storm
centres inside the demo company's service area, then in one run:

1. intake: each report as ``POST /api/v1/tickets`` (a signed-in customer; checks, unit, SLA clock, timeline, trail,
   outbox, grouping on intake) through Werkzeug's test client, reports per second;
2. reference: a bare insert of the same ticket rows, one INSERT and COMMIT each (what any intake must at least do),
   rows per second; the intake ratio is (1) over (2), target at least 0.2;
3. grouping: the same N rows (bare-inserted, ungrouped, with their simulated times) grouped into incidents at once
   by ``servicedesk.incidents.group_reports``, seconds, target at most 5 s for 20,000.

Usage: python -m bench.servicedesk [--reports N | --full] [--database-url URL] [--profile N]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import hashlib
import os
import pstats
import random
import tempfile
import time
from collections.abc import Iterable
from typing import Any

from bench._postgres import fresh_database


def _reports(n: int, centre: tuple[float, float], start: dt.datetime, seed: int = 16) -> list[dict[str, object]]:
    """N reports over 10 minutes: 80 % around 150 storm centres (a street each), 20 % scattered."""
    rng = random.Random(seed)
    storms = [(centre[0] + rng.uniform(-0.02, 0.02), centre[1] + rng.uniform(-0.02, 0.02)) for _ in range(150)]
    reports = []
    for i in range(n):
        if rng.random() < 0.8:
            lat, lon = storms[rng.randrange(len(storms))]
            lat, lon = lat + rng.gauss(0, 0.001), lon + rng.gauss(0, 0.001)
        else:
            lat, lon = centre[0] + rng.uniform(-0.02, 0.02), centre[1] + rng.uniform(-0.02, 0.02)
        reports.append(
            {
                "kind": "fault_repair",
                "description": f"大风后停电，第 {i} 号报修",
                "lat": round(lat, 6),
                "lon": round(lon, 6),
                "at": start + dt.timedelta(seconds=600 * i / n),
            }
        )
    return reports


def _grouping_digest(incident_ids: Iterable[Any]) -> str:
    """Which reports, in the order taken in, share an incident (incidents numbered as they first appear), hashed:
    two runs (two versions of the intake) grouped the storm alike when their digests are equal."""
    numbered: dict[int, int] = {}
    shape = [None if i is None else numbered.setdefault(i, len(numbered)) for (i,) in incident_ids]
    return hashlib.sha256(repr(shape).encode()).hexdigest()[:12]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--full", action="store_true", help="20,000 reports")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the intake's N costliest calls")
    args = parser.parse_args()
    n = 20_000 if args.full else args.reports

    workdir = tempfile.mkdtemp(prefix="griddesk-bench-servicedesk-")
    os.environ.setdefault("GRIDDESK_INSTANCE", workdir)
    if args.database_url and args.database_url.startswith("postgresql"):
        fresh_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{workdir}/bench.db"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    os.environ["RATELIMIT_ENABLED"] = "0"

    from sqlalchemy import delete, func, insert, select

    from billing.models import Account
    from core import outbox
    from core.db import db, utcnow
    from core.identity import User
    from servicedesk.incidents import group_reports
    from servicedesk.models import Incident, Ticket
    from webapp import create_app
    from webapp.models import load_all

    app = create_app()
    assert db.engine is not None
    load_all().metadata.drop_all(db.engine)
    load_all().metadata.create_all(db.engine)
    app.test_cli_runner().invoke(args=["griddesk", "seed-demo"])
    # the reporters' notices are made by workers after the intake, not in the request: no relay inline here
    outbox.configure(3600.0)
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.account_no == "3301000001"))
        assert account is not None and account.lat is not None and account.lon is not None
        centre = (account.lat, account.lon)
        unit_id = account.unit_id
        customer_id = db.session.scalar(select(User.id).where(User.username == "13800000000"))
        db.session.execute(delete(Incident))
        db.session.execute(delete(Ticket))
        db.session.commit()

    start = utcnow()
    reports = _reports(n, centre, start)
    client = app.test_client()
    login = {"username": "13800000000", "password": "customer-demo-2026"}
    token = client.post("/api/v1/auth/token", json=login).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    loop = time.perf_counter()
    sum(i * i for i in range(1_000_000))
    print(f"machine: a fixed Python loop took {1000 * (time.perf_counter() - loop):.0f} ms")

    profiler = cProfile.Profile() if args.profile else None
    t0 = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    for report in reports:
        body = {k: report[k] for k in ("kind", "description", "lat", "lon")}
        response = client.post("/api/v1/tickets", json=body, headers=headers)
        assert response.status_code == 201, response.get_data(as_text=True)
    intake = n / (time.perf_counter() - t0)
    if profiler is not None:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)
    with app.app_context():
        grouped_on_intake = db.session.scalar(select(func.count()).select_from(Incident))
        grouping_digest = _grouping_digest(db.session.execute(select(Ticket.incident_id).order_by(Ticket.id)))
        db.session.execute(delete(Incident))
        db.session.execute(delete(Ticket))
        db.session.commit()

    rows = [
        {
            "ticket_no": f"B{i:015d}",
            "kind": "fault_repair",
            "status": "received",
            "unit_id": unit_id,
            "reporter_id": customer_id,
            "description": r["description"],
            "lat": r["lat"],
            "lon": r["lon"],
            "area_class": "urban",
            "received_at": r["at"],
            "due_at": r["at"] + dt.timedelta(minutes=45),  # type: ignore[operator]
            "reopened": 0,
            "repeated": False,
        }
        for i, r in enumerate(reports)
    ]
    t0 = time.perf_counter()
    with db.engine.connect() as conn:
        for row in rows:
            conn.execute(insert(Ticket.__table__), row)
            conn.commit()
    bare = n / (time.perf_counter() - t0)

    with app.app_context():
        t0 = time.perf_counter()
        made = group_reports(db.session, start - dt.timedelta(minutes=1), start + dt.timedelta(minutes=11))
        db.session.commit()
        grouping = time.perf_counter() - t0
        in_incidents = sum(i.ticket_count for i in made)

    print(f"reports: {n} over 10 minutes of simulated time ({db.engine.dialect.name})")
    print(f"intake through the API: {intake:,.0f} reports/s ({grouped_on_intake} incidents formed on intake, "
          f"grouping {grouping_digest})")  # fmt: skip
    print(f"bare insert, one INSERT and COMMIT per row: {bare:,.0f} rows/s")
    print(f"intake ratio: {intake / bare:.2f} (target >= 0.2)")
    print(f"grouping all {n} at once: {grouping:.2f} s, {len(made)} incidents holding {in_incidents} reports "
          f"(target <= 5 s for 20,000)")  # fmt: skip


if __name__ == "__main__":
    main()
