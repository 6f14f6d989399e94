"""Own and foreign findings and audit runs: on the own account (unit A) and the foreign one (unit B)."""

from __future__ import annotations

from typing import Any

from tests.api.resources import Params, provider
from tests.support import World


def _finding(session: Any, account_id: int, subject: str) -> Any:
    from audit.models import Finding

    finding = Finding(rule="T-TEST", severity="low", subject=subject, account_id=account_id, evidence={})
    session.add(finding)
    return finding


@provider("finding")
def _findings(world: World, session: Any) -> tuple[Params, Params]:
    own = _finding(session, world.own_account.id, "account:own")
    foreign = _finding(session, world.foreign_account.id, "account:foreign")
    session.commit()
    return {"finding_id": own.id}, {"finding_id": foreign.id}


@provider("audit_run")
def _runs(world: World, session: Any) -> tuple[Params, Params]:
    from audit.models import AuditRun

    own = AuditRun(kind="unit", scope_unit_id=world.unit_a.id)
    foreign = AuditRun(kind="unit", scope_unit_id=world.unit_b.id)
    session.add_all([own, foreign])
    session.commit()
    return {"run_id": own.id}, {"run_id": foreign.id}
