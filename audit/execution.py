"""Carrying out an audit run: the rules over its scope, progress stored per rule, and runs over what changed."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.models import Account
from core.db import utcnow
from core.errors import NotFound
from core.identity import Unit
from core.trail import TrailEvent

from . import settings
from .engine import Counts, Scope, run_rules
from .models import AuditRun, RunStatus
from .rules import Rule, all_rules

log = logging.getLogger(__name__)


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
