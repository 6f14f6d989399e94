"""The audit's read-side queries keep to the caller's scope: findings by unit, assignees, runs, the trail."""

from __future__ import annotations

from audit.models import AuditRun, Finding
from audit.queries import assignee_candidates, filtered_findings, visible_runs, visible_trail
from core.identity import Role, create_user
from tests.support import PASSWORD


def _finding(session, account, subject: str) -> int:  # type: ignore[no-untyped-def]
    finding = Finding(rule="T-TEST", severity="high", subject=subject, account_id=account.id, evidence={})
    session.add(finding)
    session.commit()
    return finding.id


def test_findings_of_a_unit_outside_the_scope_are_not_listed(world, session) -> None:
    own = _finding(session, world.own_account, "account:own")
    _finding(session, world.foreign_account, "account:foreign")
    supervisor = world.users[Role.SUPERVISOR]
    assert session.scalars(
        filtered_findings(session, supervisor, unit_code="UA").with_only_columns(Finding.id)
    ).all() == [own]
    assert session.scalars(filtered_findings(session, supervisor, unit_code="UB")).all() == []
    assert session.scalars(filtered_findings(session, supervisor, unit_code="NOPE")).all() == []
    everything = session.scalars(filtered_findings(session, supervisor, unit_code="ROOT")).all()
    assert [f.id for f in everything] == [own]


def test_assignees_offered_are_the_fixers_whose_unit_covers_the_findings_unit(world, session) -> None:
    create_user(session, "clerk-b", PASSWORD, Role.CLERK, world.unit_b)
    create_user(session, "archivist-root", PASSWORD, Role.ARCHIVIST, world.root)
    session.commit()
    own = {u.username for u in assignee_candidates(session, world.own_account.unit)}
    assert own == {"archivist-a", "clerk-a", "archivist-root"}
    foreign = {u.username for u in assignee_candidates(session, world.foreign_account.unit)}
    assert foreign == {"clerk-b", "archivist-root"}


def test_runs_listed_are_those_over_a_unit_in_scope(world, session) -> None:
    session.add_all(
        [AuditRun(kind="unit", status="done", scope_unit_id=unit.id) for unit in (world.unit_a, world.unit_b)]
    )
    session.commit()
    runs = session.scalars(visible_runs(world.users[Role.SUPERVISOR])).all()
    assert [run.scope_unit_id for run in runs] == [world.unit_a.id]


def test_the_trail_below_the_root_holds_the_accounts_in_scope_and_at_the_root_everything(world, session) -> None:
    below = {e.account_no for e in session.scalars(visible_trail(world.users[Role.SUPERVISOR]))}
    assert below == {"1000000001"}
    root_admin = create_user(session, "admin-root", PASSWORD, Role.ADMIN, world.root)
    session.commit()
    at_root = {e.account_no for e in session.scalars(visible_trail(root_admin))}
    assert at_root >= {"1000000001", "2000000001"}
