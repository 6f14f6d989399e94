"""The filing rules over a sample archive: planted violations of every rule give exactly the expected findings,
a clean archive gives none, and corrections and withdrawals recorded by the archive are honoured."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from audit import samples
from audit.engine import Scope, run_rules
from audit.models import Finding
from audit.rules import RuleContext, all_rules
from billing.models import Account
from tests.support import make_account

TODAY = dt.date(2026, 11, 28)
CTX = RuleContext(today=TODAY)
FILING = [r for r in all_rules() if r.area == "filing"]


def _findings(session) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {(f.rule, f.subject) for f in session.scalars(select(Finding))}


def _without_dossier(world) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """The world's two 8 kVA accounts have no dossier: each misses every document of its tier."""
    docs = samples.required_for(world.own_account.capacity_kva, "active", "residential")
    return {("FL-REQUIRED-DOC", f"account:{no}:{doc}") for no in ("1000000001", "2000000001") for doc in docs}


def test_every_filing_rule_is_planted() -> None:
    assert {r.code for r in FILING} == set(samples.FILING_PLANTS)


def test_planted_violations_give_exactly_the_expected_findings(session, world) -> None:
    plan = samples.plan(60, today=TODAY, units=["UA", "UB"], violation_rate=0.3, rules=samples.FILING_PLANTS)
    expected = samples.write(session, plan)
    session.commit()
    assert {rule for rule, _ in expected} == set(samples.FILING_PLANTS)
    counts = run_rules(session, Scope(), CTX, rules=FILING)
    session.commit()
    assert _findings(session) == expected | _without_dossier(world)
    assert counts.new == len(expected) + len(_without_dossier(world))


def test_clean_archive_gives_no_findings(session, world) -> None:
    plan = samples.plan(40, today=TODAY, units=["UA", "UB"], rules=())
    samples.write(session, plan)
    session.commit()
    counts = run_rules(session, Scope(), CTX, rules=FILING)
    session.commit()
    assert _findings(session) == _without_dossier(world)
    assert counts.problems == len(_without_dossier(world))


@pytest.mark.parametrize("code", samples.FILING_PLANTS)
def test_each_rule_finds_its_own_planted_violation_only(session, world, code: str) -> None:
    plan = samples.plan(8, today=TODAY, units=["UA"], rules=(code,), violation_rate=0.0)
    expected = samples.write(session, plan)
    session.commit()
    run_rules(session, Scope(), CTX, rules=FILING)
    session.commit()
    assert _findings(session) - _without_dossier(world) == expected and len(expected) == 1
    ((rule_code, subject),) = expected
    finding = session.scalar(select(Finding).where(Finding.subject == subject))
    rule = next(r for r in FILING if r.code == code)
    assert set(rule.evidence) <= set(finding.evidence), finding.evidence


def test_recorded_corrections_are_what_the_rules_read(session, world) -> None:
    from archive.models import Document, DocumentEvent

    plan = samples.plan(6, today=TODAY, units=["UA"], rules=("FL-MATERIAL",), violation_rate=0.0)
    ((_, subject),) = samples.write(session, plan)
    session.commit()
    run_rules(session, Scope(account_nos=(plan.accounts[0].account_no,)), CTX, rules=FILING)
    doc_id = int(subject.split(":")[1])
    fix = {"writing_material": {"from": "ballpoint", "to": "print"}}
    session.add(
        DocumentEvent(document_id=doc_id, kind="corrected", reason="重新打印", authorised_by="科长", changes=fix)
    )
    clean_doc = session.scalar(select(Document.id).where(Document.account_no == plan.accounts[1].account_no))
    spoil = {"paper_size": {"from": "A4", "to": "other"}}
    session.add(
        DocumentEvent(document_id=clean_doc, kind="corrected", reason="核对", authorised_by="科长", changes=spoil)
    )
    session.commit()
    counts = run_rules(session, Scope(unit_path=world.unit_a.path), CTX, rules=FILING)
    session.commit()
    material = session.scalar(select(Finding).where(Finding.subject == subject))
    assert (material.status, material.resolution) == ("remediated", "auto")
    paper = session.scalar(select(Finding).where(Finding.rule == "FL-PAPER-SIZE"))
    assert paper.subject == f"document:{clean_doc}" and paper.evidence["paper_size"] == "other"
    assert counts.resolved == 1


