"""Audit API: runs, findings (violations) and their workflow, the trail and its verification."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from audit import dashboard, settings
from audit.commands import RequestRun, TransitionFinding
from audit.docs import rules_table
from audit.findings import (
    finding_history,
    finding_owner,
    finding_summary,
    get_scoped_finding,
    transition,
)
from audit.models import AuditRun, Finding
from audit.queries import filtered_findings, trail_scope, visible_runs, visible_trail
from audit.runs import request_run, run_summary, visible_run
from core import trail
from core.db import db
from core.errors import NotFound
from core.identity import Role, Unit, User
from core.scope import unit_in_scope

from . import api
from .framework import ApiModel, PageQuery, allow, caller, endpoint, paginate, register_resource

SUPERVISION = allow(Role.SUPERVISOR, Role.ADMIN)
FINDING_READERS = (Role.SUPERVISOR, Role.ADMIN, Role.ARCHIVIST, Role.CLERK)


def _resolve_finding(session: Session, user: User, path: dict[str, Any]) -> Finding:
    return get_scoped_finding(session, user, path["finding_id"])


def _resolve_run(session: Session, user: User, path: dict[str, Any]) -> AuditRun:
    return visible_run(session, user, int(path["run_id"]))


register_resource("finding", _resolve_finding)
register_resource("audit_run", _resolve_run)


class ViolationQuery(PageQuery):
    status: Literal["open", "assigned", "remediated", "waived"] | None = None
    rule: str | None = Field(None, max_length=32)
    unit: str | None = Field(None, max_length=32)
    account_no: str | None = Field(None, max_length=20)
    severity: Literal["low", "medium", "high"] | None = None
    assignee: Literal["me"] | None = None


class TrailQuery(PageQuery):
    entity: str | None = Field(None, max_length=64)
    entity_id: str | None = Field(None, max_length=64)
    account_no: str | None = Field(None, max_length=20)


def _serialize(finding: Finding) -> dict[str, Any]:
    account, unit = finding_owner(db.session, finding)
    return finding_summary(finding, account.account_no if account else None, unit.code, finding.assignee)


@endpoint(
    api,
    "/audit/runs",
    methods=["POST"],
    access=SUPERVISION,
    body=RequestRun,
    status=202,
    summary="Start an audit run over the caller's unit, a unit inside it, or one account",
)
def start_audit_run(body: RequestRun) -> Any:
    run = request_run(db.session, caller(), unit_code=body.scope.unit, account_no=body.scope.account_no)
    return {"run_id": run.id, "status": run.status}, 202


@endpoint(api, "/audit/runs", access=SUPERVISION, query=PageQuery, summary="Recent audit runs in the caller's scope")
def list_audit_runs(query: PageQuery) -> Any:
    return paginate(db.session, visible_runs(caller()), query, run_summary)


@endpoint(
    api,
    "/audit/runs/<int:run_id>",
    access=allow(Role.SUPERVISOR, Role.ADMIN, resource="audit_run"),
    summary="An audit run's status, progress and counts",
)
def get_audit_run(run_id: int) -> Any:
    return run_summary(visible_run(db.session, caller(), run_id))


@endpoint(
    api,
    "/audit/rules",
    access=allow(Role.SUPERVISOR, Role.ADMIN, Role.ARCHIVIST, Role.CLERK),
    summary="Every audit rule: code, title, severity, what it checks, the evidence it keeps",
)
def list_audit_rules() -> Any:
    return {"items": rules_table()}


@endpoint(
    api,
    "/audit/violations",
    access=allow(*FINDING_READERS),
    query=ViolationQuery,
    summary="Findings in the caller's scope (archivists and clerks: those assigned to them)",
)
def list_violations(query: ViolationQuery) -> Any:
    user = caller()
    stmt = filtered_findings(
        db.session,
        user,
        statuses=[query.status] if query.status else None,
        rule=query.rule,
        severity=query.severity,
        account_no=query.account_no or None,
        unit_code=query.unit,
        assignee_id=user.id if query.assignee == "me" else None,
    )
    return paginate(db.session, stmt.order_by(Finding.id.desc()), query, _serialize)


@endpoint(
    api,
    "/audit/violations/<int:finding_id>",
    access=allow(*FINDING_READERS, resource="finding"),
    summary="One finding with its evidence and history",
)
def get_violation(finding_id: int) -> Any:
    finding = get_scoped_finding(db.session, caller(), finding_id)
    return {**_serialize(finding), "history": finding_history(db.session, finding)}


@endpoint(
    api,
    "/audit/violations/<int:finding_id>/transitions",
    methods=["POST"],
    access=allow(Role.SUPERVISOR, Role.ARCHIVIST, Role.CLERK, resource="finding"),
    body=TransitionFinding,
    summary="Assign, mark remediated, waive (with a reason) or reopen a finding",
    extra_responses={409: "not allowed from the finding's current status"},
)
def transition_violation(finding_id: int, body: TransitionFinding) -> Any:
    finding = get_scoped_finding(db.session, caller(), finding_id)
    transition(db.session, finding, caller(), body)
    return _serialize(finding)


def _trail_event(ev: trail.TrailEvent) -> dict[str, Any]:
    return {
        "id": ev.id,
        "at": ev.at,
        "actor_id": ev.actor_id,
        "action": ev.action,
        "entity": ev.entity,
        "entity_id": ev.entity_id,
        "account_no": ev.account_no,
        "before": ev.before,
        "after": ev.after,
        "chain": ev.chain,
        "prev_hash": ev.prev_hash,
        "hash": ev.hash,
    }


@endpoint(
    api,
    "/audit/trail",
    access=SUPERVISION,
    query=TrailQuery,
    summary="Append-only trail events, oldest first (staff below the root: events of accounts in their units)",
)
def list_trail(query: TrailQuery) -> Any:
    stmt = visible_trail(caller())
    if query.entity:
        stmt = stmt.where(trail.TrailEvent.entity == query.entity)
    if query.entity_id:
        stmt = stmt.where(trail.TrailEvent.entity_id == query.entity_id)
    if query.account_no:
        stmt = stmt.where(trail.TrailEvent.account_no == query.account_no)
    return paginate(db.session, stmt.order_by(trail.TrailEvent.id), query, _trail_event)


class VerifyOut(BaseModel):
    ok: bool
    events_checked: int
    first_bad_id: int | None = None
    problem: str | None = None


@endpoint(
    api,
    "/audit/trail/verify",
    access=SUPERVISION,
    response=VerifyOut,
    summary="Walk the trail's hash chain: ok, or the first edited, removed or reordered event (staff below the "
    "root: counted and named only among the events of their units' accounts)",
)
def verify_trail() -> Any:
    result = trail.verify(db.session, in_scope=trail_scope(db.session, caller()))
    return {
        "ok": result.ok,
        "events_checked": result.events_checked,
        "first_bad_id": result.first_bad_id,
        "problem": result.problem,
    }


class SummaryQuery(ApiModel):
    unit: str | None = Field(None, max_length=32, description="a unit in the caller's scope (default: the caller's)")


class RateOut(BaseModel):
    value: float = Field(description="the rate, 0 to 1")
    target: float = Field(description="AUDIT_TARGET_RATE")
    met: bool = Field(description="value >= target")


class OverallRatesOut(BaseModel):
    accounts: int
    filing_rate: RateOut
    completeness: RateOut


class UnitRatesOut(OverallRatesOut):
    unit: str
    name: str


class RuleCountOut(BaseModel):
    rule: str
    title: str
    severity: str
    open: int


class StatusTotalsOut(BaseModel):
    open: int
    assigned: int
    remediated: int
    waived: int


class SummaryOut(BaseModel):
    unit: str
    target: float = Field(description="the filing rate and completeness target (AUDIT_TARGET_RATE)")
    totals: StatusTotalsOut
    open_by_rule: list[RuleCountOut]
    overall: OverallRatesOut | None = Field(description="null while the archive is not installed")
    units: list[UnitRatesOut] | None


@endpoint(
    api,
    "/audit/summary",
    access=SUPERVISION,
    query=SummaryQuery,
    response=SummaryOut,
    summary="The dashboard's figures: findings by status and rule, and the filing rate and completeness of the "
    "scope and of each unit, each with the target (AUDIT_TARGET_RATE) and whether it is met",
    extra_responses={404: "no such unit in the caller's scope"},
)
def get_audit_summary(query: SummaryQuery) -> Any:
    user, session = caller(), db.session
    unit = unit_in_scope(session, user, query.unit, "unit") or session.get(Unit, user.unit_id)
    if unit is None:
        raise NotFound("unit_not_found")
    return dashboard.summary(session, unit, settings.context(), settings.target())
