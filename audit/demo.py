"""Demo data for the audit: the dossiers a decent company keeps, then one full run over everything (idempotent).

The archive's demo files a few real documents for a dozen accounts; a company's archive holds a dossier for every
account. So before the first run the audit's demo catalogues the dossier of every other demo account (catalogue
records of paper documents, no scans) from the account's checklist (``required_for``), the way
``audit.samples`` builds a clean dossier, and tops up the archive demo's dossiers with the sheets they lack:

- most dossiers are complete, so filing and completeness rates sit near the 98 % target;
- one unit (``BEHIND_UNIT``, the rural 转塘 office) is visibly behind: about a third of its dossiers lack sheets;
- a handful of each filing violation is planted in the other units (``PLANTS``), so every rule has examples.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.db import utcnow

from . import samples
from .engine import Scope, run_rules
from .models import AuditRun, RunStatus
from .rules import all_rules
from .rules.requirements import LARGE_KVA
from .settings import context

BEHIND_UNIT = "HZ-XH-02"
BEHIND_SHARE = 0.35  # of the behind unit's dossiers lack sheets
# violations planted in the other units, each this many times (FL-REQUIRED-DOC also comes from the behind unit)
PLANTS = {
    "FL-REQUIRED-DOC": 2,
    "FL-LARGE-INCOMPLETE": 2,
    "FL-MATERIAL": 3,
    "FL-PAPER-SIZE": 3,
    "FL-PAGE-GAP": 2,
    "FL-DATE-ORDER": 3,
    "FL-LATE-FILING": 3,
    "FL-NO-HANDOVER": 3,
    "FL-SECOND-DOSSIER": 2,
    "FL-COMPLAINT-UNFILED": 2,
    "FL-DOSSIER-UNCHECKED": 2,
    "FL-BUILDER-MISMATCH": 2,
}


def seed_findings(session: Session) -> str:
    """Catalogue the demo dossiers (first time only), then run every rule once over everything; rerunning finds
    the same problems and adds no finding."""
    catalogued = "" if session.scalar(select(func.count()).select_from(AuditRun)) else complete_dossiers(session)
    rules = all_rules()
    run = AuditRun(kind="full", status=RunStatus.RUNNING, rules_total=len(rules), started_at=utcnow())
    session.add(run)
    session.flush()
    counts = run_rules(session, Scope(), context(), rules=rules, run_id=run.id)
    run.rules_done = len(rules)
    run.problems_seen, run.findings_new = counts.problems, counts.new
    run.findings_reopened, run.findings_resolved = counts.reopened, counts.resolved
    run.status = RunStatus.DONE
    run.finished_at = utcnow()
    return f"{catalogued}{len(rules)} rules, {counts.problems} problems, {counts.new} new findings"


def _fits(plant: str, account: samples.SampleAccount, ctx: Any) -> bool:
    """Whether the account can carry the planted violation as its only problem."""
    grace = ctx.today - dt.timedelta(days=ctx.dossier_grace_days)
    large = account.capacity_kva >= LARGE_KVA
    if plant == "FL-REQUIRED-DOC":
        return not large and account.connected_on < grace
    if plant == "FL-LARGE-INCOMPLETE":
        return large and account.connected_on < ctx.today - dt.timedelta(days=ctx.large_dossier_days)
    return len(account.docs) >= 3


def _choose_plants(accounts: list[samples.SampleAccount], ctx: Any, rng: random.Random) -> None:
    wanted = [plant for plant, times in PLANTS.items() for _ in range(times)]
    pool = [a for a in accounts if a.unit_code != BEHIND_UNIT]
    rng.shuffle(pool)
    for plant in wanted:
        account = next((a for a in pool if a.violation is None and _fits(plant, a, ctx)), None)
        if account is not None:
            account.violation = plant
            samples._plant(account, ctx.today)


def _fall_behind(accounts: Iterable[samples.SampleAccount], rng: random.Random) -> int:
    """A third of the behind unit's dossiers lack one to three of their sheets (never the application)."""
    lacking = 0
    for account in accounts:
        if account.unit_code != BEHIND_UNIT or rng.random() >= BEHIND_SHARE:
            continue
        kinds = [d["doc_type"] for d in account.docs if d["doc_type"] != "customer_application"]
        for doc_type in rng.sample(kinds, k=min(len(kinds), rng.randint(1, 3))):
            samples._drop(account.docs, doc_type)
        lacking += 1
    return lacking