def test_rates_per_unit_count_required_and_held_documents(session, world) -> None:
    from audit.dashboard import unit_rates

    plan = samples.plan(10, today=TODAY, units=["UB"], rules=("FL-REQUIRED-DOC",), violation_rate=0.0)
    samples.write(session, plan)
    session.commit()
    (rate,) = unit_rates(session, world.unit_b.path, CTX)
    world_needs = len(samples.required_for(world.own_account.capacity_kva, "active", "residential"))
    required = sum(len(samples.required_for(a.capacity_kva, a.status, samples.category_of(a))) for a in plan.accounts)
    required += world_needs
    assert (rate.unit_code, rate.accounts, rate.required) == ("UB", 11, required)
    # the planted missing contract, and the world's account without dossier
    assert rate.filed == required - 1 - world_needs
    assert rate.complete == 9


# The controlled lists the filing rules read, written down here from the rules (not imported from them), so that
# a rule quietly changing its list fails below.
FORBIDDEN_MATERIALS = {"ballpoint", "pure_blue_ink", "carbon_copy", "pencil", "thermal_paper"}
ALLOWED_MATERIALS = {"print", "carbon_ink", "blue_black_ink"}
DRAWINGS = {"engineering_survey", "box_substation_record", "construction_registration", "installation_record"}
PROCESSED_SHEETS = {"inspection_sheet", "outage_notice", "late_fee_waiver"}
LIFECYCLE_DOCUMENTS = {"active": set(), "suspended": {"service_change_sheet"}, "closed": {"service_change_sheet"}}


def _rule(code: str):  # type: ignore[no-untyped-def]
    return next(r for r in FILING if r.code == code)


def _sample_account(session, *, capacity: Decimal = Decimal(8), status: str = "active", docs=None):  # type: ignore[no-untyped-def]
    """One account of unit A, connected 120 days ago, whose dossier holds ``docs`` (doc_type -> changes to a
    clean document), or the clean documents its capacity tier needs when ``docs`` is None. Returns the account
    number and the ids of its documents by type."""
    from archive.models import Document

    plan = samples.plan(1, today=TODAY, units=["UA"], rules=())
    account = plan.accounts[0]
    account.capacity_kva = capacity
    account.docs = samples.clean_documents(account, TODAY, random.Random(1))  # the tier's documents, status active
    account.status = status
    if docs is not None:
        template = account.docs[0]
        account.docs = [
            {**template, "item_no": n, "doc_type": doc_type, "page_from": n, "page_to": n, "pages": 1, **changes}
            for n, (doc_type, changes) in enumerate(docs.items(), start=1)
        ]
    samples.write(session, plan, business=False)
    session.commit()
    rows = session.execute(select(Document.doc_type, Document.id).where(Document.account_no == account.account_no))
    ids = {doc_type: document_id for doc_type, document_id in rows}
    return account.account_no, ids


def _run(session, account_no: str, *codes: str) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    run_rules(session, Scope(account_nos=(account_no,)), CTX, rules=[_rule(code) for code in codes])
    session.commit()
    return _findings(session)


def test_the_materials_are_split_into_forbidden_and_allowed() -> None:
    from archive.vocabulary import WritingMaterial

    assert set(WritingMaterial) == FORBIDDEN_MATERIALS | ALLOWED_MATERIALS
    assert not FORBIDDEN_MATERIALS & ALLOWED_MATERIALS


@pytest.mark.parametrize("material", sorted(FORBIDDEN_MATERIALS | ALLOWED_MATERIALS))
def test_a_forbidden_material_raises_a_finding_and_an_allowed_one_none(session, world, material: str) -> None:
    account_no, ids = _sample_account(session, docs={"power_supply_contract": {"writing_material": material}})
    found = _run(session, account_no, "FL-MATERIAL")
    if material in FORBIDDEN_MATERIALS:
        assert found == {("FL-MATERIAL", f"document:{ids['power_supply_contract']}")}
        assert session.scalar(select(Finding.evidence))["writing_material"] == material
    else:
        assert found == set()


@pytest.mark.parametrize("paper_size", ["A4", "A3", "other"])
def test_paper_size_of_every_document_type(session, world, paper_size: str) -> None:
    """A4 for every type; A3 for drawings only; any other size for no type."""
    from archive.vocabulary import DocType, PaperSize

    assert {"A4", "A3", "other"} == set(PaperSize) and set(DocType) >= DRAWINGS
    account_no, ids = _sample_account(session, docs={t.value: {"paper_size": paper_size} for t in DocType})
    wrong = {"A4": set(), "A3": set(DocType) - DRAWINGS, "other": set(DocType)}[paper_size]
    assert _run(session, account_no, "FL-PAPER-SIZE") == {("FL-PAPER-SIZE", f"document:{ids[t]}") for t in wrong}


