"""The business rules over billing records: planted violations give exactly the expected findings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from audit import samples
from audit.engine import Scope, run_rules
from audit.models import Finding
from audit.rules import RuleContext, all_rules
from billing.models import Adjustment, Bill

TODAY = dt.date(2026, 11, 28)
CTX = RuleContext(today=TODAY)
BUSINESS = [r for r in all_rules() if r.area == "business"]


def _findings(session) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {(f.rule, f.subject) for f in session.scalars(select(Finding))}


def test_every_business_rule_is_planted() -> None:
    assert {r.code for r in BUSINESS} == set(samples.BUSINESS_PLANTS)


def test_planted_violations_give_exactly_the_expected_findings(session, world) -> None:
    plan = samples.plan(40, today=TODAY, units=["UA", "UB"], violation_rate=0.3, rules=samples.BUSINESS_PLANTS)
    expected = samples.write(session, plan, archive=False)
    session.commit()
    assert {rule for rule, _ in expected} == set(samples.BUSINESS_PLANTS)
    counts = run_rules(session, Scope(), CTX, rules=BUSINESS)
    session.commit()
    assert _findings(session) == expected and counts.new == len(expected)


def test_clean_billing_gives_no_findings(session, world) -> None:
    samples.write(session, samples.plan(30, today=TODAY, units=["UA"], rules=()), archive=False)
    session.commit()
    assert run_rules(session, Scope(), CTX, rules=BUSINESS).problems == 0


@pytest.mark.parametrize("code", samples.BUSINESS_PLANTS)
def test_each_rule_finds_its_own_planted_violation_only(session, world, code: str) -> None:
    expected = samples.write(
        session, samples.plan(6, today=TODAY, units=["UA"], rules=(code,), violation_rate=0.0), archive=False
    )
    session.commit()
    run_rules(session, Scope(), CTX, rules=BUSINESS)
    session.commit()
    assert _findings(session) == expected and len(expected) == 1
    finding = session.scalar(select(Finding))
    rule = next(r for r in BUSINESS if r.code == code)
    assert set(rule.evidence) <= set(finding.evidence), finding.evidence


def test_credit_is_fine_once_an_approved_waiver_backs_it(session, world) -> None:
    expected = samples.write(
        session, samples.plan(3, today=TODAY, units=["UA"], rules=("BZ-UNAPPROVED",), violation_rate=0.0), archive=False
    )
    session.commit()
    run_rules(session, Scope(), CTX, rules=BUSINESS)
    ((_, subject),) = expected
    bill = session.scalar(select(Bill).where(Bill.account_id == session.scalar(select(Finding.account_id))))
    users = world.users
    session.add(
        Adjustment(kind="waiver", account_id=bill.account_id, bill_id=bill.id, amount=Decimal("3.00"),
                   reason="灾害减免", status="approved", requested_by=users["clerk"].id,
                   decided_by=users["supervisor"].id, decided_at=dt.datetime.now(dt.UTC))
    )  # fmt: skip
    session.commit()
    counts = run_rules(session, Scope(), CTX, rules=BUSINESS)
    session.commit()
    assert counts.resolved == 1 and session.scalar(select(Finding.status)) == "remediated"


def test_approval_by_someone_not_entitled_is_a_finding(session, world) -> None:
    users = world.users
    session.add(
        Adjustment(kind="refund", account_id=world.own_account.id, amount=Decimal("20.00"), reason="多缴退费",
                   status="approved", requested_by=users["clerk"].id, decided_by=users["archivist"].id,
                   decided_at=dt.datetime.now(dt.UTC))
    )  # fmt: skip
    session.commit()
    run_rules(session, Scope(), CTX, rules=BUSINESS)
    finding = session.scalar(select(Finding))
    assert finding.rule == "BZ-UNAPPROVED" and finding.evidence["problem"] == "approver_not_entitled"
