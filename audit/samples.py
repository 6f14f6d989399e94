"""A sample archive with planted violations: for the rule tests and ``bench/audit.py``.

``plan`` decides, per account, a clean dossier (every required document, continuous pages, dates in order,
print on A4, filed on time, each with a hand-over record; bills paid with references) or exactly one planted
violation, and records the finding each planted violation must produce (rule code and subject). ``write``
inserts the plan with set-based inserts (no per-row ORM work), so 100,000 accounts load in seconds.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from archive.checklists import Builder, builder_for
from archive.checklists import required_for as _checklist

from .rules.requirements import LARGE_KVA

CAPACITIES = (Decimal(8), Decimal(30), Decimal(100), Decimal(200), Decimal(400), Decimal(630))
# a prefecture's mix: three accounts in four are households on 8 kVA, the rest spread over the larger tiers
PREFECTURE_CAPACITIES = (Decimal(8),) * 15 + CAPACITIES[1:]


@dataclass
class SampleAccount:
    index: int
    account_no: str
    unit_code: str
    capacity_kva: Decimal
    connected_on: dt.date
    status: str = "active"
    category: str = ""  # empty: residential below 50 kVA, general from 50 kVA
    violation: str | None = None
    docs: list[dict[str, Any]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    today: dt.date
    accounts: list[SampleAccount]
    # (rule code, subject template) the planted violations must produce; subjects use ids known after write
    expected: list[tuple[str, str, Callable[[dict[str, Any]], str]]] = field(default_factory=list)


def category_of(account: SampleAccount) -> str:
    return account.category or ("residential" if account.capacity_kva < 50 else "general")


def required_for(capacity: Decimal, status: str, category: str = "general") -> tuple[str, ...]:
    """The checklist of such an account (``archive.checklists``)."""
    return _checklist(capacity, category, status)


def builder_of(account: SampleAccount) -> str:
    """The builder recorded on the account's dossier: its tier's, or a wrong one when that is the planted
    violation."""
    right = builder_for(account.capacity_kva, category_of(account))
    if account.extras.get("wrong_builder"):
        return Builder.MARKETING_UNIT if right != Builder.MARKETING_UNIT else Builder.MARKETING_DEPARTMENT
    return right


def clean_documents(account: SampleAccount, today: dt.date, rng: random.Random) -> list[dict[str, Any]]:
    """The required documents in formation order with continuous pages, well-formed and filed in time."""
    docs = []
    formed = account.connected_on - dt.timedelta(days=40)
    filed = formed
    page = 1
    # small accounts: the unit's own archivist writes the documents (no hand-over); others come from the
    # market development side with a hand-over record
    own = account.capacity_kva < 50
    required = required_for(account.capacity_kva, account.status, category_of(account))
    for item_no, doc_type in enumerate(required, start=1):
        pages = rng.randint(1, 4)
        formed += dt.timedelta(days=rng.randint(0, 3))
        filed = max(filed, min(formed + dt.timedelta(days=rng.randint(1, 10)), today))
        docs.append(
            {
                "item_no": item_no,
                "doc_type": doc_type,
                "formed_on": formed,
                "filed_on": filed,
                "page_from": page,
                "page_to": page + pages - 1,
                "pages": pages,
                "writing_material": "print",
                "paper_size": "A3" if doc_type == "engineering_survey" else "A4",
                "responsible": None if own else "市场拓展部",
                "handover": not own,
                "withdrawn": False,
            }
        )
        page += pages
    return docs


# rule code -> how to plant one violation of it into a clean account (mutates the account's documents/extras)
FILING_PLANTS = (
    "FL-REQUIRED-DOC",
    "FL-LARGE-INCOMPLETE",
    "FL-MATERIAL",
    "FL-PAPER-SIZE",
    "FL-PAGE-GAP",
    "FL-DATE-ORDER",
    "FL-LATE-FILING",
    "FL-NO-HANDOVER",
    "FL-SECOND-DOSSIER",
    "FL-COMPLAINT-UNFILED",
    "FL-DOSSIER-UNCHECKED",
    "FL-BUILDER-MISMATCH",
    "FL-SHEET-UNFILED",
)
_TARIFF_FROM = dt.date(2000, 1, 1)
BUSINESS_PLANTS = ("BZ-UNAPPROVED", "BZ-PAYMENT-UNMATCHED", "BZ-PAYMENT-DUPLICATE", "BZ-STATEMENT-MISMATCH")


def plan(n: int, *, today: dt.date, **options: Any) -> Plan:
    """N accounts spread over ``units``; about ``violation_rate`` of them carry one planted violation each,
    cycling through ``rules`` so that every rule is planted (the first ``len(rules)`` accounts always are). The
    options are ``_accounts``'s."""
    return Plan(today=today, accounts=list(_accounts(n, today=today, **options)))