def complete_dossiers(session: Session) -> str:
    from archive.models import Document, Dossier
    from archive.vocabulary import DOC_TYPE_LABELS_ZH
    from billing.models import Account
    from core.identity import Unit

    ctx = context()
    rng = random.Random(2026)
    units = {code: (uid, name) for uid, code, name in session.execute(select(Unit.id, Unit.code, Unit.name))}
    have = set(session.scalars(select(Dossier.account_no)))
    rows = session.execute(
        select(
            Account.account_no,
            Account.capacity_kva,
            Account.connected_on,
            Account.status,
            Account.holder_name,
            Account.category,
        )
        .add_columns(Unit.code)
        .join(Unit, Unit.id == Account.unit_id)
        .order_by(Account.account_no)
    ).all()
    accounts, holders = [], {}
    for index, (no, kva, connected, status, holder, category, unit_code) in enumerate(rows):
        holders[no] = holder
        if no in have:
            continue
        account = samples.SampleAccount(
            index=index,
            account_no=no,
            unit_code=unit_code,
            capacity_kva=Decimal(kva),
            connected_on=connected or ctx.today - dt.timedelta(days=400),
            status=str(status),
            category=str(category),
        )
        account.docs = samples.clean_documents(account, ctx.today, rng)
        accounts.append(account)
    lacking = _fall_behind(accounts, rng)
    _choose_plants(accounts, ctx, rng)
    if accounts:
        samples.write_archive(session, samples.Plan(today=ctx.today, accounts=accounts), units)
        # the sample writer's placeholders become what an archivist writes: the holder's name, the sheet's name
        for account in accounts:
            name = holders[account.account_no]
            session.execute(
                update(Dossier)
                .where(Dossier.account_no == account.account_no)
                .values(title=f"{name}（户号{account.account_no}）用电业务档案")
            )
        for doc_type, label in DOC_TYPE_LABELS_ZH.items():
            session.execute(
                update(Document)
                .where(Document.account_no.in_([a.account_no for a in accounts]), Document.doc_type == doc_type)
                .values(title=label, original_name=f"{label}（纸质）")
            )
    topped = _top_up(session, have, holders, units, ctx, rng)
    planted = sum(1 for a in accounts if a.violation) + _business_slips(session, ctx, rng)
    planted += _unfiled_waivers(session, ctx, rng)
    return (
        f"{len(accounts)} dossiers catalogued ({lacking} in {BEHIND_UNIT} lacking sheets), {topped} sheets added "
        f"to the archive demo's dossiers, {planted} violations planted; "
    )


def _business_slips(session: Session, ctx: Any, rng: random.Random) -> int:
    """A handful of the counter's slips in the demo's billing records: payments typed without their reference,
    a bank file's payments recorded a second time, late fees credited without an approved waiver."""
    from sqlalchemy.exc import IntegrityError

    from billing.models import Account, Bill, Payment, PaymentApplication

    demo_customer = {"3301000001", "3301000002"}  # the demo customer's pages stay as the billing demo made them
    payments = list(
        session.scalars(
            select(Payment)
            .join(Account, Account.id == Payment.account_id)
            .where(Payment.reference != "", Account.account_no.not_in(demo_customer))
            .order_by(Payment.id)
        )
    )
    picked = rng.sample(payments, k=min(len(payments), 7))
    planted = 0
    for payment in picked[:3]:
        payment.reference = ""
        planted += 1
    for payment in picked[3:5]:
        try:
            with session.begin_nested():
                session.add(
                    Payment(
                        account_id=payment.account_id,
                        amount=payment.amount,
                        channel=payment.channel,
                        paid_at=payment.paid_at + dt.timedelta(hours=2),
                        reference=payment.reference,
                        idempotency_key=f"demo-again-{payment.id}",
                        request_hash="0" * 64,
                        recorded_at=utcnow(),
                    )
                )
            planted += 1
        except IntegrityError:  # references made unique by the database: the slip cannot happen there
            pass
    bills = list(session.scalars(select(Bill).where(Bill.period < ctx.today.strftime("%Y-%m")).order_by(Bill.id)))
    for bill in rng.sample(bills, k=min(len(bills), 2)):
        session.add(
            PaymentApplication(
                payment_id=None,
                bill_id=bill.id,
                applied_on=ctx.today,
                principal=Decimal("0.00"),
                late_fee=Decimal("5.00"),
                created_at=utcnow(),
            )
        )
        planted += 1
    planted += _statement_differences(session, ctx, [p.account_id for p in picked[5:]] or [picked[0].account_id])
    session.flush()
    return planted


UNFILED_WAIVERS = 3


