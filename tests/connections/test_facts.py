"""The supervisor's view of business handling: working days taken by type and unit (average, p90, on-time rate),
the open breaches and violations of the business handling rules, the CSV of completed applications."""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import select

from audit.engine import Scope, run_rules
from connections import facts
from connections.models import Application
from core import workdays
from tests.audit.test_connection_rules import CONNECTIONS, ctx, days_ago, new_application, work
from tests.support import staff_sign_in


def test_percentile_is_the_nearest_rank() -> None:
    assert facts.percentile([], 0.9) == 0
    assert facts.percentile([5], 0.9) == 5
    assert facts.percentile(list(range(1, 11)), 0.9) == 9
    assert facts.percentile([3, 1, 2, 10], 0.9) == 10


def test_working_days_by_type_and_unit(session, world) -> None:
    start = workdays.add(days_ago(60), 0)
    for days in ([1, 4, 10], [1, 4, 10], [1, 6, 10]):  # 15, 15 and 17 working days against 15
        work(session, world, new_application(session, world, start), days)
    work(session, world, new_application(session, world, start, type="new_lv_residential", capacity_kva="8",
                                         category="residential"), [1, 2, 2])  # fmt: skip
    session.commit()
    took = facts.completed_since(session, world.root.path, days_ago(90))
    assert sorted(t.working_days for t in took) == [5, 15, 15, 17]
    [residential, business] = facts.times_by_type_and_unit(took)
    assert (residential.type, residential.count, residential.p90, residential.on_time_rate) == (
        "new_lv_residential", 1, 5, 1.0,
    )  # fmt: skip
    assert (business.count, round(business.average, 2), business.p90, business.on_time) == (3, 15.67, 17, 2)
    assert business.unit_code == "UA"
    assert facts.completed_since(session, world.unit_b.path, days_ago(90)) == []  # another unit's subtree
    assert facts.completed_since(session, world.root.path, TODAY_PLUS) == []


TODAY_PLUS = dt.date.today() + dt.timedelta(days=1)


def test_the_page_shows_times_breaches_and_exports_csv(client, session, world) -> None:
    late = new_application(session, world, workdays.add(days_ago(60), 0))
    work(session, world, late, [1, 6, 10])
    session.commit()
    run_rules(session, Scope(), ctx(), rules=CONNECTIONS)
    session.commit()
    staff_sign_in(client, "supervisor-a")
    html = client.get("/staff/connection-reports?days=90").get_data(as_text=True)
    assert "低压非居民新装" in html and "单位甲" in html and "YK-STEP-LATE" in html
    assert "0.0% (0/1)" in html
    response = client.get("/staff/connection-reports.csv?days=90")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    number = session.scalar(select(Application.application_no))
    assert [(r["application_no"], r["working_days"], r["on_time"]) for r in rows] == [(number, "17", "no")]


def test_only_supervisors_and_admins_see_it(client, world) -> None:
    staff_sign_in(client, "clerk-a")
    assert client.get("/staff/connection-reports").status_code == 403
