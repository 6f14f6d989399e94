"""Business handling audit benchmark: the three process rules (不走流程, 体外循环, 拆分容量) over N accounts opened by
their new-connection applications, each with a later change (2N applications with their steps), and planted
violations; timed in the same run against a plain scan of the same tables.

Generates N accounts over 10 units, each opened by a new connection worked in order and on time (low voltage
residential or business, or high voltage with its nine steps) and changed once since (a name change or a capacity
reduction, some still open); about --violation-rate of the accounts carry one planted violation: a step left out
(不走流程; half of them on a high-voltage connection still under way that has no account yet, in place of that
account), an account switched on with no application (体外循环) or one holder's two 40 kVA connections a month
apart (拆分容量). Then times:
  reference  a plain full scan of every table the rules read (the least any audit could cost),
  full run   the three rules over everything, creating the findings,
  rerun      the same again with nothing changed,
and checks that the findings are exactly the planted ones. Target: 100,000 accounts with 200,000 applications in
at most 60 s and at most 3x the reference.

Usage: python -m bench.connections [--accounts 10000] [--full] [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
from decimal import Decimal
from typing import Any

from bench._postgres import fresh_database

PROCESS_RULES = ("YK-PROCESS", "YK-OFF-SYSTEM", "YK-SPLIT")
TABLES = ("accounts", "applications", "application_steps", "trail_events", "meter_readings", "documents", "units")
_CHUNK = 20_000


def _steps(flows: Any, kind: str, received: dt.date, workdays: Any, *, done: int | None = None) -> list[dict[str, Any]]:
    """The type's steps, the first ``done`` (all by default) done on their due dates."""
    rows, day = [], received
    for position, step in enumerate(flows.steps_of(kind)):
        due = workdays.add(day, step.days)
        finished = done is None or position < done
        rows.append(
            {
                "step": step.name,
                "position": position,
                "limit_days": step.days,
                "waited_days": 0,
                "due_on": due,
                "done_on": due if finished else None,
                "fields": {"result": "passed"} if step.name in flows.CHECKS and finished else None,
            }
        )
        if finished:
            day = due
    return rows


