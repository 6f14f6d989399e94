"""Findings: who sees which, the supervisor's workflow, and how a finding is shown."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from billing.models import Account
from core import outbox, trail
from core.db import utcnow
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from core.identity import Role, Unit, User
from core.scope import can_see_unit, in_scope

from .commands import TransitionFinding
from .models import Finding, FindingEvent, FindingStatus
from .rules import get_rule
from .topics import FINDING_ASSIGNED

DECIDERS = frozenset({Role.SUPERVISOR})
READERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
FIXERS = frozenset({Role.ARCHIVIST, Role.CLERK})


def finding_unit_id() -> Any:
    """The unit a finding belongs to, in a statement that outer-joins its account: the account's unit (wherever the
    account is now), else the finding's own (the application's, for an application without an account)."""
    return func.coalesce(Account.unit_id, Finding.unit_id)


def with_owner(stmt: Any) -> Any:
    """A statement over findings joined to their account (if any) and their unit (``finding_unit_id``)."""
    return stmt.outerjoin(Account, Account.id == Finding.account_id).join(Unit, Unit.id == finding_unit_id())


def visible_findings(user: User) -> Select[Any]:
    """Findings on accounts in the user's unit subtree, and findings without an account of applications in it;
    archivists and clerks only those assigned to them."""
    stmt = with_owner(select(Finding)).where(in_scope(user, finding_unit_id()))
    if user.role in FIXERS:
        stmt = stmt.where(Finding.assignee_id == user.id)
    return stmt


def finding_owner(session: Session, finding: Finding) -> tuple[Account | None, Unit]:
    """The finding's account (None for an application without one) and its unit (the account's, else its own)."""
    account = session.get(Account, finding.account_id) if finding.account_id is not None else None
    unit = account.unit if account is not None else session.get(Unit, finding.unit_id)
    assert unit is not None
    return account, unit


def get_scoped_finding(session: Session, user: User, finding_id: Any) -> Finding:
    """A finding in the user's unit subtree (whoever it is assigned to); NotFound otherwise."""
    try:
        fid = int(finding_id)
    except (TypeError, ValueError):
        raise NotFound("finding_not_found") from None
    if user.unit is None or user.role == Role.CUSTOMER:
        raise NotFound("finding_not_found")
    stmt = with_owner(select(Finding)).where(Finding.id == fid, in_scope(user, finding_unit_id()))
    finding = session.scalar(stmt)
    if finding is None:
        raise NotFound("finding_not_found")
    return finding


def finding_application_no(finding: Finding) -> str | None:
    """The application a finding is about, as its evidence names it (None for findings on other records)."""
    value = (finding.evidence or {}).get("application_no")
    return str(value) if value else None


def _snapshot(finding: Finding, account_no: str | None) -> dict[str, Any]:
    owner: dict[str, Any] = {"account_no": account_no} if account_no else {}
    if not account_no:
        owner["application_no"] = finding_application_no(finding)
    return {
        **owner,
        "rule": finding.rule,
        "status": finding.status,
        "assignee_id": finding.assignee_id,
        "reason": finding.reason,
        "resolution": finding.resolution,
    }


def _assignee_named(session: Session, value: int | str | None) -> User | None:
    """The user a command names as assignee, by id or username."""
    if value is None:
        return None
    if isinstance(value, int) or value.isdigit():
        return session.get(User, int(value))
    return session.scalar(select(User).where(User.username == value))


