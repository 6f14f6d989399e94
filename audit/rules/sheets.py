"""Never-filed sheets: work GridDesk processed whose sheet is not in the account's dossier after the filing
deadline (chapter 6, 2.4.3: the sheets of work done go into the customer's dossier by account number).

What GridDesk records, and the sheet each leaves behind:

- a late-fee waiver approved by a second person (billing ``adjustments``, kind ``waiver``): its approval sheet
  (违约金减免申请及审批), document number ``JM-<adjustment id>``, filed by the archive (``archive.sheets``);
- an outage notice served on named accounts (notifications ``notices``, kind ``outage`` with an account list): the
  outage notice sheet (停电通知单) in each account's dossier, number ``TD-<notice id>``; an area announcement is a
  public notice (停电公告) and is not filed per account;
- a business-handling change carried out (name change, transfer, category change: 杂项工作单; suspension,
  resumption, capacity reduction, closure: 报停/启用/拆表单): the step's sheet, number ``<application>-NN``, filed
  by ``connections.papers``.

Inspections (用电检查工作单) and violation handling (违约处理单) are not recorded by GridDesk: no rule can compare
them. The deadline is ``AUDIT_FILING_DEADLINE_DAYS`` (30 days by default) after the work was done (the waiver's
approval, the outage's end, the step's day).
"""

from __future__ import annotations

import datetime as dt
import typing
from typing import Any

from sqlalchemy import Select, String, and_, cast, exists, literal, select, true, union_all

from archive.models import Document, Dossier
from billing.models import Account, Adjustment
from connections.flows import FLOWS
from connections.models import Application, ApplicationStep
from notifications.models import Notice

from .base import RuleContext, rule
from .sql import json_items, local_date_of, two_digits

# the business-handling sheets of work done on an existing account
CHANGE_SHEETS = ("misc_work_order", "service_change_sheet")


def _change_steps() -> Any:
    """(type, step, doc_type): the steps whose sheet is a change sheet, as rows."""
    rows = [
        select(
            literal(str(type_)).label("type"), literal(str(s.name)).label("step"), literal(s.paper).label("doc_type")
        )
        for type_, steps in FLOWS.items()
        for s in steps
        if s.paper in CHANGE_SHEETS
    ]
    return union_all(*rows).subquery("change_steps")


def work_done() -> Any:
    """(account_id, account_no, source, doc_type, document_no, done_on): every piece of processed work and the
    sheet it must leave in the dossier."""
    waivers = (
        select(
            Account.id.label("account_id"),
            Account.account_no,
            literal("waiver").label("source"),
            literal("late_fee_waiver").label("doc_type"),
            (literal("JM-") + cast(Adjustment.id, String)).label("document_no"),
            local_date_of(Adjustment.decided_at).label("done_on"),
        )
        .join(Account, Account.id == Adjustment.account_id)
        .where(Adjustment.kind == "waiver", Adjustment.status == "approved")
    )
    served = json_items(Notice.account_nos).table_valued("value")
    outages = (
        select(
            Account.id.label("account_id"),
            Account.account_no,
            literal("outage").label("source"),
            literal("outage_notice").label("doc_type"),
            (literal("TD-") + cast(Notice.id, String)).label("document_no"),
            local_date_of(Notice.ends_at).label("done_on"),
        )
        .select_from(Notice)
        .join(served, true())
        .join(Account, Account.account_no == served.c.value)
        .where(Notice.kind == "outage", Notice.ends_at.is_not(None))
    )
    steps = _change_steps()
    changes = (
        select(
            Account.id.label("account_id"),
            Account.account_no,
            literal("application").label("source"),
            steps.c.doc_type,
            (Application.application_no + literal("-") + two_digits(ApplicationStep.position + 1)).label("document_no"),
            ApplicationStep.done_on.label("done_on"),
        )
        .join(Application, Application.id == ApplicationStep.application_id)
        .join(steps, and_(steps.c.type == Application.type, steps.c.step == ApplicationStep.step))
        .join(Account, Account.id == Application.account_id)
        .where(ApplicationStep.done_on.is_not(None))
    )
    return union_all(waivers, outages, changes).subquery("work_done")


@rule(
    "FL-SHEET-UNFILED",
    title="Processed work whose sheet was never filed",
    severity="medium",
    area="filing",
    checks=(
        "The sheet of work GridDesk processed is in the account's dossier once the filing deadline "
        "(AUDIT_FILING_DEADLINE_DAYS, 30 days by default) after the work has passed: an approved late-fee waiver's "
        "approval sheet (JM-<id>), an outage notice served on named accounts (TD-<id>), a change carried out by "
        "business handling (misc work order, service change sheet: <application>-NN); filed under that document "
        "number and not withdrawn."
    ),
    evidence=("source", "doc_type", "document_no", "done_on", "deadline_days", "has_dossier"),
)
def sheet_unfiled(ctx: RuleContext) -> Select[Any]:
    w = work_done()
    cutoff = ctx.today - dt.timedelta(days=ctx.filing_deadline_days)
    filed = exists().where(
        Document.account_no == w.c.account_no,
        Document.doc_type == w.c.doc_type,
        Document.document_no == w.c.document_no,
        Document.withdrawn_at.is_(None),
    )
    has_dossier = exists().where(Dossier.account_no == w.c.account_no)
    stmt = select(
        w.c.account_id,
        (literal("sheet:") + w.c.account_no + literal(":") + w.c.document_no).label("subject"),
        w.c.source,
        w.c.doc_type,
        w.c.document_no,
        w.c.done_on,
        literal(ctx.filing_deadline_days).label("deadline_days"),
        has_dossier.label("has_dossier"),
    ).where(w.c.done_on < cutoff, ~filed)
    return typing.cast(Select[Any], stmt)
