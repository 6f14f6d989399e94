"""Filing rules: what an account's dossier must hold, and how its documents must look and be filed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, String, and_, case, cast, exists, func, literal, or_, select, union_all

from archive.models import Document, Dossier, DossierAttempt
from billing.models import Account
from core import clock
from core.identity import Unit
from core.scope import under

from .base import RuleContext, rule
from .documents import live_documents
from .requirements import (
    DRAWING_TYPES,
    FORBIDDEN_MATERIALS,
    LARGE_KVA,
    PROCESSED_SHEETS,
    account_tier,
    checklist_rows,
    event_rows,
)
from .sql import days_between


def required_documents() -> Any:
    """(account_id, account_no, capacity_kva, connected_on, doc_type): every document each account needs, from the
    checklist of its tier (capacity and category) and of its status (``archive.checklists``)."""
    tiers, on_tier = account_tier(Account)
    checklist, events = checklist_rows(), event_rows()
    columns = (Account.id.label("account_id"), Account.account_no, Account.capacity_kva, Account.connected_on)
    by_tier = (
        select(*columns, checklist.c.doc_type).join(tiers, on_tier).join(checklist, checklist.c.list == tiers.c.tier)
    )
    checklist_e = checklist_rows()
    by_event = (
        select(*columns, checklist_e.c.doc_type)
        .join(events, Account.status == events.c.status)
        .join(checklist_e, checklist_e.c.list == events.c.list)
    )
    return union_all(by_tier, by_event).subquery("required")


def missing_documents() -> Any:
    """Required documents that the account's dossier does not hold (all of them when it has no dossier)."""
    req = required_documents()
    live = live_documents()
    held = exists().where(live.c.account_no == req.c.account_no, live.c.doc_type == req.c.doc_type)
    return (
        select(req, Dossier.id.label("dossier_id"))
        .outerjoin(Dossier, Dossier.account_no == req.c.account_no)
        .where(~held)
        .subquery("missing")
    )


def _connected_before(connected_on: Any, ctx: RuleContext, days: int) -> Any:
    cutoff = ctx.today - dt.timedelta(days=days)
    return or_(connected_on.is_(None), connected_on <= cutoff)


@rule(
    "FL-REQUIRED-DOC",
    title="Required document missing",
    severity="medium",
    area="filing",
    checks=(
        "The dossier of an account below 315 kVA holds every document its capacity tier and lifecycle events "
        "require (e.g. power supply contract, new-install work order), once the grace period after connection "
        "has passed; an account without a dossier misses all of them."
    ),
    evidence=("doc_type", "capacity_kva", "connected_on", "has_dossier"),
)
def required_document_missing(ctx: RuleContext) -> Select[Any]:
    m = missing_documents()
    return select(
        m.c.account_id,
        ("account:" + m.c.account_no + ":" + m.c.doc_type).label("subject"),
        m.c.doc_type,
        m.c.capacity_kva,
        m.c.connected_on,
        m.c.dossier_id.is_not(None).label("has_dossier"),
    ).where(m.c.capacity_kva < LARGE_KVA, _connected_before(m.c.connected_on, ctx, ctx.dossier_grace_days))


@rule(
    "FL-LARGE-INCOMPLETE",
    title="Large account's dossier incomplete after one month",
    severity="high",
    area="filing",
    checks=(
        "An account of 315 kVA or more has a complete dossier (every required document) one month after "
        "connection: the market development side must hand it over by then."
    ),
    evidence=("missing", "capacity_kva", "connected_on", "days_since_connection", "has_dossier"),
)
def large_dossier_incomplete(ctx: RuleContext) -> Select[Any]:
    m = missing_documents()
    return (
        select(
            m.c.account_id,
            ("account:" + m.c.account_no).label("subject"),
            func.aggregate_strings(m.c.doc_type, ",").label("missing"),
            func.max(m.c.capacity_kva).label("capacity_kva"),
            func.max(m.c.connected_on).label("connected_on"),
            days_between(literal(ctx.today), func.max(m.c.connected_on)).label("days_since_connection"),
            (func.max(m.c.dossier_id).is_not(None)).label("has_dossier"),
        )
        .where(
            m.c.capacity_kva >= LARGE_KVA,
            m.c.connected_on.is_not(None),
            m.c.connected_on < ctx.today - dt.timedelta(days=ctx.large_dossier_days),
        )
        .group_by(m.c.account_id, m.c.account_no)
    )


@rule(
    "FL-MATERIAL",
    title="Forbidden writing material or medium",
    severity="medium",
    area="filing",
    checks=(
        "Documents kept long-term are in carbon ink, blue-black ink or print: never ballpoint pen, pure-blue ink, "
        "carbon copy, pencil or thermal paper."
    ),
    evidence=("document_id", "doc_type", "writing_material", "formed_on"),
)
def forbidden_material(ctx: RuleContext) -> Select[Any]:
    d = live_documents()
    return _per_document(d, d.c.writing_material).where(d.c.writing_material.in_(FORBIDDEN_MATERIALS))