def _unfiled_waivers(session: Session, ctx: Any, rng: random.Random) -> int:
    """Late-fee waivers requested by the clerk and approved by the supervisor six weeks ago whose approval sheets
    never reached the dossier (``FL-SHEET-UNFILED``): approved before the archive filed such sheets."""
    from billing.models import Account, Adjustment, Bill
    from core.identity import Unit, User

    clerk = session.scalar(select(User).where(User.username == "clerk"))
    supervisor = session.scalar(select(User).where(User.username == "supervisor"))
    if clerk is None or supervisor is None:
        return 0
    bills = list(
        session.scalars(
            select(Bill)
            .join(Account, Account.id == Bill.account_id)
            .join(Unit, Unit.id == Account.unit_id)
            .where(Unit.code != BEHIND_UNIT, Account.account_no.not_in({"3301000001", "3301000002"}))
            .order_by(Bill.id)
        )
    )
    by_account: dict[int, Any] = {}
    for bill in bills:
        by_account.setdefault(bill.account_id, bill)
    decided = utcnow() - dt.timedelta(days=ctx.filing_deadline_days + 12)
    chosen = rng.sample(sorted(by_account), k=min(len(by_account), UNFILED_WAIVERS))
    for account_id in chosen:
        session.add(
            Adjustment(
                kind="waiver",
                account_id=account_id,
                bill_id=by_account[account_id].id,
                amount=Decimal("2.00"),
                reason="客户因住院未能按期缴费，申请减免违约金",
                status="approved",
                requested_by=clerk.id,
                requested_at=decided - dt.timedelta(days=1),
                decided_by=supervisor.id,
                decided_at=decided,
                decision_note="同意减免",
            )
        )
    return len(chosen)


def _statement_differences(session: Session, ctx: Any, account_ids: list[int]) -> int:
    """Two trades on an Alipay statement of three days ago for a yuan less than the orders they paid (the daily
    reconciliation's report and audit show them)."""
    from billing.online.models import PaymentReconciliation, StatementItem

    day = ctx.today - dt.timedelta(days=3)
    exists = select(PaymentReconciliation.id).where(
        PaymentReconciliation.provider == "alipay", PaymentReconciliation.day == day
    )
    if session.scalar(exists) is not None:
        return 0
    reconciliation = PaymentReconciliation(provider="alipay", day=day, made_at=utcnow(), amount_differs=2)
    session.add(reconciliation)
    session.flush()
    for n in range(2):
        account_id = account_ids[n % len(account_ids)]
        session.add(
            StatementItem(
                reconciliation_id=reconciliation.id,
                provider="alipay",
                day=day,
                kind="amount_differs",
                order_no=f"GDDEMO{day:%Y%m%d}{n + 1:04d}",
                trade_no=f"2026DEMO{n + 1:012d}",
                ours=Decimal("120.00"),
                theirs=Decimal("119.00"),
                recorded=False,
                account_id=account_id,
            )
        )
    return 2


def _top_up(
    session: Session, dossiers: set[str], holders: dict[str, str], units: Any, ctx: Any, rng: random.Random
) -> int:
    """The archive demo's dossiers get the sheets their checklist asks for and they lack, formed and filed after
    the ones they hold (so the order of dates and pages stays right)."""
    from archive.models import Document, Dossier
    from archive.vocabulary import DOC_TYPE_LABELS_ZH
    from billing.models import Account

    added = 0
    for no in sorted(dossiers):
        account = session.scalars(select(Account).where(Account.account_no == no)).one()
        dossier = session.scalars(select(Dossier).where(Dossier.account_no == no)).one()
        held = list(session.scalars(select(Document).where(Document.dossier_id == dossier.id)))
        present = {d.doc_type for d in held if d.withdrawn_at is None}
        missing = [
            t
            for t in samples.required_for(Decimal(account.capacity_kva), str(account.status), str(account.category))
            if t not in present
        ]
        formed = max((d.formed_on for d in held), default=ctx.today - dt.timedelta(days=400))
        filed = max((d.filed_at for d in held), default=utcnow() - dt.timedelta(days=400))
        for doc_type in missing:
            formed += dt.timedelta(days=rng.randint(0, 2))
            filed = max(filed, dt.datetime.combine(formed, dt.time(9, 0), tzinfo=dt.UTC)) + dt.timedelta(minutes=1)
            label = DOC_TYPE_LABELS_ZH.get(doc_type, doc_type)
            session.add(
                Document(
                    dossier_id=dossier.id,
                    account_no=no,
                    doc_type=doc_type,
                    title=f"{holders.get(no, '')}{label}",
                    title_supplied=False,
                    document_no="",
                    responsible_unit=account.unit.name,
                    formed_on=formed,
                    filed_at=filed,
                    writing_material="print",
                    paper_size="A3" if doc_type == "engineering_survey" else "A4",
                    retention="permanent",
                    pages=rng.randint(1, 4),
                    pages_from_file=False,
                    sha256="0" * 64,
                    content_type="application/pdf",
                    original_name=f"{label}（纸质）",
                    size_bytes=0,
                    index_status="indexed",
                    index_error="",
                    index_attempts=0,
                )
            )
            added += 1
    session.flush()
    return added