def generate(n: int, today: dt.date, unit_ids: list[int], violation_rate: float) -> tuple[dict[str, list], set]:  # type: ignore[type-arg]
    """Rows for accounts, applications and steps (ids given), and the findings the plants must produce."""
    from connections import flows
    from core import workdays

    rng = random.Random(15)
    accounts: list[dict[str, Any]] = []
    applications: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    expected: set[tuple[str, str]] = set()
    kinds = ("new_lv_residential", "new_lv_business", "new_hv_single")
    capacities = {"new_lv_residential": (8, 16), "new_lv_business": (30, 100, 200), "new_hv_single": (400, 630)}

    def application(kind: str, account_id: int | None, received: dt.date, holder: str, place: dict[str, Any],
                    capacity: int, *, done: int | None = None, unit: int = 0) -> dict[str, Any]:  # fmt: skip
        app_id = len(applications) + 1
        rows = _steps(flows, kind, received, workdays, done=done)
        finished = all(r["done_on"] for r in rows)
        row = {
            "id": app_id,
            "application_no": f"YK{app_id:012d}",
            "type": kind,
            "status": "completed" if finished else "in_progress",
            "unit_id": unit_ids[(account_id or unit) % len(unit_ids)],
            "account_id": account_id,
            "applicant_name": holder,
            "applicant_phone": "13900000000",
            "holder_key": f"{holder}|h{holder}",
            "capacity_kva": Decimal(capacity) if kind in flows.WITH_CAPACITY else None,
            "category": place["category"] if kind in flows.NEW_CONNECTIONS else None,
            "new_holder_name": holder if kind in flows.WITH_NEW_HOLDER else None,
            "address": place["address"],
            "lat": place["lat"],
            "lon": place["lon"],
            "received_at": dt.datetime.combine(received, dt.time(1, 0), tzinfo=dt.UTC),
            "received_on": received,
            "current_step": None if finished else next(r["step"] for r in rows if r["done_on"] is None),
            "completed_on": rows[-1]["done_on"] if finished else None,
        }
        applications.append(row)
        steps.extend({**r, "application_id": app_id} for r in rows)
        return row

    def account(account_id: int, holder: str, place: dict[str, Any], capacity: int, connected: dt.date) -> None:
        accounts.append(
            {
                "id": account_id,
                "account_no": f"{4000000000 + account_id}",
                "holder_name": holder,
                "id_last4_hash": f"h{holder}",
                "tariff_code": "ZJ-GEN-FLAT",
                "unit_id": unit_ids[account_id % len(unit_ids)],
                "status": "active",
                "capacity_kva": Decimal(capacity),
                "connected_on": connected,
                **place,
            }
        )

    for i in range(1, n + 1):
        holder = f"户{i}"
        # a 333 m grid: no two accounts are neighbours
        place = {"address": f"示范路 {i} 号", "lat": 30.0 + (i % 600) * 0.003, "lon": 120.0 + (i // 600) * 0.003}
        plant = rng.choice(PROCESS_RULES) if rng.random() < violation_rate else None
        if plant == "YK-OFF-SYSTEM":
            place["category"] = "general"
            account(i, holder, place, 100, today - dt.timedelta(days=rng.randint(5, 60)))
            expected.add(("YK-OFF-SYSTEM", f"account:{4000000000 + i}"))
            continue
        if plant == "YK-SPLIT":  # this holder's second 40 kVA shop a month later, far from everyone else
            lon = 115.0 + (i // 600) * 0.003
            place = {"address": f"拆分路 {i} 号", "lat": 35.0 + (i % 600) * 0.003, "lon": lon, "category": "general"}
            first_on = today - dt.timedelta(days=rng.randint(80, 300))
            first = application("new_lv_business", i, first_on, holder, place, 40)
            account(i, holder, place, 40, first["completed_on"])
            expected.add(("YK-SPLIT", f"split:application:{first['application_no']}"))
            second_id = n + i
            next_door = {**place, "address": f"拆分路 {i} 号之一", "lon": lon + 0.0002}
            second = application("new_lv_business", second_id, first_on + dt.timedelta(days=30), holder, next_door, 40)
            account(second_id, holder, next_door, 40, second["completed_on"])
            continue
        if plant == "YK-PROCESS" and rng.random() < 0.5:
            # a high-voltage connection under way, no account yet, its survey left out before the supply plan
            place["category"] = "large_industrial"
            opened = application("new_hv_single", None, today - dt.timedelta(days=rng.randint(60, 120)), holder,
                                 place, 630, done=4, unit=i)  # fmt: skip
            survey = next(s for s in steps if s["application_id"] == opened["id"] and s["step"] == "site_survey")
            survey["done_on"] = None
            expected.add(("YK-PROCESS", f"application:{opened['application_no']}:site_survey"))
            continue
        kind = rng.choice(kinds)
        place["category"] = {"new_lv_residential": "residential", "new_hv_single": "large_industrial"}.get(
            kind, "general"
        )
        capacity = rng.choice(capacities[kind])
        received = today - dt.timedelta(days=rng.randint(200, 2000))
        opened = application(kind, i, received, holder, place, capacity)
        if plant == "YK-PROCESS":  # a step left out: the survey never done, the connection done all the same
            survey = next(s for s in steps if s["application_id"] == opened["id"] and s["step"] == "site_survey")
            survey["done_on"] = None
            expected.add(("YK-PROCESS", f"application:{opened['application_no']}:site_survey"))
        account(i, holder, place, capacity, opened["completed_on"])
        change = rng.choice(("name_change", "capacity_reduction"))
        later = opened["completed_on"] + dt.timedelta(days=rng.randint(30, 150))
        application(change, i, later, holder, place, max(1, capacity // 2), done=None if rng.random() < 0.8 else 1)
    return {"accounts": accounts, "applications": applications, "steps": steps}, expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--full", action="store_true", help="the issue's size: 100,000 accounts")
    parser.add_argument("--violation-rate", type=float, default=0.03)
    parser.add_argument(
        "--database-url", default=None, help="default: a fresh SQLite file (PostgreSQL: drops and recreates its tables)"
    )
    args = parser.parse_args()
    n = 100_000 if args.full else args.accounts

    workdir = tempfile.mkdtemp(prefix="griddesk-bench-connections-")
    os.environ.setdefault("GRIDDESK_INSTANCE", workdir)
    if args.database_url and args.database_url.startswith("postgresql"):
        fresh_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{workdir}/bench.db"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"

    from sqlalchemy import func, select, text
    from tqdm import tqdm

    from audit.engine import Scope, run_rules
    from audit.models import Finding
    from audit.rules import get_rule
    from audit.settings import context
    from billing.models import Account
    from connections.models import Application, ApplicationStep
    from core.db import copy_rows, db, utcnow
    from core.identity import create_unit, ensure_root_unit
    from webapp import create_app
    from webapp.models import load_all

    app = create_app()
    assert db.engine is not None
    metadata = load_all().metadata
    metadata.drop_all(db.engine)
    metadata.create_all(db.engine)
    backend = db.engine.dialect.name
    rules = [get_rule(code) for code in PROCESS_RULES]

    with app.app_context():
        today = context().today
        session = db.new_session()
        root = ensure_root_unit(session)
        unit_ids = [create_unit(session, f"U{i:02d}", f"供电所{i:02d}", root.code).id for i in range(10)]
        session.commit()
        t0 = time.perf_counter()
        rows, expected = generate(n, today, unit_ids, args.violation_rate)
        now = utcnow()
        defaults = {"meter_multiplier": Decimal(1), "balance": Decimal(0), "created_at": now}
        for model, key in ((Account, "accounts"), (Application, "applications"), (ApplicationStep, "steps")):
            columns = sorted({name for row in rows[key] for name in row})
            if model is Account:
                columns += sorted(defaults)
            for start in tqdm(range(0, len(rows[key]), _CHUNK), desc=key, unit="chunk", file=sys.stderr):
                chunk = [[row.get(c, defaults.get(c)) for c in columns] for row in rows[key][start : start + _CHUNK]]
                copy_rows(session, model, columns, chunk)
        session.commit()
        if backend == "postgresql":
            session.execute(text("ANALYZE"))
            session.commit()
        print(f"backend: {backend}; {len(rows['accounts']):,} accounts, {len(rows['applications']):,} applications, "
              f"{len(rows['steps']):,} steps, {len(expected):,} planted violations; "
              f"generated in {time.perf_counter() - t0:.1f} s")  # fmt: skip

        t0 = time.perf_counter()
        for table in TABLES:  # every row and column, once: what any audit must at least read
            session.execute(text(f"SELECT * FROM {table}")).all()
        reference = time.perf_counter() - t0
        session.rollback()

        timings = []
        ctx = context(today)
        for label in ("full run", "rerun"):
            per_rule = []
            t0 = time.perf_counter()
            for rule in rules:
                r0 = time.perf_counter()
                assert rule is not None
                counts = run_rules(session, Scope(), ctx, rules=[rule])
                session.commit()
                per_rule.append(f"{rule.code} {time.perf_counter() - r0:.2f} s ({counts.problems:,})")
            timings.append(time.perf_counter() - t0)
            print(f"{label:<10} {timings[-1]:7.2f} s  ({'; '.join(per_rule)})")

        found = {(r, s) for r, s in session.execute(select(Finding.rule, Finding.subject))}
        assert found == expected, f"findings differ from the planted violations: {sorted(found ^ expected)[:10]}"
        count = session.scalar(select(func.count()).select_from(Finding))
        print(f"reference  {reference:7.2f} s  (plain full scan of {', '.join(TABLES)})")
        print(f"full run / reference: {timings[0] / reference:.1f}x (target <= 3x); "
              f"rerun / reference: {timings[1] / reference:.1f}x")  # fmt: skip
        print(f"full run over {len(rows['accounts']):,} accounts and {len(rows['applications']):,} applications: "
              f"{timings[0]:.1f} s (target <= 60 s); findings: {count:,}, exactly the planted ones")  # fmt: skip
        session.close()


if __name__ == "__main__":
    main()