@rule(
    "FL-PAPER-SIZE",
    title="Wrong paper size",
    severity="low",
    area="filing",
    checks="Documents are on A4 paper; A3 only for drawings (surveys, construction and installation records).",
    evidence=("document_id", "doc_type", "paper_size", "formed_on"),
)
def wrong_paper_size(ctx: RuleContext) -> Select[Any]:
    d = live_documents()
    return _per_document(d, d.c.paper_size).where(
        or_(
            d.c.paper_size.not_in(("A4", "A3")),
            and_(d.c.paper_size == "A3", d.c.doc_type.not_in(DRAWING_TYPES)),
        )
    )


def _per_document(d: Any, *extra: Any) -> Select[Any]:
    return select(
        Account.id.label("account_id"),
        _document_subject(d.c.document_id),
        d.c.document_id,
        d.c.doc_type,
        *extra,
        d.c.formed_on,
    ).join(Account, Account.account_no == d.c.account_no)


def _document_subject(document_id: Any) -> Any:
    return (literal("document:") + cast(document_id, String)).label("subject")


@rule(
    "FL-PAGE-GAP",
    title="Page numbering gap",
    severity="medium",
    area="filing",
    checks=(
        "No document is withdrawn from the middle of a dossier: its pages leave a gap in the numbers stamped on "
        "the documents after it, so the dossier must be renumbered and the reference sheet noted."
    ),
    evidence=("document_id", "doc_type", "pages", "formed_on", "withdrawn_at", "documents_after"),
)
def page_numbering_gap(ctx: RuleContext) -> Select[Any]:
    live = live_documents()
    after = (
        select(func.count())
        .where(
            live.c.dossier_id == Document.dossier_id,
            or_(
                live.c.formed_on > Document.formed_on,
                and_(live.c.formed_on == Document.formed_on, live.c.document_id > Document.id),
            ),
        )
        .scalar_subquery()
    )
    gaps = (
        select(
            Document.id.label("document_id"),
            Document.account_no,
            Document.doc_type,
            Document.pages,
            Document.formed_on,
            Document.withdrawn_at,
            after.label("documents_after"),
        )
        .where(Document.withdrawn_at.is_not(None))
        .subquery("withdrawn")
    )
    return (
        select(
            Account.id.label("account_id"),
            _document_subject(gaps.c.document_id),
            gaps.c.document_id,
            gaps.c.doc_type,
            gaps.c.pages,
            gaps.c.formed_on,
            gaps.c.withdrawn_at,
            gaps.c.documents_after,
        )
        .join(Account, Account.account_no == gaps.c.account_no)
        .where(gaps.c.documents_after > 0)
    )


@rule(
    "FL-DATE-ORDER",
    title="Document dates out of order",
    severity="low",
    area="filing",
    checks=(
        "Documents are filed in the order they were formed: a document formed before one already filed goes "
        "into the middle of the dossier and shifts the page numbers of everything after it."
    ),
    evidence=("document_id", "doc_type", "formed_on", "filed_at", "formed_after_it"),
)
def dates_out_of_order(ctx: RuleContext) -> Select[Any]:
    live = live_documents()
    earlier_max = (
        func.max(live.c.formed_on)
        .over(partition_by=live.c.dossier_id, order_by=(live.c.filed_at, live.c.document_id), rows=(None, -1))
        .label("formed_after_it")
    )
    ordered = select(live, earlier_max).subquery("filing_order")
    return (
        select(
            Account.id.label("account_id"),
            _document_subject(ordered.c.document_id),
            ordered.c.document_id,
            ordered.c.doc_type,
            ordered.c.formed_on,
            ordered.c.filed_at,
            ordered.c.formed_after_it,
        )
        .join(Account, Account.account_no == ordered.c.account_no)
        .where(ordered.c.formed_on < ordered.c.formed_after_it)
    )


@rule(
    "FL-LATE-FILING",
    title="Processed sheet filed late",
    severity="medium",
    area="filing",
    checks=(
        "Processed sheets (inspection, outage notice, late-fee waiver) are filed within the filing deadline "
        "(AUDIT_FILING_DEADLINE_DAYS, 30 days by default) after they were formed."
    ),
    evidence=("document_id", "doc_type", "formed_on", "filed_at", "days_to_file", "deadline_days"),
)
def filed_late(ctx: RuleContext) -> Select[Any]:
    d = live_documents()
    days = days_between(d.c.filed_at, d.c.formed_on)
    return _per_document(
        d, d.c.filed_at, days.label("days_to_file"), literal(ctx.filing_deadline_days).label("deadline_days")
    ).where(d.c.doc_type.in_(PROCESSED_SHEETS), days > ctx.filing_deadline_days)


