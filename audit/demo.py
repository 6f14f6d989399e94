"""Demo data for the audit: one full run over whatever the other demo seeders made (idempotent)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.db import utcnow

from .engine import Scope, run_rules
from .models import AuditRun, RunStatus
from .rules import all_rules
from .settings import context


def seed_findings(session: Session) -> str:
    """Run every rule once over everything; rerunning finds the same problems and adds no finding."""
    rules = all_rules()
    run = AuditRun(kind="full", status=RunStatus.RUNNING, rules_total=len(rules), started_at=utcnow())
    session.add(run)
    session.flush()
    counts = run_rules(session, Scope(), context(), rules=rules, run_id=run.id)
    run.rules_done = len(rules)
    run.problems_seen, run.findings_new = counts.problems, counts.new
    run.findings_reopened, run.findings_resolved = counts.reopened, counts.resolved
    run.status = RunStatus.DONE
    run.finished_at = utcnow()
    return f"{len(rules)} rules, {counts.problems} problems, {counts.new} new findings"
