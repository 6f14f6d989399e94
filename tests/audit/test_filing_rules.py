"""The filing rules over a sample archive: planted violations of every rule give exactly the expected findings,
a clean archive gives none, and corrections and withdrawals recorded by the archive are honoured."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

pytest.importorskip("archive.models", reason="the filing rules read the archive's models")

from audit import samples
from audit.engine import Scope, run_rules
from audit.models import Finding
from audit.rules import RuleContext, all_rules

TODAY = dt.date(2026, 11, 28)
CTX = RuleContext(today=TODAY)
FILING = [r for r in all_rules() if r.area == "filing"]


def _findings(session) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {(f.rule, f.subject) for f in session.scalars(select(Finding))}


def _without_dossier(world) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """The world's two 8 kVA accounts have no dossier: each misses every document of its tier."""
    docs = samples.required_for(world.own_account.capacity_kva, "active")
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
    assert counts.new == len(expected) + 6


def test_clean_archive_gives_no_findings(session, world) -> None:
    plan = samples.plan(40, today=TODAY, units=["UA", "UB"], rules=())
    samples.write(session, plan)
    session.commit()
    counts = run_rules(session, Scope(), CTX, rules=FILING)
    session.commit()
    assert _findings(session) == _without_dossier(world)
    assert counts.problems == 6


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
    required = sum(len(samples.required_for(a.capacity_kva, a.status)) for a in plan.accounts) + 3
    assert (rate.unit_code, rate.accounts, rate.required) == ("UB", 11, required)
    assert rate.filed == required - 1 - 3  # the planted missing contract, and the world's account without dossier
    assert rate.complete == 9