def plans(n: int, *, chunk: int, today: dt.date, **options: Any) -> Iterator[Plan]:
    """The accounts of ``plan(n, ...)`` (the same ones), ``chunk`` at a time: a prefecture's million accounts and
    their millions of documents are generated and written a slice at a time instead of held in memory at once."""
    accounts = _accounts(n, today=today, **options)
    while part := list(itertools.islice(accounts, chunk)):
        yield Plan(today=today, accounts=part)


def _accounts(
    n: int,
    *,
    today: dt.date,
    units: list[str],
    violation_rate: float = 0.1,
    rules: tuple[str, ...] = FILING_PLANTS + BUSINESS_PLANTS,
    seed: int = 7,
    prefix: str = "77",
    capacities: tuple[Decimal, ...] = CAPACITIES,
) -> Iterator[SampleAccount]:
    rng = random.Random(seed)
    planted = 0
    for i in range(n):
        account = SampleAccount(
            index=i,
            account_no=f"{prefix}{i:08d}",
            unit_code=units[i % len(units)],
            capacity_kva=capacities[i % len(capacities)],
            connected_on=today - dt.timedelta(days=120 + (i * 37) % 2000),
        )
        if rules and (i < len(rules) or rng.random() < violation_rate):
            account.violation = rules[planted % len(rules)]
            planted += 1
        _prepare(account, today)
        account.docs = clean_documents(account, today, rng)
        if account.violation is not None:
            _plant(account, today)
        yield account


def _prepare(account: SampleAccount, today: dt.date) -> None:
    """Choose the account's facts so that the planted violation is the only problem it has."""
    v = account.violation
    if v is None and account.index % 50 == 49:
        account.status = "suspended"  # a lifecycle event: the dossier then needs the service change sheet
    if v == "FL-REQUIRED-DOC":
        account.capacity_kva = Decimal(8)
    elif v == "FL-LARGE-INCOMPLETE":
        account.capacity_kva = Decimal(400)
        account.connected_on = today - dt.timedelta(days=45)
    elif v == "FL-LATE-FILING":
        account.extras["late_sheet"] = True


def _plant(account: SampleAccount, today: dt.date) -> None:
    v, docs = account.violation, account.docs
    if v == "FL-REQUIRED-DOC":
        _drop(docs, "power_supply_contract")
    elif v == "FL-LARGE-INCOMPLETE":
        _drop(docs, "test_report")
    elif v == "FL-MATERIAL":
        docs[1]["writing_material"] = "ballpoint"
    elif v == "FL-PAPER-SIZE":
        docs[1]["paper_size"] = "other"
    elif v == "FL-PAGE-GAP":
        # a work order filed between the first two documents, later withdrawn: its pages leave a gap
        docs.insert(1, {**docs[0], "doc_type": "misc_work_order", "withdrawn": True, "item_no": 0})
    elif v == "FL-DATE-ORDER":
        docs[2]["formed_on"] = docs[1]["formed_on"] - dt.timedelta(days=5)
    elif v == "FL-LATE-FILING":
        last = docs[-1]
        formed = min(today - dt.timedelta(days=60), max(d["formed_on"] for d in docs) + dt.timedelta(days=1))
        docs.append(
            {
                **last,
                "item_no": last["item_no"] + 1,
                "doc_type": "inspection_sheet",
                "formed_on": max(formed, last["formed_on"]),
                "filed_on": max(formed, last["formed_on"]) + dt.timedelta(days=45),
                "page_from": last["page_to"] + 1,
                "page_to": last["page_to"] + 1,
                "pages": 1,
            }
        )
    elif v == "FL-NO-HANDOVER":
        docs[1]["responsible"] = "市场拓展部"
        docs[1]["handover"] = False
    elif v == "FL-SECOND-DOSSIER":
        account.extras["second_attempt"] = True
    elif v == "FL-COMPLAINT-UNFILED":
        account.extras["unfiled_complaint"] = True
    elif v == "FL-DOSSIER-UNCHECKED":
        account.extras["unchecked_dossier"] = True
    elif v == "FL-BUILDER-MISMATCH":
        account.extras["wrong_builder"] = True
    elif v == "FL-SHEET-UNFILED":
        account.extras["unfiled_outage_sheet"] = True
    elif v == "BZ-UNAPPROVED":
        account.extras["unapproved_waiver"] = True
    elif v == "BZ-PAYMENT-UNMATCHED":
        account.extras["payment_without_reference"] = True
    elif v == "BZ-PAYMENT-DUPLICATE":
        account.extras["duplicate_payment"] = True
    elif v == "BZ-STATEMENT-MISMATCH":
        account.extras["statement_differs"] = True