@rule(
    "FL-NO-HANDOVER",
    title="Document without a hand-over record",
    severity="medium",
    area="filing",
    checks=(
        "A document that came from another department (its responsible party is not the filing unit) "
        "references the hand-over record (交接记录) it arrived with."
    ),
    evidence=("document_id", "doc_type", "responsible_unit", "filing_unit", "formed_on"),
)
def missing_handover(ctx: RuleContext) -> Select[Any]:
    d = live_documents()
    return (
        _per_document(d, d.c.responsible_unit, Unit.name.label("filing_unit"))
        .join(Dossier, Dossier.id == d.c.dossier_id)
        .join(Unit, Unit.id == Dossier.filing_unit_id)
        .where(d.c.handover_id.is_(None), d.c.doc_type != "handover_record", d.c.responsible_unit != Unit.name)
    )


@rule(
    "FL-SECOND-DOSSIER",
    title="Attempt to open a second dossier",
    severity="high",
    area="filing",
    checks="One account, one dossier: every refused attempt to open a second dossier for an account is reviewed.",
    evidence=("attempt_id", "attempted_at", "actor_id", "source"),
)
def second_dossier_attempt(ctx: RuleContext) -> Any:
    return select(
        Account.id.label("account_id"),
        (literal("attempt:") + cast(DossierAttempt.id, String)).label("subject"),
        DossierAttempt.id.label("attempt_id"),
        DossierAttempt.attempted_at,
        DossierAttempt.actor_id,
        DossierAttempt.source,
    ).join(Account, Account.account_no == DossierAttempt.account_no)


@rule(
    "FL-DOSSIER-UNCHECKED",
    title="Dossier never checked",
    severity="medium",
    area="filing",
    checks=(
        "Every dossier opened more than the grace period ago (AUDIT_DOSSIER_GRACE_DAYS) has been checked: its "
        "reference sheet (备考表) records the checker and the check date."
    ),
    evidence=("opened_at", "filer_name", "checker_name"),
)
def dossier_unchecked(ctx: RuleContext) -> Any:
    cutoff = clock.at_local(ctx.today - dt.timedelta(days=ctx.dossier_grace_days), dt.time(0, 0))
    return (
        select(
            Account.id.label("account_id"),
            (literal("dossier:") + Dossier.account_no).label("subject"),
            Dossier.created_at.label("opened_at"),
            Dossier.filer_name,
            Dossier.checker_name,
        )
        .join(Account, Account.account_no == Dossier.account_no)
        .where(Dossier.checked_on.is_(None), Dossier.created_at < cutoff)
    )


def _past_filing_grace(ctx: RuleContext) -> Any:
    """Accounts whose dossier is due: an account still inside its grace period after connection (below 315 kVA
    ``dossier_grace_days``, from 315 kVA ``large_dossier_days``) is not counted against the rates, as the rules
    do not count it either."""
    return or_(
        and_(Account.capacity_kva < LARGE_KVA, _connected_before(Account.connected_on, ctx, ctx.dossier_grace_days)),
        and_(Account.capacity_kva >= LARGE_KVA, _connected_before(Account.connected_on, ctx, ctx.large_dossier_days)),
    )


def unit_rates(session: Any, unit_path: str, ctx: RuleContext) -> list[Any]:
    """Filing rate (required documents held / required) and completeness (complete dossiers / accounts) of the
    accounts past their filing grace period."""
    from ..dashboard import UnitRate

    req = required_documents()
    live = live_documents()
    held = exists().where(live.c.account_no == req.c.account_no, live.c.doc_type == req.c.doc_type)
    per_account = (
        select(
            req.c.account_id,
            func.count().label("required"),
            func.sum(case((held, 1), else_=0)).label("filed"),
        )
        .group_by(req.c.account_id)
        .subquery("per_account")
    )
    stmt = (
        select(
            Unit.code,
            Unit.name,
            func.count(per_account.c.account_id),
            func.sum(per_account.c.required),
            func.sum(per_account.c.filed),
            func.sum(case((per_account.c.filed == per_account.c.required, 1), else_=0)),
        )
        .join(Account, Account.id == per_account.c.account_id)
        .join(Unit, Unit.id == Account.unit_id)
        .where(under(unit_path, Account.unit_id), _past_filing_grace(ctx))
        .group_by(Unit.code, Unit.name, Unit.path)
        .order_by(Unit.path)
    )
    return [
        UnitRate(code, name, int(accounts), int(required or 0), int(filed or 0), int(complete or 0))
        for code, name, accounts, required, filed, complete in session.execute(stmt)
    ]


def _register_rates() -> None:
    from ..dashboard import RATES_PROVIDER

    if unit_rates not in RATES_PROVIDER:
        RATES_PROVIDER.append(unit_rates)


_register_rates()