@pytest.mark.parametrize("days_to_file", [30, 31])
def test_only_processed_sheets_have_a_filing_deadline(session, world, days_to_file: int) -> None:
    """Filed 30 days after formation is in time, 31 days is late: for the processed sheets, and only for them."""
    from archive.vocabulary import DocType

    assert set(DocType) >= PROCESSED_SHEETS and CTX.filing_deadline_days == 30
    formed = TODAY - dt.timedelta(days=90)
    timing = {"formed_on": formed, "filed_on": formed + dt.timedelta(days=days_to_file)}
    account_no, ids = _sample_account(session, docs={t.value: timing for t in DocType})
    late = PROCESSED_SHEETS if days_to_file > 30 else set()
    assert _run(session, account_no, "FL-LATE-FILING") == {("FL-LATE-FILING", f"document:{ids[t]}") for t in late}


@pytest.mark.parametrize(
    ("responsible", "handover", "expect_findings"),
    [("市场拓展部", False, True), ("市场拓展部", True, False), (None, False, False)],
    ids=["other department without hand-over", "other department with hand-over", "filing unit's own"],
)
def test_every_document_type_from_another_department_needs_a_hand_over(
    session, world, responsible, handover: bool, expect_findings: bool
) -> None:
    """A hand-over record itself is the one document type that needs none."""
    from archive.vocabulary import DocType

    changes = {"responsible": responsible, "handover": handover}
    account_no, ids = _sample_account(session, docs={t.value: changes for t in DocType})
    needing = set(DocType) - {"handover_record"} if expect_findings else set()
    assert _run(session, account_no, "FL-NO-HANDOVER") == {("FL-NO-HANDOVER", f"document:{ids[t]}") for t in needing}


# contracted capacity, category -> the checklist the dossier must hold, written down here from the seed's lists
# (not imported from archive.checklists), so that a list quietly changing fails below
EVERY_TIER = {"application_form", "usage_record_sheet"}
RESIDENTIAL = EVERY_TIER | {"power_supply_contract", "new_install_work_order"}
SMALL = EVERY_TIER | {
    "customer_application",
    "power_supply_contract",
    "new_install_work_order",
    "fee_payment_agreement",
}
MEDIUM = SMALL | {"business_survey", "installation_record"}
LARGE = MEDIUM | {
    "engineering_survey",
    "test_report",
    "construction_registration",
    "box_substation_record",
    "completion_acceptance_report",
    "acceptance_work_order",
}
TIERS = [
    ("0", "residential", RESIDENTIAL, "marketing_department"),
    ("49.99", "residential", RESIDENTIAL, "marketing_department"),
    ("8", "general", SMALL, "marketing_department"),
    ("49.99", "general", SMALL, "marketing_department"),
    ("50", "general", MEDIUM, "marketing_unit"),
    ("50", "residential", MEDIUM, "marketing_unit"),
    ("314.99", "general", MEDIUM, "marketing_unit"),
    ("315", "general", LARGE, "market_development"),
    ("10000", "general", LARGE, "market_development"),
]


def test_the_seed_s_lists_hold() -> None:
    """The application form and the customer record sheet in every tier; the box-substation record from 315 kVA
    only; the fee agreement below 50 kVA too, not on the residential short list."""
    assert EVERY_TIER <= RESIDENTIAL and EVERY_TIER <= SMALL
    assert "box_substation_record" in LARGE and "box_substation_record" not in MEDIUM
    assert "fee_payment_agreement" in SMALL and "fee_payment_agreement" not in RESIDENTIAL
    assert len(RESIDENTIAL) < len(SMALL) < len(MEDIUM) < len(LARGE)


@pytest.mark.parametrize(("capacity", "category", "needed", "builder"), TIERS)
def test_an_account_without_a_dossier_misses_every_document_of_its_capacity_tier(
    session, world, capacity: str, category: str, needed: set[str], builder: str
) -> None:
    """Below 315 kVA each missing document is a finding of its own; from 315 kVA one finding names them all.
    The dashboard's filing rate counts the same documents, each once; the tier names the dossier's builder."""
    from archive.checklists import builder_for, required_for
    from audit.dashboard import unit_rates

    assert set(required_for(Decimal(capacity), category)) == needed
    assert builder_for(Decimal(capacity), category) == builder
    make_account(session, "3000000001", world.unit_a, capacity_kva=Decimal(capacity), category=category)
    session.commit()
    found = _run(session, "3000000001", "FL-REQUIRED-DOC", "FL-LARGE-INCOMPLETE")
    if Decimal(capacity) >= 315:
        assert found == {("FL-LARGE-INCOMPLETE", "account:3000000001")}
        assert set(session.scalar(select(Finding.evidence))["missing"].split(",")) == needed
    else:
        assert found == {("FL-REQUIRED-DOC", f"account:3000000001:{doc}") for doc in needed}
    (rate,) = unit_rates(session, world.unit_a.path, CTX)  # with the world's own 8 kVA account, no dossier either
    assert (rate.accounts, rate.required, rate.filed) == (2, len(needed) + len(RESIDENTIAL), 0)