def _opened_long_ago(today: dt.date) -> dt.datetime:
    from core import clock

    return clock.at_local(today - dt.timedelta(days=365), dt.time(9, 0))


def _drop(docs: list[dict[str, Any]], doc_type: str) -> None:
    """Remove a document and renumber items and pages so that nothing else looks wrong."""
    docs[:] = [d for d in docs if d["doc_type"] != doc_type]
    page = 1
    for item_no, doc in enumerate(docs, start=1):
        size = doc["page_to"] - doc["page_from"]
        doc["item_no"], doc["page_from"], doc["page_to"] = item_no, page, page + size
        page += size + 1


def _bulk(session: Any, model: Any, rows: list[dict[str, Any]], chunk: int = 5000) -> list[int]:
    """Insert ``rows`` and return their ids in order. PostgreSQL: ids from the sequence and the rows by ``COPY``
    (a prefecture's millions of documents in minutes, not the hours of ``INSERT ... RETURNING``)."""
    from sqlalchemy import insert

    from core.db import copy_rows, is_postgresql, reserve_ids

    ids: list[int] = []
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        if is_postgresql(session):
            fresh = reserve_ids(session, model, len(part))
            assert fresh is not None
            columns, values = _with_defaults(model, part)
            copy_rows(session, model, ("id", *columns), [(i, *v) for i, v in zip(fresh, values, strict=True)])
            ids.extend(fresh)
            continue
        result = session.execute(insert(model).returning(model.id, sort_by_parameter_order=True), part)
        ids.extend(r[0] for r in result)
    return ids


