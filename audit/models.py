"""Audit models: a finding per problem per record, its history, and audit runs with their progress."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Connection,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    column,
    event,
    select,
    table,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow
from core.identity import User


class FindingStatus(enum.StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    REMEDIATED = "remediated"
    WAIVED = "waived"


ACTIVE_STATUSES = (FindingStatus.OPEN.value, FindingStatus.ASSIGNED.value)


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Finding(Base):
    """One problem on one record: ``(rule, subject)`` is unique, so a rerun never doubles a finding.

    ``subject`` names the record the problem sits on (``document:17``, ``account:1000000001:power_supply_contract``,
    ``application:YK2026000001:site_survey``). A finding belongs to an account, or, for an application that has
    none yet (a new connection before its connection step), to no account: ``unit_id`` is the account's unit, else
    the application's, and scope goes through it when there is no account.
    ``evidence`` is what the rule saw the last time it found the problem; every earlier state stays in
    ``FindingEvent`` rows and in the trail.
    """

    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("rule", "subject"),
        CheckConstraint("status IN ('open', 'assigned', 'remediated', 'waived')", name="status_known"),
        CheckConstraint("status <> 'waived' OR length(reason) > 0", name="waiver_has_reason"),
        CheckConstraint("status <> 'assigned' OR assignee_id IS NOT NULL", name="assigned_has_assignee"),
        Index("ix_findings_status_rule", "status", "rule"),
        Index("ix_findings_account_id", "account_id"),
        Index("ix_findings_unit_id", "unit_id"),
        Index("ix_findings_assignee_id", "assignee_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(160))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    status: Mapped[str] = mapped_column(String(16), default=FindingStatus.OPEN)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    found_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None]
    # "auto" when a run saw the record fixed, "manual" when a person marked it remediated
    resolution: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    reopen_count: Mapped[int] = mapped_column(default=0)
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("audit_runs.id", ondelete="SET NULL"))

    assignee: Mapped[User | None] = relationship()


_accounts = table("accounts", column("id"), column("unit_id"))


@event.listens_for(Finding, "before_insert")
def _unit_of_the_account(_mapper: Any, connection: Connection, finding: Finding) -> None:
    """A finding made on an account without naming its unit gets the account's (the engine names it itself)."""
    if finding.unit_id is None and finding.account_id is not None:
        finding.unit_id = connection.scalar(select(_accounts.c.unit_id).where(_accounts.c.id == finding.account_id))


class FindingEvent(Base):
    """The history of a finding: found, reopened, resolved (with the evidence of that moment), decisions."""

    __tablename__ = "finding_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("audit_runs.id", ondelete="SET NULL"))
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")


class AuditRun(Base):
    """One execution of the rules over a scope; the progress columns are what the UI polls."""

    __tablename__ = "audit_runs"
    __table_args__ = (CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # full, unit, account, incremental
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.QUEUED)
    scope_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    scope_account_nos: Mapped[list[str] | None] = mapped_column(JSON)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    rules_total: Mapped[int] = mapped_column(default=0)
    rules_done: Mapped[int] = mapped_column(default=0)
    accounts_checked: Mapped[int] = mapped_column(default=0)
    problems_seen: Mapped[int] = mapped_column(default=0)
    findings_new: Mapped[int] = mapped_column(default=0)
    findings_reopened: Mapped[int] = mapped_column(default=0)
    findings_resolved: Mapped[int] = mapped_column(default=0)
    # the highest trail event id this run accounted for (incremental runs start after the last one)
    trail_mark: Mapped[int | None]
    error: Mapped[str] = mapped_column(Text, default="")

    @property
    def progress(self) -> float:
        if self.status == RunStatus.DONE:
            return 1.0
        return self.rules_done / self.rules_total if self.rules_total else 0.0
