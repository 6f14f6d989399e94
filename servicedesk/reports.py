"""The supervisor's figures over the tickets received in a period, within the caller's units: on-time rate per kind
and unit, average arrival and restoration times against the commitments, complaints per 10,000 accounts, the top
causes of faults, satisfaction, and repeated complaints."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.models import Account
from core.db import utcnow
from core.identity import Unit, User
from core.scope import in_scope, under

from . import settings
from .models import Ticket, TicketStep


@dataclass
class Supervision:
    since: dt.datetime
    until: dt.datetime
    on_time: list[dict[str, Any]] = field(default_factory=list)  # per kind and unit
    arrival_minutes: float | None = None
    restoration_hours: float | None = None
    arrival_commitment: int = 45
    restoration_commitment: float = 3
    complaints_per_10k: list[dict[str, Any]] = field(default_factory=list)  # per unit
    causes: list[dict[str, Any]] = field(default_factory=list)
    satisfaction: list[dict[str, Any]] = field(default_factory=list)  # per kind
    repeated: list[dict[str, Any]] = field(default_factory=list)  # complaints flagged 重复投诉
    # per unit: on-time rate of all steps, arrival and restoration averages against the unit's own commitments
    # (its area class), complaints per 10,000 accounts
    per_unit: list[dict[str, Any]] = field(default_factory=list)
    unit: str | None = None  # the unit (code) whose subtree the figures cover; None: all the caller's units


def _minutes(delta: Any) -> float:
    return delta.total_seconds() / 60 if isinstance(delta, dt.timedelta) else float(delta)


def _commitments(area_class: str) -> tuple[int, float]:
    """The arrival (minutes) and restoration (hours) commitments of an area class."""
    klass = area_class.upper()
    return (
        int(settings.get(f"SERVICEDESK_ARRIVAL_MINUTES_{klass}")),
        float(settings.get(f"SERVICEDESK_RESTORE_HOURS_{klass}")),
    )


def supervision(
    session: Session, user: User, since: dt.datetime, until: dt.datetime, unit: Unit | None = None
) -> Supervision:
    """The figures for tickets received in [since, until) in the user's units, or in the subtree of ``unit`` (one
    of the units the user sees: the caller checks it with ``core.scope``)."""
    now = utcnow()
    report = Supervision(
        since=since,
        until=until,
        arrival_commitment=int(settings.get("SERVICEDESK_ARRIVAL_MINUTES_URBAN")),
        restoration_commitment=float(settings.get("SERVICEDESK_RESTORE_HOURS_URBAN")),
        unit=unit.code if unit is not None else None,
    )
    window: tuple[Any, ...] = (Ticket.received_at >= since, Ticket.received_at < until, in_scope(user, Ticket.unit_id))
    unit_rows = select(Unit).where(in_scope(user, Unit.id))
    if unit is not None:
        window = (*window, under(unit.path, Ticket.unit_id))
        unit_rows = unit_rows.where(under(unit.path, Unit.id))
    units = {u.id: u.name for u in session.scalars(unit_rows)}
    # on time: every step that is done, or due by now, counts; on time when done by its due time
    steps = session.execute(
        select(Ticket.kind, Ticket.unit_id, TicketStep.due_at, TicketStep.done_at)
        .join(TicketStep, TicketStep.ticket_id == Ticket.id)
        .where(*window, Ticket.status != "merged", TicketStep.due_at.isnot(None))
    ).all()
    tally: dict[tuple[str, int], list[int]] = {}
    for kind, unit_id, due, done in steps:
        if due is None or (done is None and due > now):
            continue
        counts = tally.setdefault((kind, unit_id), [0, 0])
        counts[0] += 1
        counts[1] += int(done is not None and done <= due)
    report.on_time = [
        {"kind": kind, "unit": units.get(unit_id, ""), "steps": total, "on_time": good, "rate": good / total}
        for (kind, unit_id), (total, good) in sorted(tally.items(), key=lambda item: (item[0][0], item[0][1]))
    ]
    # arrival and restoration of fault reports: from the report to the step done
    faults = session.execute(
        select(Ticket.received_at, TicketStep.step, TicketStep.done_at, Ticket.unit_id, Ticket.area_class)
        .join(TicketStep, TicketStep.ticket_id == Ticket.id)
        .where(*window, Ticket.kind == "fault_repair", TicketStep.step.in_(("on_site", "restored")))
        .where(TicketStep.done_at.isnot(None))
    ).all()
    arrivals = [_minutes(f.done_at - f.received_at) for f in faults if f.step == "on_site" and f.done_at]
    restorations = [_minutes(f.done_at - f.received_at) / 60 for f in faults if f.step == "restored" and f.done_at]
    report.arrival_minutes = sum(arrivals) / len(arrivals) if arrivals else None
    report.restoration_hours = sum(restorations) / len(restorations) if restorations else None
    # complaints per 10,000 accounts of each unit
    complaints = dict(
        session.execute(
            select(Ticket.unit_id, func.count()).where(*window, Ticket.kind == "complaint").group_by(Ticket.unit_id)
        ).all()
    )
    accounts = dict(
        session.execute(
            select(Account.unit_id, func.count())
            .where(in_scope(user, Account.unit_id), *([under(unit.path, Account.unit_id)] if unit else []))
            .group_by(Account.unit_id)
        ).all()
    )
    report.complaints_per_10k = [
        {
            "unit": units.get(unit_id, ""),
            "complaints": complaints.get(unit_id, 0),
            "accounts": accounts.get(unit_id, 0),
            "per_10k": complaints.get(unit_id, 0) * 10_000 / accounts[unit_id] if accounts.get(unit_id) else None,
        }
        for unit_id in sorted(set(complaints) | set(accounts), key=lambda u: units.get(u, ""))
    ]
    report.per_unit = _per_unit(units, tally, faults, complaints, accounts)
    report.causes = [
        {"cause": cause, "count": count}
        for cause, count in session.execute(
            select(Ticket.cause, func.count().label("n"))
            .where(*window, Ticket.kind == "fault_repair", Ticket.cause.isnot(None))
            .group_by(Ticket.cause)
            .order_by(func.count().desc(), Ticket.cause)
            .limit(10)
        ).all()
    ]
    report.satisfaction = [
        {"kind": kind, "rated": rated, "average": float(average)}
        for kind, rated, average in session.execute(
            select(Ticket.kind, func.count(), func.avg(Ticket.rating_score))
            .where(*window, Ticket.rating_score.isnot(None))
            .group_by(Ticket.kind)
            .order_by(Ticket.kind)
        ).all()
    ]
    report.repeated = [
        {"ticket_no": no, "received_at": received, "status": status}
        for no, received, status in session.execute(
            select(Ticket.ticket_no, Ticket.received_at, Ticket.status)
            .where(*window, Ticket.repeated.is_(True))
            .order_by(Ticket.received_at.desc())
            .limit(100)
        ).all()
    ]
    return report


def _average(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _per_unit(
    units: dict[int, str],
    tally: dict[tuple[str, int], list[int]],
    faults: Any,
    complaints: dict[int, int],
    accounts: dict[int, int],
) -> list[dict[str, Any]]:
    """Each unit with tickets or accounts: its on-time rate over every kind, its repairs' average arrival and
    restoration against the commitments of its area class, its complaints per 10,000 accounts."""
    steps: dict[int, list[int]] = {}
    for (_kind, unit_id), (total, good) in tally.items():
        counts = steps.setdefault(unit_id, [0, 0])
        counts[0] += total
        counts[1] += good
    arrivals: dict[int, list[float]] = {}
    restorations: dict[int, list[float]] = {}
    classes: dict[int, str] = {}
    for f in faults:
        classes.setdefault(f.unit_id, f.area_class)
        if f.step == "on_site":
            arrivals.setdefault(f.unit_id, []).append(_minutes(f.done_at - f.received_at))
        else:
            restorations.setdefault(f.unit_id, []).append(_minutes(f.done_at - f.received_at) / 60)
    rows = []
    for unit_id in sorted(set(steps) | set(arrivals) | set(complaints) | set(accounts), key=lambda u: units.get(u, "")):
        if unit_id not in units:
            continue
        arrival_commitment, restoration_commitment = _commitments(classes.get(unit_id, "urban"))
        total, good = steps.get(unit_id, [0, 0])
        arrival, restoration = _average(arrivals.get(unit_id, [])), _average(restorations.get(unit_id, []))
        rows.append(
            {
                "unit": units[unit_id],
                "area_class": classes.get(unit_id, "urban"),
                "steps": total,
                "on_time": good,
                "rate": good / total if total else None,
                "arrival_minutes": arrival,
                "arrival_commitment": arrival_commitment,
                "arrival_met": None if arrival is None else arrival <= arrival_commitment,
                "restoration_hours": restoration,
                "restoration_commitment": restoration_commitment,
                "restoration_met": None if restoration is None else restoration <= restoration_commitment,
                "complaints": complaints.get(unit_id, 0),
                "accounts": accounts.get(unit_id, 0),
                "per_10k": complaints.get(unit_id, 0) * 10_000 / accounts[unit_id] if accounts.get(unit_id) else None,
            }
        )
    return rows


def csv_rows(report: Supervision) -> list[list[str]]:
    """The report as CSV rows: one section per figure, a header row each."""
    rows: list[list[str]] = [["section", "kind", "unit", "value", "count", "of"]]
    for r in report.on_time:
        rows.append(["on_time_rate", r["kind"], r["unit"], f"{r['rate']:.4f}", str(r["on_time"]), str(r["steps"])])
    if report.arrival_minutes is not None:
        rows.append(["arrival_minutes", "fault_repair", "", f"{report.arrival_minutes:.1f}", "", ""])
    if report.restoration_hours is not None:
        rows.append(["restoration_hours", "fault_repair", "", f"{report.restoration_hours:.2f}", "", ""])
    for r in report.complaints_per_10k:
        value = "" if r["per_10k"] is None else f"{r['per_10k']:.2f}"
        rows.append(
            ["complaints_per_10k_accounts", "complaint", r["unit"], value, str(r["complaints"]), str(r["accounts"])]
        )
    for r in report.causes:
        rows.append(["cause", "fault_repair", "", r["cause"], str(r["count"]), ""])
    for r in report.satisfaction:
        rows.append(["satisfaction", r["kind"], "", f"{r['average']:.2f}", str(r["rated"]), ""])
    for r in report.repeated:
        rows.append(["repeated_complaint", "complaint", "", r["ticket_no"], "", ""])
    for r in report.per_unit:  # per unit: value, then (count, of) or (average, commitment)
        if r["rate"] is not None:
            rows.append(["unit_on_time_rate", "", r["unit"], f"{r['rate']:.4f}", str(r["on_time"]), str(r["steps"])])
        if r["arrival_minutes"] is not None:
            rows.append(
                ["unit_arrival_minutes", "fault_repair", r["unit"], f"{r['arrival_minutes']:.1f}", "",
                 str(r["arrival_commitment"])]
            )  # fmt: skip
        if r["restoration_hours"] is not None:
            rows.append(
                ["unit_restoration_hours", "fault_repair", r["unit"], f"{r['restoration_hours']:.2f}", "",
                 f"{r['restoration_commitment']:g}"]
            )  # fmt: skip
    return rows
