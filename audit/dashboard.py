"""Figures for the supervisor's dashboard: open findings by rule, unit and age; filing rates per unit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from billing.models import Account
from core.db import utcnow
from core.identity import Unit
from core.scope import under

from .findings import finding_unit_id, with_owner
from .models import ACTIVE_STATUSES, Finding
from .rules import RuleContext, all_rules

AGE_BUCKETS = ((0, 7, "0-7"), (8, 30, "8-30"), (31, 90, "31-90"), (91, None, "90+"))


@dataclass(frozen=True)
class UnitRate:
    unit_code: str
    unit_name: str
    accounts: int
    required: int  # documents the accounts' dossiers should hold
    filed: int  # of those, documents that are in the dossier
    complete: int  # accounts whose dossier holds every required document

    @property
    def filing_rate(self) -> float:
        return self.filed / self.required if self.required else 1.0

    @property
    def completeness(self) -> float:
        return self.complete / self.accounts if self.accounts else 1.0


# Set by the filing rules once the archive's models exist: (session, unit path, context) -> rates per unit
RATES_PROVIDER: list[Callable[[Session, str, RuleContext], list[UnitRate]]] = []


def _open_in_scope(unit_path: str) -> Any:
    return with_owner(select(Finding)).where(under(unit_path, finding_unit_id()), Finding.status.in_(ACTIVE_STATUSES))


def open_by_rule(session: Session, unit_path: str) -> list[dict[str, Any]]:
    base = _open_in_scope(unit_path).subquery()
    rows = session.execute(
        select(base.c.rule, base.c.severity, func.count()).group_by(base.c.rule, base.c.severity)
    ).all()
    titles = {r.code: r.title for r in all_rules()}
    counts: dict[str, dict[str, Any]] = {}
    for rule, severity, count in rows:
        entry = counts.setdefault(
            rule, {"rule": rule, "title": titles.get(rule, rule), "severity": severity, "open": 0}
        )
        entry["open"] += count
    return sorted(counts.values(), key=lambda e: (-e["open"], e["rule"]))


def open_by_unit(session: Session, unit_path: str) -> list[dict[str, Any]]:
    stmt = (
        with_owner(select(Unit.code, Unit.name, func.count(Finding.id)).select_from(Finding))
        .where(under(unit_path, finding_unit_id()), Finding.status.in_(ACTIVE_STATUSES))
        .group_by(Unit.code, Unit.name)
        .order_by(func.count(Finding.id).desc(), Unit.code)
    )
    return [{"unit": code, "name": name, "open": n} for code, name, n in session.execute(stmt)]


def open_by_age(session: Session, unit_path: str, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Open findings by days since found, in fixed buckets (computed in Python over found_at: portable)."""
    now = now or utcnow()
    buckets = {label: 0 for _lo, _hi, label in AGE_BUCKETS}
    base = _open_in_scope(unit_path).with_only_columns(Finding.found_at).subquery()
    day = func.date(base.c.found_at)
    for found_on, n in session.execute(select(day, func.count()).group_by(day)):
        found_date = found_on if isinstance(found_on, dt.date) else dt.date.fromisoformat(str(found_on)[:10])
        age = (now.date() - found_date).days
        for lo, hi, label in AGE_BUCKETS:
            if age >= lo and (hi is None or age <= hi):
                buckets[label] += n
                break
    return [{"bucket": label, "open": n} for label, n in buckets.items()]


def status_totals(session: Session, unit_path: str) -> dict[str, int]:
    stmt = (
        select(Finding.status, func.count())
        .select_from(Finding)
        .outerjoin(Account, Account.id == Finding.account_id)
        .where(under(unit_path, finding_unit_id()))
        .group_by(Finding.status)
    )
    totals = {"open": 0, "assigned": 0, "remediated": 0, "waived": 0}
    totals.update({status: n for status, n in session.execute(stmt)})
    return totals


def unit_rates(session: Session, unit_path: str, ctx: RuleContext) -> list[UnitRate] | None:
    """Filing rate and completeness per unit, or None while the archive's models are not there."""
    from .rules import load

    load()
    if not RATES_PROVIDER:
        return None
    return RATES_PROVIDER[0](session, unit_path, ctx)


def against_target(value: float, target: float) -> dict[str, Any]:
    """A rate with the target it is held to and whether it meets it (the dashboard outlines a rate below it)."""
    return {"value": round(value, 4), "target": target, "met": value >= target}


def rates_against_target(session: Session, unit_path: str, ctx: RuleContext, target: float) -> dict[str, Any]:
    """Filing rate and completeness of the whole scope and of each unit in it, each with the target
    (``AUDIT_TARGET_RATE``) and whether it is met: what the dashboard, ``GET /api/v1/audit/summary`` and
    ``griddesk audit report`` show. ``units`` is None while the archive's models are not there."""
    rates = unit_rates(session, unit_path, ctx)
    if rates is None:
        return {"target": target, "overall": None, "units": None}
    required, filed = sum(r.required for r in rates), sum(r.filed for r in rates)
    accounts, complete = sum(r.accounts for r in rates), sum(r.complete for r in rates)
    overall = UnitRate("", "", accounts, required, filed, complete)
    return {
        "target": target,
        "overall": {
            "accounts": accounts,
            "filing_rate": against_target(overall.filing_rate, target),
            "completeness": against_target(overall.completeness, target),
        },
        "units": [
            {
                "unit": r.unit_code,
                "name": r.unit_name,
                "accounts": r.accounts,
                "filing_rate": against_target(r.filing_rate, target),
                "completeness": against_target(r.completeness, target),
            }
            for r in rates
        ],
    }


def severity_rank() -> Any:
    return case({"high": 0, "medium": 1, "low": 2}, value=Finding.severity, else_=3)


def summary(session: Session, unit: Unit, ctx: RuleContext, target: float) -> dict[str, Any]:
    """The dashboard's figures for ``unit``'s subtree as plain data (the API's summary and the CLI's report)."""
    return {
        "unit": unit.code,
        "totals": status_totals(session, unit.path),
        "open_by_rule": open_by_rule(session, unit.path),
        **rates_against_target(session, unit.path, ctx, target),
    }
