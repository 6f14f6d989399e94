"""Own and foreign findings and audit runs: the own finding on the own account (unit A), the foreign one on an
application of unit B that has no account yet (scoped by its unit alone); runs over unit A and unit B."""

from __future__ import annotations

from typing import Any

from tests.api.resources import Params, provider
from tests.support import World


@provider("finding")
def _findings(world: World, session: Any) -> tuple[Params, Params]:
    from audit.models import Finding

    own = Finding(rule="T-TEST", severity="low", subject="account:own", account_id=world.own_account.id, evidence={})
    foreign = Finding(rule="T-TEST", severity="low", subject="application:YK20260101000001", account_id=None,
                      unit_id=world.unit_b.id, evidence={"application_no": "YK20260101000001"})  # fmt: skip
    session.add_all([own, foreign])
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