@pytest.mark.parametrize("capacity", ["8", "400"])
@pytest.mark.parametrize("status", sorted(LIFECYCLE_DOCUMENTS))
@pytest.mark.parametrize("holds_them", [False, True], ids=["without", "with"])
def test_a_lifecycle_event_requires_its_documents(session, world, capacity: str, status: str, holds_them) -> None:
    """A suspended or closed account's dossier needs the service change sheet on top of its tier's documents."""
    from billing.models import AccountStatus

    assert set(LIFECYCLE_DOCUMENTS) == set(AccountStatus)
    extra = LIFECYCLE_DOCUMENTS[status] if holds_them else set()
    account_no, _ids = _sample_account(session, capacity=Decimal(capacity), status=status)
    if extra:
        _sample_documents_added(session, account_no, extra)
    found = _run(session, account_no, "FL-REQUIRED-DOC", "FL-LARGE-INCOMPLETE")
    missing = LIFECYCLE_DOCUMENTS[status] - extra
    if not missing:
        assert found == set()
    elif Decimal(capacity) >= 315:
        assert found == {("FL-LARGE-INCOMPLETE", f"account:{account_no}")}
        assert set(session.scalar(select(Finding.evidence))["missing"].split(",")) == missing
    else:
        assert found == {("FL-REQUIRED-DOC", f"account:{account_no}:{doc}") for doc in missing}


def _sample_documents_added(session, account_no: str, doc_types: set[str]) -> None:  # type: ignore[no-untyped-def]
    """Copies of the dossier's last document under other types (filed in time, with its hand-over)."""
    from archive.models import Document

    last = session.scalars(select(Document).where(Document.account_no == account_no).order_by(Document.id)).all()[-1]
    columns = {c.key: getattr(last, c.key) for c in Document.__table__.columns if c.key != "id"}
    session.add_all(Document(**{**columns, "doc_type": doc_type, "title": doc_type}) for doc_type in doc_types)
    session.commit()


def test_a_dossier_never_checked_after_the_grace_period_is_a_finding_and_a_check_resolves_it(session, world) -> None:
    from archive.models import Dossier
    from core import clock

    account_no, _ = _sample_account(session)
    dossier = session.scalar(select(Dossier).where(Dossier.account_no == account_no))
    dossier.checker_name, dossier.checked_on = "", None
    dossier.created_at = clock.at_local(TODAY - dt.timedelta(days=CTX.dossier_grace_days), dt.time(9, 0))
    session.commit()
    assert _run(session, account_no, "FL-DOSSIER-UNCHECKED") == set()  # opened on the grace period's last day
    dossier.created_at = clock.at_local(TODAY - dt.timedelta(days=CTX.dossier_grace_days + 1), dt.time(9, 0))
    dossier.filer_name = "王立卷"
    session.commit()
    assert _run(session, account_no, "FL-DOSSIER-UNCHECKED") == {("FL-DOSSIER-UNCHECKED", f"dossier:{account_no}")}
    assert session.scalar(select(Finding.evidence))["filer_name"] == "王立卷"
    dossier.checker_name, dossier.checked_on = "李检查", TODAY
    session.commit()
    run_rules(session, Scope(account_nos=(account_no,)), CTX, rules=[_rule("FL-DOSSIER-UNCHECKED")])
    session.commit()
    assert (session.scalar(select(Finding.status)), session.scalar(select(Finding.resolution))) == (
        "remediated",
        "auto",
    )


@pytest.mark.parametrize("capacity", ["8", "400"])
def test_an_account_inside_its_filing_grace_period_does_not_count_against_the_rates(session, world, capacity) -> None:
    from audit.dashboard import unit_rates

    fresh = TODAY - dt.timedelta(days=CTX.dossier_grace_days - 1)
    due = TODAY - dt.timedelta(days=CTX.dossier_grace_days)
    make_account(session, "3000000001", world.unit_a, capacity_kva=Decimal(capacity), connected_on=fresh)
    session.commit()
    (rate,) = unit_rates(session, world.unit_a.path, CTX)
    assert rate.accounts == 1  # the world's own account only, connected long ago
    session.execute(update(Account).where(Account.account_no == "3000000001").values(connected_on=due))
    session.commit()
    (rate,) = unit_rates(session, world.unit_a.path, CTX)
    assert rate.accounts == 2
