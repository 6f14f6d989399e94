"""The supervisor's measures of business handling ("getting electricity"): how long completed applications took,
in working days with the clock stopped while the customer owed something, by type and unit: average, p90 and the
share done within the type's total limit (the published commitment, else the sum of its steps' limits)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import workdays
from core.identity import Unit
from core.scope import under

from . import flows
from .models import Application, ApplicationStatus, ApplicationStep


@dataclass(frozen=True)
class Took:
    """One completed application: its working days (clock stops taken out) against its total limit."""

    application_no: str
    type: str
    unit_code: str
    unit_name: str
    received_on: dt.date
    completed_on: dt.date
    working_days: int
    allowed_days: int

    @property
    def on_time(self) -> bool:
        return self.working_days <= self.allowed_days


@dataclass(frozen=True)
class TimeRow:
    type: str
    unit_code: str
    unit_name: str
    count: int
    average: float
    p90: int
    on_time: int

    @property
    def on_time_rate(self) -> float:
        return self.on_time / self.count if self.count else 1.0


def percentile(values: list[int], share: float) -> int:
    """The nearest-rank percentile (p90: the smallest value at least 90 % of the values do not exceed)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else 0


def completed_since(session: Session, unit_path: str, since: dt.date) -> list[Took]:
    """The applications of the unit subtree completed on or after ``since``, with the working days they took."""
    steps = (
        select(
            ApplicationStep.application_id,
            func.sum(ApplicationStep.limit_days).label("limits"),
            func.sum(ApplicationStep.waited_days).label("waited"),
        )
        .group_by(ApplicationStep.application_id)
        .subquery("step_totals")
    )
    rows = session.execute(
        select(
            Application.application_no,
            Application.type,
            Unit.code,
            Unit.name,
            Application.received_on,
            Application.completed_on,
            steps.c.limits,
            steps.c.waited,
        )
        .join(Unit, Unit.id == Application.unit_id)
        .join(steps, steps.c.application_id == Application.id)
        .where(
            Application.status == ApplicationStatus.COMPLETED,
            Application.completed_on >= since,
            under(unit_path, Application.unit_id),
        )
        .order_by(Application.completed_on, Application.id)
    ).all()
    result = []
    for no, kind, code, name, received, completed, limits, waited in rows:
        took = max(0, workdays.count(received, completed) - int(waited or 0))
        allowed = flows.TOTAL_LIMITS.get(kind, int(limits or 0))
        result.append(Took(no, kind, code, name, received, completed, took, allowed))
    return result


def times_by_type_and_unit(took: list[Took]) -> list[TimeRow]:
    """Average, p90 and on-time count per (type, unit), in the order of the types' table, then the unit code."""
    groups: dict[tuple[str, str, str], list[Took]] = {}
    for item in took:
        groups.setdefault((item.type, item.unit_code, item.unit_name), []).append(item)
    order = {kind: n for n, kind in enumerate(flows.FLOWS)}
    rows = []
    for (kind, code, name), items in sorted(groups.items(), key=lambda g: (order.get(g[0][0], 99), g[0][1])):
        days = [i.working_days for i in items]
        rows.append(
            TimeRow(
                kind,
                code,
                name,
                len(items),
                sum(days) / len(days),
                percentile(days, 0.9),
                sum(i.on_time for i in items),
            )
        )
    return rows


def times_by_type(took: list[Took]) -> list[dict[str, Any]]:
    """The same per type over every unit: for the chart."""
    merged = [Took(t.application_no, t.type, "", "", t.received_on, t.completed_on, t.working_days, t.allowed_days)
              for t in took]  # fmt: skip
    return [
        {"type": r.type, "average": round(r.average, 1), "p90": r.p90, "on_time_rate": r.on_time_rate, "count": r.count}
        for r in times_by_type_and_unit(merged)
    ]
