"""The complaint file: every closed complaint, report of misconduct and meter dispute of an account is in the
account's dossier (客户投诉档案)."""

from __future__ import annotations

import datetime as dt
import typing
from typing import Any

from sqlalchemy import Select, String, case, cast, exists, literal, select

from archive.models import Document, Dossier
from billing.models import Account
from core import clock
from servicedesk.models import Ticket

from .base import RuleContext, rule

FILED_KINDS = ("complaint", "report", "meter_check")
COMPLAINT_RECORD = "complaint_record"


@rule(
    "FL-COMPLAINT-UNFILED",
    title="Closed complaint missing from the complaint file",
    severity="medium",
    area="filing",
    checks=(
        "Every complaint, report of misconduct and meter dispute of an account that closed before yesterday is "
        "filed into the account's dossier as a complaint record (客户投诉档案) whose document number is the "
        "ticket number (after the n-th reopening, the supplementary record <ticket number>-n of its last "
        "closing), and the record is not withdrawn."
    ),
    evidence=("ticket_no", "kind", "closed_at", "has_dossier"),
)
def complaint_unfiled(ctx: RuleContext) -> Select[Any]:
    cutoff = clock.at_local(ctx.today - dt.timedelta(days=1), dt.time(0, 0))
    supplement = Ticket.ticket_no + "-" + cast(Ticket.reopened, String)
    number = case((Ticket.reopened == 0, Ticket.ticket_no), else_=supplement)
    filed = exists().where(
        Document.account_no == Account.account_no,
        Document.doc_type == COMPLAINT_RECORD,
        Document.document_no == number,
        Document.withdrawn_at.is_(None),
    )
    has_dossier = exists().where(Dossier.account_no == Account.account_no)
    stmt = (
        select(
            Account.id.label("account_id"),
            (literal("ticket:") + Ticket.ticket_no).label("subject"),
            Ticket.ticket_no,
            Ticket.kind,
            Ticket.closed_at,
            has_dossier.label("has_dossier"),
        )
        .join(Account, Account.id == Ticket.account_id)
        .where(Ticket.kind.in_(FILED_KINDS), Ticket.status == "closed", Ticket.closed_at < cutoff, ~filed)
    )
    return typing.cast(Select[Any], stmt)
