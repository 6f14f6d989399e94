"""The supervisor's view of business handling: how long connections and changes take by type and unit ("getting
electricity": average and p90 working days, on-time rate), the open time-limit breaches and violation findings of
the business handling rules, as charts and tables, and the completed applications as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from flask import Response, abort, render_template, request

from audit import dashboard
from connections import facts
from connections.labels import TYPE_ZH
from core import clock
from core.db import db
from core.identity import Role
from core.scope import scope_path
from webapp.templating import STAFF_NAV

from . import staff
from .access import staff_required, staff_user

SUPERVISION = (Role.SUPERVISOR, Role.ADMIN)
PERIODS = (30, 90, 365)  # days back to count completed applications from
RULE_PREFIX = "YK-"

STAFF_NAV.append(("staff.connection_report", "Getting electricity", frozenset(SUPERVISION)))


def _period() -> int:
    try:
        days = int(request.args.get("days", "365"))
    except ValueError:
        return 365
    return days if days in PERIODS else 365


def _completed() -> tuple[int, list[facts.Took]]:
    path = scope_path(staff_user())
    if path is None:
        abort(403)
    days = _period()
    since = clock.today_local() - dt.timedelta(days=days)
    return days, facts.completed_since(db.session, path, since)


@staff.get("/connection-reports")
@staff_required(*SUPERVISION)
def connection_report() -> Any:
    days, took = _completed()
    path = scope_path(staff_user())
    assert path is not None
    findings = [r for r in dashboard.open_by_rule(db.session, path) if str(r["rule"]).startswith(RULE_PREFIX)]
    by_type = [{**row, "label": TYPE_ZH.get(row["type"], row["type"])} for row in facts.times_by_type(took)]
    return render_template(
        "connections/connection_reports.html",
        days=days,
        periods=PERIODS,
        rows=facts.times_by_type_and_unit(took),
        by_type=by_type,
        findings=findings,
        completed=len(took),
        on_time=sum(t.on_time for t in took),
        type_names=TYPE_ZH,
    )


@staff.get("/connection-reports.csv")
@staff_required(*SUPERVISION)
def connection_report_csv() -> Any:
    days, took = _completed()
    buffer = io.StringIO()
    buffer.write("\ufeff")  # so that spreadsheet programs read the Chinese text as UTF-8
    writer = csv.writer(buffer)
    writer.writerow(
        ["application_no", "type", "type_name", "unit", "unit_name", "received_on", "completed_on",
         "working_days", "allowed_days", "on_time"]
    )  # fmt: skip
    for t in took:
        writer.writerow(
            [t.application_no, t.type, TYPE_ZH.get(t.type, t.type), t.unit_code, t.unit_name, t.received_on.isoformat(),
             t.completed_on.isoformat(), t.working_days, t.allowed_days, "yes" if t.on_time else "no"]
        )  # fmt: skip
    name = f"connection-times-{days}d.csv"
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )
