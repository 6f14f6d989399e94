"""Run the rules over a scope and reconcile what they find with the stored findings.

Per rule, one query finds every problem in the scope; the engine then compares by ``(rule, subject)``:
a new problem opens a finding, a problem on a remediated finding reopens it, an open or assigned finding
whose problem is gone resolves itself, and every one of those moments keeps its evidence (``FindingEvent``
plus a trail event). Waived findings stay waived: a supervisor accepted the problem.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Select, func, insert, null, select, text, update
from sqlalchemy.orm import Session

from billing.models import Account
from core import trail
from core.db import is_postgresql, utcnow
from core.scope import under

from .findings import finding_unit_id
from .models import ACTIVE_STATUSES, Finding, FindingEvent, FindingStatus
from .rules import Rule, RuleContext, all_rules

_CHUNK = 2000


@dataclass(frozen=True)
class Scope:
    """Everything (no fields), a unit subtree (``unit_path``) or given accounts (``account_nos``)."""

    unit_path: str | None = None
    account_nos: tuple[str, ...] | None = None

    def restrict(self, stmt: Select[Any], account_id_column: Any, unit_id_column: Any = None) -> Select[Any]:
        """Limit a statement to the scope through its ``account_id`` column, or, given a ``unit_id`` column (the
        unit of a row that may have no account), a unit subtree through that. Given accounts keep rows of those
        accounts only: a row without an account belongs to no account's run."""
        if self.unit_path is None and self.account_nos is None:
            return stmt
        if self.account_nos is not None or unit_id_column is None:
            ids = select(Account.id)
            if self.unit_path is not None:
                ids = ids.where(under(self.unit_path, Account.unit_id))
            if self.account_nos is not None:
                ids = ids.where(Account.account_no.in_(self.account_nos))
            return stmt.where(account_id_column.in_(ids))
        assert self.unit_path is not None
        return stmt.where(under(self.unit_path, unit_id_column))

    def describe(self) -> dict[str, Any]:
        return {"unit_path": self.unit_path, "account_nos": list(self.account_nos or []) or None}


_NOT_EVIDENCE = frozenset({"account_id", "unit_id", "subject", "_account_no", "_unit_id"})


class Found(NamedTuple):
    """One problem a rule found: its account (None for an application without one), that account's number, the
    unit it belongs to (the account's, else the application's) and the evidence."""

    account_id: int | None
    account_no: str | None
    unit_id: int
    evidence: dict[str, Any]


@dataclass
class Counts:
    problems: int = 0
    new: int = 0
    reopened: int = 0
    resolved: int = 0
    per_rule: dict[str, int] = field(default_factory=dict)

    def add(self, other: Counts) -> None:
        self.problems += other.problems
        self.new += other.new
        self.reopened += other.reopened
        self.resolved += other.resolved
        self.per_rule.update(other.per_rule)


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def problems(session: Session, rule: Rule, ctx: RuleContext, scope: Scope) -> dict[str, Found]:
    """What the rule finds in the scope, by subject.

    A rule's row names its account (``account_id``); a row without one (an application that has no account yet)
    names its unit in a ``unit_id`` column, and rows with neither are left out."""
    found = rule.query(ctx).subquery()
    own_unit = found.c.unit_id if "unit_id" in found.c else null()
    unit_id = func.coalesce(Account.unit_id, own_unit)
    stmt = (
        select(found, Account.account_no.label("_account_no"), unit_id.label("_unit_id"))
        .outerjoin(Account, Account.id == found.c.account_id)
        .where(unit_id.is_not(None))
    )
    stmt = scope.restrict(stmt, found.c.account_id, unit_id)
    result: dict[str, Found] = {}
    for row in session.execute(stmt).mappings():
        evidence = {k: jsonable(v) for k, v in row.items() if k not in _NOT_EVIDENCE}
        account_no = row["_account_no"]
        if account_no is not None:
            evidence.setdefault("account_no", account_no)
        account_id = row["account_id"]
        result[str(row["subject"])] = Found(
            None if account_id is None or account_no is None else int(account_id),
            None if account_no is None else str(account_no),
            int(row["_unit_id"]),
            evidence,
        )
    return result


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def apply_rule(session: Session, rule: Rule, ctx: RuleContext, scope: Scope, *, run_id: int | None = None) -> Counts:
    """Run one rule over the scope and reconcile the findings; the caller commits."""
    now = utcnow()
    if is_postgresql(session):
        # a rule's statement is large (CTEs, windows, anti-joins) and over a prefecture's tables its cost passes
        # jit_above_cost: PostgreSQL then spent 1.6 s compiling each of them (most of a rule's time at 30,000
        # accounts) for scans that take tenths of a second. Off for this rule's transaction only.
        session.execute(text("SET LOCAL jit = off"))
    found = problems(session, rule, ctx, scope)
    columns = (Finding.id, Finding.subject, Finding.status, Finding.evidence, Finding.account_id, Finding.unit_id)
    existing_stmt = scope.restrict(
        select(*columns).outerjoin(Account, Account.id == Finding.account_id).where(Finding.rule == rule.code),
        Finding.account_id,
        finding_unit_id(),
    )
    existing = {row.subject: row for row in session.execute(existing_stmt)}
    # findings on accounts that left the scope are not this run's business, but a subject seen now may have a
    # finding stored under the same key whatever its account (or none: an application that has got its account
    # since): look those up too
    missing = [s for s in found if s not in existing]
    for chunk in _chunks(missing):
        stmt = select(*columns).where(Finding.rule == rule.code, Finding.subject.in_(chunk))
        existing.update({row.subject: row for row in session.execute(stmt)})

    counts = Counts(problems=len(found), per_rule={rule.code: len(found)})
    events: list[dict[str, Any]] = []
    trail_events: list[dict[str, Any]] = []
    new_rows: list[dict[str, Any]] = []
    seen_ids: list[int] = []
    changed: list[dict[str, Any]] = []
    owners: list[dict[str, Any]] = []

    for subject, (account_id, account_no, unit_id, evidence) in found.items():
        row = existing.get(subject)
        if row is None:
            new_rows.append(
                {
                    "rule": rule.code,
                    "severity": rule.severity,
                    "subject": subject,
                    "account_id": account_id,
                    "unit_id": unit_id,
                    "status": FindingStatus.OPEN.value,
                    "evidence": evidence,
                    "found_at": now,
                    "last_seen_at": now,
                    "reason": "",
                    "reopen_count": 0,
                    "last_run_id": run_id,
                }
            )
            continue
        if row.status == FindingStatus.REMEDIATED:
            session.execute(
                update(Finding)
                .where(Finding.id == row.id)
                .values(
                    status=FindingStatus.OPEN.value,
                    assignee_id=None,
                    evidence=evidence,
                    last_seen_at=now,
                    resolved_at=None,
                    resolution=None,
                    reopen_count=Finding.reopen_count + 1,
                    last_run_id=run_id,
                    account_id=account_id,
                    unit_id=unit_id,
                )
            )
            events.append(_event(row.id, "reopened", row.status, FindingStatus.OPEN, run_id, evidence))
            trail_events.append(
                _trail(
                    "finding.reopened",
                    row.id,
                    account_no,
                    {"status": row.status, "evidence": row.evidence},
                    {"status": "open", "evidence": evidence},
                )
            )
            counts.reopened += 1
            continue
        # the application got its account (or the account moved): the same finding, its owner follows
        moved = (row.account_id, row.unit_id) != (account_id, unit_id)
        if row.evidence != evidence or moved:
            update_row = {"id": row.id, "evidence": evidence, "last_seen_at": now, "last_run_id": run_id}
            if moved:
                owners.append({**update_row, "account_id": account_id, "unit_id": unit_id})
            else:
                changed.append(update_row)
        else:
            seen_ids.append(row.id)
        if row.evidence != evidence:
            trail_events.append(
                _trail(
                    "finding.evidence_changed",
                    row.id,
                    account_no,
                    {"evidence": row.evidence},
                    {"evidence": evidence},
                )
            )

    resolved_ids: list[int] = []
    for subject, row in existing.items():
        if subject in found or row.status not in ACTIVE_STATUSES:
            continue
        resolved_ids.append(row.id)
        gone = {"resolved_by": "audit run", "last_evidence": row.evidence}
        events.append(_event(row.id, "resolved", row.status, FindingStatus.REMEDIATED, run_id, gone))
        resolved_no = (row.evidence or {}).get("account_no")
        trail_events.append(
            _trail(
                "finding.resolved",
                row.id,
                resolved_no,
                {"status": row.status, "evidence": row.evidence},
                {"status": "remediated", "resolution": "auto"},
            )
        )
        counts.resolved += 1

    for chunk in _chunks(new_rows):
        created = session.execute(
            insert(Finding).returning(Finding.id, Finding.subject, sort_by_parameter_order=True), list(chunk)
        ).all()
        for (finding_id, subject), data in zip(created, chunk, strict=True):
            events.append(_event(finding_id, "found", None, FindingStatus.OPEN, run_id, data["evidence"]))
            trail_events.append(
                _trail(
                    "finding.opened",
                    finding_id,
                    found[subject].account_no,
                    None,
                    {"rule": rule.code, "subject": subject, "status": "open", "evidence": data["evidence"]},
                )
            )
    counts.new = len(new_rows)
    for chunk in _chunks(resolved_ids):
        session.execute(
            update(Finding)
            .where(Finding.id.in_(chunk))
            .values(
                status=FindingStatus.REMEDIATED.value,
                assignee_id=None,
                resolved_at=now,
                resolution="auto",
                last_run_id=run_id,
            )
        )
    for rows in (changed, owners):
        if rows:
            session.execute(update(Finding), rows)
    for chunk in _chunks(seen_ids):
        session.execute(update(Finding).where(Finding.id.in_(chunk)).values(last_seen_at=now, last_run_id=run_id))
    for chunk in _chunks(events):
        session.execute(insert(FindingEvent), list(chunk))
    if trail_events:
        trail.record_many(session, trail_events)
    return counts


def _event(
    finding_id: int, kind: str, from_status: str | None, to_status: str, run_id: int | None, evidence: Any
) -> dict[str, Any]:
    return {
        "finding_id": finding_id,
        "at": utcnow(),
        "kind": kind,
        "from_status": from_status,
        "to_status": str(to_status),
        "actor_id": None,
        "run_id": run_id,
        "evidence": evidence,
        "reason": "",
    }


def _trail(action: str, finding_id: int, account_no: str | None, before: Any, after: Any) -> dict[str, Any]:
    if account_no:
        after = {**(after or {}), "account_no": account_no}
    return {
        "actor_id": None,
        "action": action,
        "entity": "finding",
        "entity_id": finding_id,
        "before": before,
        "after": after,
    }


def run_rules(
    session: Session,
    scope: Scope,
    ctx: RuleContext,
    *,
    rules: Sequence[Rule] | None = None,
    run_id: int | None = None,
    after_rule: Callable[[Rule, Counts], None] | None = None,
) -> Counts:
    """Apply every rule (or the given ones) in turn; ``after_rule`` may commit and report progress."""
    total = Counts()
    for rule in rules if rules is not None else all_rules():
        counts = apply_rule(session, rule, ctx, scope, run_id=run_id)
        total.add(counts)
        if after_rule is not None:
            after_rule(rule, counts)
    return total