def _with_defaults(model: Any, rows: list[dict[str, Any]]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The rows as tuples of every column they name or that has a Python default (``COPY`` applies none)."""
    table = model.__table__
    defaults = {
        c.key: c.default.arg
        for c in table.columns
        if c.key != "id" and c.default is not None and not c.default.is_sequence and not c.default.is_clause_element
    }
    columns = sorted({key for row in rows for key in row} | set(defaults))
    values = [
        tuple(
            row[name]
            if name in row
            else (defaults[name](None) if callable(defaults[name]) else defaults[name])
            if name in defaults
            else None
            for name in columns
        )
        for row in rows
    ]
    return columns, values


def write(session: Any, plan: Plan, *, archive: bool = True, business: bool = True) -> set[tuple[str, str]]:
    """Insert the plan (accounts, then the archive's and billing's records); return the expected findings."""
    from sqlalchemy import select

    from core.identity import Unit

    units = {code: (uid, name) for uid, code, name in session.execute(select(Unit.id, Unit.code, Unit.name))}
    account_ids = write_accounts(session, plan, units)
    expected: set[tuple[str, str]] = set()
    if archive:
        expected |= write_archive(session, plan, units)
    if business:
        expected |= write_business(session, plan, account_ids)
    return expected


def write_accounts(session: Any, plan: Plan, units: dict[str, tuple[int, str]]) -> list[int]:
    from billing.models import Account
    from core.db import utcnow

    now = utcnow()
    return _bulk(
        session,
        Account,
        [
            {
                "account_no": a.account_no,
                "holder_name": f"样例用户{a.index}",
                "id_last4_hash": "0" * 64,
                "address": "",
                "category": category_of(a),
                "capacity_kva": a.capacity_kva,
                "tariff_code": "SAMPLE",
                "unit_id": units[a.unit_code][0],
                "status": a.status,
                "connected_on": a.connected_on,
                "meter_multiplier": Decimal(1),
                "balance": Decimal(0),
                "created_at": now,
            }
            for a in plan.accounts
        ],
    )


def write_archive(session: Any, plan: Plan, units: dict[str, tuple[int, str]]) -> set[tuple[str, str]]:
    from archive.models import Document, Dossier, DossierAttempt, Handover
    from core.db import utcnow

    now = utcnow()

    def bulk(model: Any, rows: list[dict[str, Any]]) -> list[int]:
        return _bulk(session, model, rows)

    dossier_ids = bulk(
        Dossier,
        [
            {
                "account_no": a.account_no,
                "archive_code": f"{a.unit_code}-YX-{a.account_no}",
                "title": f"样例用户{a.index}（户号{a.account_no}）用电业务档案",
                "filing_unit_id": units[a.unit_code][0],
                "retention": "permanent",
                "classification": "内部",
                # a clean dossier was checked when it was built; a planted one was opened long ago, never checked
                "created_at": _opened_long_ago(plan.today) if a.extras.get("unchecked_dossier") else now,
                "notes": "",
                "filer_name": "样例立卷人",
                "checker_name": "" if a.extras.get("unchecked_dossier") else "样例检查人",
                "checked_on": None if a.extras.get("unchecked_dossier") else plan.today,
                "builder": builder_of(a),
            }
            for a in plan.accounts
        ],
    )
    handed = [a for a in plan.accounts if any(d["handover"] for d in a.docs)]
    handover_ids = dict(
        zip(
            [a.account_no for a in handed],
            bulk(
                Handover,
                [
                    {
                        "account_no": a.account_no,
                        "from_department": "市场拓展部",
                        "to_department": units[a.unit_code][1],
                        "handed_over_on": a.connected_on,
                        "handed_by": "拓展专责",
                        "received_by": "档案员",
                        "item_count": sum(1 for d in a.docs if d["handover"]),
                        "notes": "",
                        "created_at": now,
                    }
                    for a in handed
                ],
            ),
            strict=True,
        )
    )
    doc_rows, doc_keys = [], []
    for a, dossier_id in zip(plan.accounts, dossier_ids, strict=True):
        unit_name = units[a.unit_code][1]
        for position, d in enumerate(a.docs):
            filed_at = dt.datetime.combine(d["filed_on"], dt.time(9, 0), tzinfo=dt.UTC) + dt.timedelta(seconds=position)
            doc_rows.append(
                {
                    "dossier_id": dossier_id,
                    "account_no": a.account_no,
                    "doc_type": d["doc_type"],
                    "title": d["doc_type"],
                    "title_supplied": False,
                    "document_no": "",
                    "responsible_unit": d["responsible"] or unit_name,
                    "formed_on": d["formed_on"],
                    "filed_at": filed_at,
                    "writing_material": d["writing_material"],
                    "paper_size": d["paper_size"],
                    "retention": "permanent",
                    "pages": d["pages"],
                    "pages_from_file": False,
                    "handover_id": handover_ids.get(a.account_no) if d["handover"] else None,
                    "sha256": "0" * 64,
                    "content_type": "application/pdf",
                    "original_name": "sample.pdf",
                    "size_bytes": 0,
                    "withdrawn_at": filed_at + dt.timedelta(days=1) if d["withdrawn"] else None,
                    "index_status": "indexed",
                    "index_error": "",
                    "index_attempts": 0,
                }
            )
            doc_keys.append((a.account_no, position))
    doc_ids = dict(zip(doc_keys, bulk(Document, doc_rows), strict=True))
    attempts = [a for a in plan.accounts if a.extras.get("second_attempt")]
    attempt_ids = dict(
        zip(
            [a.account_no for a in attempts],
            bulk(
                DossierAttempt, [{"account_no": a.account_no, "attempted_at": now, "source": "api"} for a in attempts]
            ),
            strict=True,
        )
    )
    complaints = _write_unfiled_complaints(session, plan, units)
    outages = _write_unfiled_outage_sheets(session, plan)
    expected: set[tuple[str, str]] = set()
    for a in plan.accounts:
        v, no = a.violation, a.account_no
        if v == "FL-COMPLAINT-UNFILED":
            expected.add((v, f"ticket:{complaints[no]}"))
        elif v == "FL-DOSSIER-UNCHECKED":
            expected.add((v, f"dossier:{no}"))
        elif v == "FL-BUILDER-MISMATCH":
            expected.add((v, f"dossier:{no}:builder"))
        elif v == "FL-SHEET-UNFILED":
            expected.add((v, f"sheet:{no}:TD-{outages[no]}"))
        elif v == "FL-REQUIRED-DOC":
            expected.add((v, f"account:{no}:power_supply_contract"))
        elif v == "FL-LARGE-INCOMPLETE":
            expected.add((v, f"account:{no}"))
        elif v in {"FL-MATERIAL", "FL-PAPER-SIZE", "FL-NO-HANDOVER", "FL-PAGE-GAP"}:
            expected.add((v, f"document:{doc_ids[(no, 1)]}"))
        elif v == "FL-DATE-ORDER":
            expected.add((v, f"document:{doc_ids[(no, 2)]}"))
        elif v == "FL-LATE-FILING":
            expected.add((v, f"document:{doc_ids[(no, len(a.docs) - 1)]}"))
        elif v == "FL-SECOND-DOSSIER":
            expected.add((v, f"attempt:{attempt_ids[no]}"))
    return expected


def _write_unfiled_outage_sheets(session: Any, plan: Plan) -> dict[str, int]:
    """An outage notice served on the account that ended 45 days before ``plan.today`` and whose sheet (停电通知单)
    never reached the dossier, for each account planted with it; account number -> notice id."""
    from notifications.models import Notice

    planted = [a for a in plan.accounts if a.extras.get("unfiled_outage_sheet")]
    if not planted:
        return {}
    ends = dt.datetime.combine(plan.today - dt.timedelta(days=45), dt.time(9, 30), tzinfo=dt.UTC)
    rows = [
        {"kind": "outage", "title": "计划停电通知", "body": "线路检修", "data": {}, "account_nos": [a.account_no],
         "starts_at": ends - dt.timedelta(hours=8), "ends_at": ends, "created_at": ends - dt.timedelta(days=3),
         "accounts": 1, "recipients": 0}
        for a in planted
    ]  # fmt: skip
    return dict(zip([a.account_no for a in planted], _bulk(session, Notice, rows), strict=True))


def _write_unfiled_complaints(session: Any, plan: Plan, units: dict[str, tuple[int, str]]) -> dict[str, str]:
    """A complaint closed ten days before ``plan.today`` and never filed, for each account planted with it;
    account number -> ticket number."""
    from sqlalchemy import select

    from billing.models import Account
    from servicedesk.models import Ticket

    planted = [a for a in plan.accounts if a.extras.get("unfiled_complaint")]
    if not planted:
        return {}
    numbers_wanted = [a.account_no for a in planted]
    found = session.execute(select(Account.account_no, Account.id).where(Account.account_no.in_(numbers_wanted)))
    ids = {str(row[0]): int(row[1]) for row in found.all()}
    closed = dt.datetime.combine(plan.today - dt.timedelta(days=10), dt.time(2, 0), tzinfo=dt.UTC)
    numbers = {a.account_no: f"S{a.index:015d}" for a in planted}
    rows = [
        {"ticket_no": numbers[a.account_no], "kind": "complaint", "status": "closed",
         "unit_id": units[a.unit_code][0], "account_id": ids[a.account_no], "description": "抄表不准",
         "area_class": "urban", "received_at": closed - dt.timedelta(days=3), "closed_at": closed,
         "reopened": 0, "repeated": False}
        for a in planted
    ]  # fmt: skip
    _bulk(session, Ticket, rows)
    return numbers


def write_business(session: Any, plan: Plan, account_ids: list[int]) -> set[tuple[str, str]]:
    """One bill per account paid by one referenced payment; planted: an unapproved credit, a payment without
    reference, a payment recorded twice, an online payment whose provider's statement says another amount."""
    from sqlalchemy import select

    from billing.models import Bill, Payment, PaymentApplication, Tariff
    from core.db import utcnow

    now = utcnow()
    # one sample tariff and one statement a day however many slices of a plan are written (``plans``)
    tariff_id = session.scalar(select(Tariff.id).where(Tariff.code == "SAMPLE", Tariff.valid_from == _TARIFF_FROM))
    if tariff_id is None:
        (tariff_id,) = _bulk(
            session,
            Tariff,
            [{"code": "SAMPLE", "category": "residential", "kind": "flat", "valid_from": _TARIFF_FROM,
              "price": Decimal("0.5800"), "created_at": now}],
        )  # fmt: skip
    period_day = plan.today.replace(day=1) - dt.timedelta(days=1)
    period = period_day.strftime("%Y-%m")
    bills = _bulk(
        session,
        Bill,
        [
            {
                "account_id": account_id,
                "period": period,
                "category": "residential",
                "tariff_id": tariff_id,
                "kwh": Decimal("100.00"),
                "amount": Decimal("58.00"),
                "due_date": plan.today + dt.timedelta(days=10),
                "issued_at": now,
            }
            for account_id in account_ids
        ],
    )
    payments: list[dict[str, Any]] = []
    owners: list[tuple[str, str]] = []  # (account_no, role of the payment)
    paid_at = dt.datetime.combine(plan.today - dt.timedelta(days=3), dt.time(2, 0), tzinfo=dt.UTC)
    for a, account_id in zip(plan.accounts, account_ids, strict=True):
        base = {
            "account_id": account_id,
            "amount": Decimal("58.00"),
            "channel": "bank",
            "paid_at": paid_at,
            "reference": f"BK{a.index:09d}",
            "idempotency_key": f"sample-{a.account_no}",
            "request_hash": "0" * 64,
            "recorded_at": now,
        }
        if a.extras.get("payment_without_reference"):
            base["reference"] = ""
        payments.append(base)
        owners.append((a.account_no, "first"))
        if a.extras.get("duplicate_payment"):
            payments.append({**base, "idempotency_key": f"sample-{a.account_no}-again"})
            owners.append((a.account_no, "again"))
    payment_ids = _bulk(session, Payment, payments)
    first_payment = {no: pid for (no, role), pid in zip(owners, payment_ids, strict=True) if role == "first"}
    again = {no: pid for (no, role), pid in zip(owners, payment_ids, strict=True) if role == "again"}
    applications = [
        {"payment_id": first_payment[a.account_no], "bill_id": bill_id, "applied_on": plan.today,
         "principal": Decimal("58.00"), "late_fee": Decimal("0.00"), "created_at": now}
        for a, bill_id in zip(plan.accounts, bills, strict=True)
    ]  # fmt: skip
    credited = [a.account_no for a in plan.accounts if a.extras.get("unapproved_waiver")]
    bill_of = {a.account_no: bill_id for a, bill_id in zip(plan.accounts, bills, strict=True)}
    credits = [
        {"payment_id": None, "bill_id": bill_of[no], "applied_on": plan.today, "principal": Decimal("0.00"),
         "late_fee": Decimal("3.00"), "created_at": now}
        for no in credited
    ]  # fmt: skip
    _bulk(session, PaymentApplication, applications)
    credit_ids = dict(zip(credited, _bulk(session, PaymentApplication, credits), strict=True)) if credits else {}
    differs = [a.account_no for a in plan.accounts if a.extras.get("statement_differs")]
    day = plan.today - dt.timedelta(days=1)
    if differs:
        from billing.online.models import PaymentReconciliation, StatementItem

        reconciliation = session.scalar(
            select(PaymentReconciliation).where(
                PaymentReconciliation.provider == "alipay", PaymentReconciliation.day == day
            )
        )
        if reconciliation is None:
            (reconciliation_id,) = _bulk(
                session,
                PaymentReconciliation,
                [{"provider": "alipay", "day": day, "made_at": now, "amount_differs": len(differs)}],
            )
        else:
            reconciliation.amount_differs += len(differs)
            reconciliation_id = reconciliation.id
        account_of = {a.account_no: account_id for a, account_id in zip(plan.accounts, account_ids, strict=True)}
        _bulk(
            session,
            StatementItem,
            [
                {"reconciliation_id": reconciliation_id, "provider": "alipay", "day": day, "kind": "amount_differs",
                 "order_no": f"GD{no}", "trade_no": f"T{no}", "ours": Decimal("58.00"), "theirs": Decimal("57.00"),
                 "recorded": False, "account_id": account_of[no]}
                for no in differs
            ],
        )  # fmt: skip
    expected: set[tuple[str, str]] = set()
    for a in plan.accounts:
        if a.violation == "BZ-STATEMENT-MISMATCH":
            expected.add(("BZ-STATEMENT-MISMATCH", f"statement:alipay:{day.isoformat()}:GD{a.account_no}"))
        if a.violation == "BZ-UNAPPROVED":
            expected.add(("BZ-UNAPPROVED", f"credit:{credit_ids[a.account_no]}"))
        elif a.violation == "BZ-PAYMENT-UNMATCHED":
            expected.add(("BZ-PAYMENT-UNMATCHED", f"payment:{first_payment[a.account_no]}"))
        elif a.violation == "BZ-PAYMENT-DUPLICATE":
            expected.add(("BZ-PAYMENT-DUPLICATE", f"payment:{again[a.account_no]}"))
    return expected


__all__ = ["BUSINESS_PLANTS", "FILING_PLANTS", "LARGE_KVA", "Plan", "SampleAccount", "plan", "plans", "required_for"]
