"""Audit runs: ask for one over a scope (queued as a task), see one, describe one. ``execution`` carries them out."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.models import Account
from core import outbox
from core.errors import InvalidInput, NotFound, Problem
from core.identity import Role, Unit, User, unit_by_code
from core.scope import can_see_unit, scope_path, sees_everything, unit_covers

from .models import AuditRun, RunStatus
from .rules import all_rules
from .topics import RUN_REQUESTED


def request_run(
    session: Session,
    actor: User | None,
    *,
    unit_code: str | None = None,
    account_no: str | None = None,
    queue: bool = True,
) -> AuditRun:
    """Record a queued run over the caller's scope (a unit inside it, or one account) and queue its task.

    The request is announced in the same transaction (``RUN_REQUESTED``); the audit's subscriber queues the
    run's task, so a run requested is run even if the task queue was down at the commit.

    The scope is checked against what the actor may see: a unit or account outside it is refused with the
    same answer as one that does not exist.
    """
    if actor is not None and scope_path(actor) is None:
        raise InvalidInput("no_unit")
    problems: dict[str, Problem] = {}
    unit: Unit | None = None
    if unit_code:
        unit = unit_by_code(session, unit_code)
        if unit is None or (actor is not None and not can_see_unit(actor, unit)):
            problems["scope.unit"] = Problem("unknown_unit")
    elif actor is not None and actor.unit is not None:
        unit = actor.unit
    account: Account | None = None
    if account_no:
        account = session.scalar(select(Account).where(Account.account_no == account_no))
        covering = unit if unit is not None else (actor.unit if actor is not None else None)
        if account is None or (covering is not None and not unit_covers(covering, account.unit)):
            problems["scope.account_no"] = Problem("unknown_account")
    if problems:
        raise InvalidInput.fields(problems)
    kind = "account" if account is not None else ("full" if unit is None or unit.parent_id is None else "unit")
    run = AuditRun(
        kind=kind,
        status=RunStatus.QUEUED,
        scope_unit_id=unit.id if unit is not None else None,
        scope_account_nos=[account.account_no] if account is not None else None,
        requested_by=actor.id if actor is not None else None,
        rules_total=len(all_rules()),
    )
    session.add(run)
    session.flush()
    if queue:
        outbox.put(session, RUN_REQUESTED, {"run_id": run.id})
    return run


def visible_run(session: Session, user: User, run_id: int) -> AuditRun:
    """The run if its scope lies inside the user's unit subtree (staff); NotFound otherwise."""
    run = session.get(AuditRun, run_id)
    if run is None or user.unit is None or user.role not in {Role.SUPERVISOR, Role.ADMIN}:
        raise NotFound("audit_run_not_found")
    unit = session.get(Unit, run.scope_unit_id) if run.scope_unit_id is not None else None
    if unit is None:
        if not sees_everything(user) and run.requested_by != user.id:
            raise NotFound("audit_run_not_found")
    elif not can_see_unit(user, unit):
        raise NotFound("audit_run_not_found")
    return run


def run_summary(run: AuditRun) -> dict[str, object]:
    return {
        "run_id": run.id,
        "kind": run.kind,
        "status": run.status,
        "progress": round(run.progress, 4),
        "rules_total": run.rules_total,
        "rules_done": run.rules_done,
        "accounts_checked": run.accounts_checked,
        "counts": {
            "problems": run.problems_seen,
            "new": run.findings_new,
            "reopened": run.findings_reopened,
            "resolved": run.findings_resolved,
        },
        "scope": {"unit_id": run.scope_unit_id, "account_nos": run.scope_account_nos},
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "error": run.error or None,
    }
