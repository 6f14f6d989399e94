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


# Who may decide, written down from the rule: a supervisor, an admin or a clerk whose unit covers the account.
DECIDERS = {"supervisor", "admin", "clerk"}
ROLES = ["admin", "archivist", "clerk", "customer", "supervisor"]
KINDS = ["correction", "refund", "waiver"]


def _approved(session, world, kind: str, decider, *, status: str = "approved") -> int:  # type: ignore[no-untyped-def]
    requester = world.users["admin"] if decider.id == world.users["clerk"].id else world.users["clerk"]
    adjustment = Adjustment(
        kind=kind, account_id=world.own_account.id, amount=Decimal("20.00"), reason="多缴退费", status=status,
        requested_by=requester.id, decided_by=None if status == "pending" else decider.id,
        decided_at=None if status == "pending" else dt.datetime.now(dt.UTC),
    )  # fmt: skip
    session.add(adjustment)
    session.commit()
    return adjustment.id


def _problems(session) -> set[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return {(f.rule, f.subject, f.evidence.get("problem", "")) for f in session.scalars(select(Finding))}


def test_the_lists_below_are_every_role_and_every_adjustment_kind() -> None:
    from billing.models import AdjustmentKind
    from core.identity import Role

    assert set(ROLES) == set(Role) and set(KINDS) == set(AdjustmentKind)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_an_approval_by_a_role_not_entitled_to_decide_is_a_finding(session, world, kind: str, role: str) -> None:
    adjustment_id = _approved(session, world, kind, world.users[role])
    run_rules(session, Scope(), CTX, rules=BUSINESS)
    session.commit()
    if role in DECIDERS:
        assert _problems(session) == set()
    else:
        assert _problems(session) == {("BZ-UNAPPROVED", f"adjustment:{adjustment_id}", "approver_not_entitled")}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("unit", ["own", "parent", "sibling"])
def test_an_approval_by_a_clerk_whose_unit_does_not_cover_the_account_is_a_finding(
    session, world, kind: str, unit: str
) -> None:
    from core.identity import create_user
    from tests.support import PASSWORD

    where = {"own": world.unit_a, "parent": world.root, "sibling": world.unit_b}[unit]
    clerk = create_user(session, "clerk-elsewhere", PASSWORD, "clerk", where)
    adjustment_id = _approved(session, world, kind, clerk)
    run_rules(session, Scope(), CTX, rules=BUSINESS)
    session.commit()
    expected = (
        {("BZ-UNAPPROVED", f"adjustment:{adjustment_id}", "approver_not_entitled")} if unit == "sibling" else set()
    )
    assert _problems(session) == expected


@pytest.mark.parametrize("status", ["approved", "pending", "rejected"])
def test_only_an_approved_adjustment_is_checked_for_its_decider(session, world, status: str) -> None:
    adjustment_id = _approved(session, world, "refund", world.users["archivist"], status=status)
    run_rules(session, Scope(), CTX, rules=BUSINESS)
    session.commit()
    expected = {("BZ-UNAPPROVED", f"adjustment:{adjustment_id}", "approver_not_entitled")}
    assert _problems(session) == (expected if status == "approved" else set())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", ["approved", "pending", "rejected"])
def test_a_credit_is_backed_only_by_an_approved_waiver_or_correction_of_its_bill(
    session, world, kind: str, status: str
) -> None:
    plan = samples.plan(1, today=TODAY, units=["UA"], rules=("BZ-UNAPPROVED",), violation_rate=0.0)
    (credit,) = samples.write(session, plan, archive=False)
    bill = session.scalar(select(Bill))
    decided = status != "pending"
    session.add(
        Adjustment(kind=kind, account_id=bill.account_id, bill_id=bill.id, amount=Decimal("3.00"), reason="灾害减免",
                   status=status, requested_by=world.users["clerk"].id,
                   decided_by=world.users["supervisor"].id if decided else None,
                   decided_at=dt.datetime.now(dt.UTC) if decided else None)
    )  # fmt: skip
    session.commit()
    run_rules(session, Scope(), CTX, rules=BUSINESS)
    session.commit()
    backed = kind in {"waiver", "correction"} and status == "approved"
    assert _findings(session) == (set() if backed else {credit})


CHANNELS = ["app", "bank", "counter", "third_party"]


def _payment(session, account_id: int, channel: str, reference: str, key: str) -> int:  # type: ignore[no-untyped-def]
    from billing.models import Payment

    payment = Payment(
        account_id=account_id, amount=Decimal("10.00"), channel=channel, reference=reference,
        paid_at=dt.datetime(2026, 11, 20, 2, tzinfo=dt.UTC), idempotency_key=key, request_hash="0" * 64,
    )  # fmt: skip
    session.add(payment)
    session.commit()
    return payment.id


def _clean_billed_account(session) -> int:  # type: ignore[no-untyped-def]
    samples.write(session, samples.plan(1, today=TODAY, units=["UA"], rules=()), archive=False)
    session.commit()
    return session.scalar(select(Bill.account_id))


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_payment_without_a_reference_is_unmatched_in_every_channel(session, world, channel: str) -> None:
    from billing.models import Channel

    assert set(CHANNELS) == set(Channel)
    account_id = _clean_billed_account(session)
    blank = _payment(session, account_id, channel, "  ", "blank")
    _payment(session, account_id, channel, "R-1", "referenced")
    run_rules(session, Scope(), CTX, rules=BUSINESS)
    session.commit()
    assert _problems(session) == {("BZ-PAYMENT-UNMATCHED", f"payment:{blank}", "no_reference")}


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_payment_twice_in_one_channel_is_a_duplicate_and_once_in_another_is_not(session, world, channel) -> None:
    account_id = _clean_billed_account(session)
    _payment(session, account_id, channel, "R-1", "first")
    again = _payment(session, account_id, channel, "R-1", "again")
    other = next(c for c in CHANNELS if c != channel)
    _payment(session, account_id, other, "R-1", "other-channel")
    run_rules(session, Scope(), CTX, rules=BUSINESS)
    session.commit()
    assert _findings(session) == {("BZ-PAYMENT-DUPLICATE", f"payment:{again}")}
