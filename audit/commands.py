"""The audit's use-case inputs: a run's scope, and a finding's next step. The API's bodies and the supervisor's
forms build the same commands, so both refuse the same input with the same codes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from core.commands import Command, RowId
from core.errors import Problem

from .models import FindingStatus

REASON_MAX = 2000


class RunScope(Command):
    unit: str | None = Field(None, max_length=32, description="a unit code inside the caller's unit (default: it)")
    account_no: str | None = Field(None, pattern=r"^\d{1,20}$", description="one account")


class RequestRun(Command):
    """An audit run over the caller's unit, a unit inside it, or one account."""

    scope: RunScope = Field(default_factory=RunScope)


class TransitionFinding(Command):
    """A finding's next status: assigned (to someone), remediated, waived (with a reason), or open again."""

    to: FindingStatus
    assignee: RowId | str | None = Field(None, description="a user id or username (when assigning)")
    reason: str = Field("", max_length=REASON_MAX, description="why (required to waive)")

    @classmethod
    def rules(cls, data: Mapping[str, Any]) -> dict[str, Problem]:
        to = data.get("to")
        if to == FindingStatus.WAIVED and not str(data.get("reason") or "").strip():
            return {"reason": Problem("waiver_needs_reason")}
        if to == FindingStatus.ASSIGNED and data.get("assignee") in (None, ""):
            return {"assignee": Problem("required")}
        return {}