def transition(session: Session, finding: Finding, actor: User, command: TransitionFinding) -> Finding:
    """Move a finding along open -> assigned -> remediated, or to waived (with a reason), or back to open.

    Supervisors decide every step; the archivist or clerk a finding is assigned to may only mark it
    remediated. The assignee must be an active archivist or clerk who can see the finding's unit. An assignment is
    announced in the same transaction (``audit.topics.FINDING_ASSIGNED``; notifications tells the assignee).
    """
    account, unit = finding_owner(session, finding)
    account_no = account.account_no if account is not None else None
    to, reason = FindingStatus(command.to), command.reason
    current = finding.status
    assignee: User | None = None
    if to == FindingStatus.ASSIGNED:
        assignee = _assignee_named(session, command.assignee)
        if assignee is None or not assignee.active or assignee.role not in FIXERS or not can_see_unit(assignee, unit):
            raise InvalidInput.fields({"assignee": Problem("not_an_assignee")})

    is_decider = actor.role in DECIDERS
    is_assignee = actor.role in FIXERS and finding.assignee_id == actor.id
    if not is_decider and not (is_assignee and to == FindingStatus.REMEDIATED):
        raise Forbidden()
    allowed = {
        FindingStatus.ASSIGNED: {FindingStatus.OPEN, FindingStatus.ASSIGNED},
        FindingStatus.REMEDIATED: {FindingStatus.OPEN, FindingStatus.ASSIGNED},
        FindingStatus.WAIVED: {FindingStatus.OPEN, FindingStatus.ASSIGNED},
        FindingStatus.OPEN: {FindingStatus.WAIVED, FindingStatus.REMEDIATED},
    }[to]
    if current not in allowed:
        raise Conflict("invalid_transition", current=current, to=to)

    before = _snapshot(finding, account_no)
    now = utcnow()
    finding.status = to
    if to == FindingStatus.ASSIGNED:
        assert assignee is not None
        finding.assignee_id = assignee.id
    elif to == FindingStatus.OPEN:
        finding.assignee_id = None
    if to in {FindingStatus.REMEDIATED, FindingStatus.WAIVED}:
        finding.resolved_at = now
        finding.resolution = "manual" if to == FindingStatus.REMEDIATED else "waived"
    else:
        finding.resolved_at = None
        finding.resolution = None
    if to == FindingStatus.WAIVED:
        finding.reason = reason
    elif to == FindingStatus.OPEN:
        finding.reason = ""
    session.add(
        FindingEvent(
            finding_id=finding.id,
            at=now,
            kind=to,
            from_status=current,
            to_status=to,
            actor_id=actor.id,
            evidence=finding.evidence,
            reason=reason,
        )
    )
    session.flush()
    trail.record(
        session,
        actor_id=actor.id,
        action=f"finding.{to}",
        entity="finding",
        entity_id=finding.id,
        before=before,
        after=_snapshot(finding, account_no),
    )
    if to == FindingStatus.ASSIGNED:
        assert assignee is not None
        payload: dict[str, Any] = {"finding_id": finding.id, "assignee_id": assignee.id, "account_no": account_no}
        if account_no is None:
            payload["application_no"] = finding_application_no(finding)
        outbox.put(session, FINDING_ASSIGNED, {**payload, "rule": finding.rule})
    return finding


def finding_summary(
    finding: Finding, account_no: str | None, unit_code: str | None = None, assignee: User | None = None
) -> dict[str, Any]:
    rule = get_rule(finding.rule)
    return {
        "id": finding.id,
        "rule": finding.rule,
        "rule_title": rule.title if rule else finding.rule,
        "severity": finding.severity,
        "account_no": account_no or None,
        "application_no": finding_application_no(finding),
        "unit": unit_code,
        "subject": finding.subject,
        "evidence": finding.evidence,
        "status": finding.status,
        "assignee": (
            {"id": assignee.id, "username": assignee.username, "name": assignee.name} if assignee is not None else None
        ),
        "found_at": finding.found_at,
        "last_seen_at": finding.last_seen_at,
        "resolved_at": finding.resolved_at,
        "resolution": finding.resolution,
        "reason": finding.reason or None,
        "reopen_count": finding.reopen_count,
    }


def finding_history(session: Session, finding: Finding) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(FindingEvent).where(FindingEvent.finding_id == finding.id).order_by(FindingEvent.id)
    ).all()
    return [
        {
            "at": e.at,
            "kind": e.kind,
            "from": e.from_status,
            "to": e.to_status,
            "actor_id": e.actor_id,
            "run_id": e.run_id,
            "evidence": e.evidence,
            "reason": e.reason or None,
        }
        for e in rows
    ]
