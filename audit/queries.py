"""Read-side queries of the audit that the staff pages and the API list, filter and export, within scope."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from billing.models import Account
from core.identity import Unit, User, unit_by_code
from core.scope import can_see_unit, in_scope, sees_everything, under
from core.trail import TrailEvent

from .findings import FIXERS, finding_unit_id, visible_findings
from .models import AuditRun, Finding


def filtered_findings(
    session: Session,
    user: User,
    *,
    statuses: Collection[str] | None = None,
    rule: str | None = None,
    severity: str | None = None,
    account_no: str | None = None,
    unit_code: str | None = None,
    assignee_id: int | None = None,
) -> Select[Any]:
    """The findings the user may see (``visible_findings``), narrowed by each filter given; ``unit_code`` keeps
    the findings of that unit's subtree (an unknown unit: none)."""
    stmt = visible_findings(user)
    if statuses is not None:
        stmt = stmt.where(Finding.status.in_(statuses))
    if rule:
        stmt = stmt.where(Finding.rule == rule)
    if severity:
        stmt = stmt.where(Finding.severity == severity)
    if account_no is not None:
        stmt = stmt.where(Account.account_no == account_no)
    if assignee_id is not None:
        stmt = stmt.where(Finding.assignee_id == assignee_id)
    if unit_code:
        unit = unit_by_code(session, unit_code)
        stmt = stmt.where(under(unit.path, finding_unit_id()) if unit is not None else Finding.id.is_(None))
    return stmt


def assignee_candidates(session: Session, unit: Unit) -> list[User]:
    """The active archivists and clerks whose unit covers the finding's unit: whom the finding may go to."""
    candidates = session.scalars(
        select(User).join(Unit, Unit.id == User.unit_id).where(User.role.in_(FIXERS), User.active.is_(True))
    ).all()
    return [user for user in candidates if can_see_unit(user, unit)]


def visible_runs(user: User) -> Select[Any]:
    """Audit runs over a unit in the user's scope, newest first."""
    return select(AuditRun).where(in_scope(user, AuditRun.scope_unit_id)).order_by(AuditRun.id.desc())


def trail_scope(session: Session, user: User) -> Callable[[str | None], bool] | None:
    """Which trail events ``user`` may be told about (by account number), as ``core.trail.verify`` takes it:
    None at the root (every event), below it the events of the accounts in the user's units."""
    if sees_everything(user):
        return None
    accounts = frozenset(session.scalars(select(Account.account_no).where(in_scope(user, Account.unit_id))))
    return lambda account_no: account_no in accounts


def visible_trail(user: User) -> Select[Any]:
    """Trail events the user may read: everything at the root, below it the events of the accounts in scope."""
    stmt = select(TrailEvent)
    if not sees_everything(user):
        accounts = select(Account.account_no).where(in_scope(user, Account.unit_id))
        stmt = stmt.where(TrailEvent.account_no.in_(accounts))
    return stmt
