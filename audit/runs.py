"""Audit runs: ask for one over a scope, execute it with progress stored per rule, audit what changed."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.models import Account
from core.db import on_commit, utcnow
from core.errors import InvalidInput, NotFound, Problem
from core.identity import Role, Unit, User, unit_by_code
from core.trail import TrailEvent

from . import settings
from .engine import Counts, Scope, run_rules
from .models import AuditRun, RunStatus
from .rules import Rule, all_rules

log = logging.getLogger(__name__)


def request_run(
    session: Session,
    actor: User | None,
    *,
    unit_code: str | None = None,
    account_no: str | None = None,
    queue: bool = True,
) -> AuditRun:
    """Record a queued run over the caller's scope (a unit inside it, or one account) and queue its task.

    The scope is checked against what the actor may see: a unit or account outside it is refused with the
    same answer as one that does not exist.
    """
    own_path = actor.unit.path if actor is not None and actor.unit is not None else None
    if actor is not None and own_path is None:
        raise InvalidInput("no_unit")
    problems: dict[str, Problem] = {}
    unit: Unit | None = None
    if unit_code:
        unit = unit_by_code(session, unit_code)
        if unit is None or (own_path is not None and not unit.path.startswith(own_path)):
            problems["scope.unit"] = Problem("unknown_unit")
    elif actor is not None and actor.unit is not None:
        unit = actor.unit
    account: Account | None = None
    if account_no:
        account = session.scalar(select(Account).where(Account.account_no == account_no))
        scope_path = unit.path if unit is not None else own_path
        if account is None or (scope_path is not None and not account.unit.path.startswith(scope_path)):
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
        run_id = run.id

        def _queue() -> None:
            from .tasks import run_audit

            run_audit.delay(run_id)

        on_commit(session, _queue)
    return run


def run_scope(session: Session, run: AuditRun) -> Scope:
    path = None
    if run.scope_unit_id is not None:
        unit = session.get(Unit, run.scope_unit_id)
        if unit is not None and unit.parent_id is not None:
            path = unit.path
    nos = tuple(run.scope_account_nos) if run.scope_account_nos else None
    return Scope(unit_path=path, account_nos=nos)


def execute_run(
    session: Session,
    run_id: int,
    *,
    today: dt.date | None = None,
    rules: list[Rule] | None = None,
    progress: Callable[[AuditRun], None] | None = None,
) -> AuditRun:
    """Execute a run, committing after each rule so that its progress is visible while it works.

    Idempotent: a finished run is left alone, and a run redelivered after its worker died starts over
    (reconciling findings twice gives the same findings).
    """
    found = session.get(AuditRun, run_id)
    if found is None:
        raise NotFound("audit_run_not_found")
    run: AuditRun = found
    if run.status == RunStatus.DONE:
        return run
    chosen = rules if rules is not None else all_rules()
    scope = run_scope(session, run)
    run.status = RunStatus.RUNNING
    run.started_at = utcnow()
    run.rules_total = len(chosen)
    run.rules_done = 0
    run.problems_seen = run.findings_new = run.findings_reopened = run.findings_resolved = 0
    run.error = ""
    run.trail_mark = session.scalar(select(func.max(TrailEvent.id))) or 0
    count_stmt = scope.restrict(select(func.count(Account.id)), Account.id)
    run.accounts_checked = session.scalar(count_stmt) or 0
    session.commit()

    def after_rule(_rule: Rule, counts: Counts) -> None:
        run.rules_done += 1
        run.problems_seen += counts.problems
        run.findings_new += counts.new
        run.findings_reopened += counts.reopened
        run.findings_resolved += counts.resolved
        session.commit()
        if progress is not None:
            progress(run)

    try:
        run_rules(session, scope, settings.context(today), rules=chosen, run_id=run.id, after_rule=after_rule)
    except Exception as exc:
        session.rollback()
        run.status = RunStatus.FAILED
        run.error = f"{type(exc).__name__}: {exc}"[:2000]
        run.finished_at = utcnow()
        session.commit()
        log.exception("audit run %s failed", run_id)
        raise
    run.status = RunStatus.DONE
    run.finished_at = utcnow()
    session.commit()
    return run


def changed_account_nos(session: Session) -> tuple[list[str], int]:
    """Accounts whose records changed since the last incremental (or full) run, and the trail mark now."""
    last = session.scalar(
        select(func.max(AuditRun.trail_mark)).where(
            AuditRun.status == RunStatus.DONE, AuditRun.kind.in_(("incremental", "full"))
        )
    )
    mark = session.scalar(select(func.max(TrailEvent.id))) or 0
    stmt = (
        select(TrailEvent.account_no)
        .where(TrailEvent.id > (last or 0), TrailEvent.account_no.is_not(None), TrailEvent.entity != "finding")
        .distinct()
    )
    return sorted(str(no) for no in session.scalars(stmt)), mark


def audit_changed(session: Session, *, today: dt.date | None = None) -> AuditRun | None:
    """Run the rules for the accounts whose records changed since the last run; None if nothing changed."""
    nos, _mark = changed_account_nos(session)
    if not nos:
        return None
    run = AuditRun(kind="incremental", status=RunStatus.QUEUED, scope_account_nos=nos, rules_total=len(all_rules()))
    session.add(run)
    session.commit()
    return execute_run(session, run.id, today=today)


def visible_run(session: Session, user: User, run_id: int) -> AuditRun:
    """The run if its scope lies inside the user's unit subtree (staff); NotFound otherwise."""
    run = session.get(AuditRun, run_id)
    if run is None or user.unit is None or user.role not in {Role.SUPERVISOR, Role.ADMIN}:
        raise NotFound("audit_run_not_found")
    unit = session.get(Unit, run.scope_unit_id) if run.scope_unit_id is not None else None
    if unit is None:
        if user.unit.parent_id is not None and run.requested_by != user.id:
            raise NotFound("audit_run_not_found")
    elif not unit.path.startswith(user.unit.path):
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
