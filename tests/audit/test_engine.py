"""The engine with rules over account data: dedup, reopen, auto-resolve, evidence kept, scopes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from audit.engine import Scope, run_rules
from audit.models import Finding, FindingEvent
from audit.rules import Rule, RuleContext
from billing.models import Account
from core import trail
from core.trail import TrailEvent
from tests.support import make_account

CTX = RuleContext(today=dt.date(2026, 11, 28))


def _big_accounts(ctx: RuleContext):  # type: ignore[no-untyped-def]
    return select(
        Account.id.label("account_id"),
        ("account:" + Account.account_no).label("subject"),
        Account.capacity_kva.label("capacity_kva"),
    ).where(Account.capacity_kva >= 315)


BIG = Rule("T-BIG", "Big account", "low", "filing", "capacity of at least 315 kVA", ("capacity_kva",), _big_accounts)


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(model))


def test_a_problem_found_twice_is_one_finding(session, world) -> None:
    world.own_account.capacity_kva = Decimal(400)
    session.commit()
    first = run_rules(session, Scope(), CTX, rules=[BIG])
    second = run_rules(session, Scope(), CTX, rules=[BIG])
    session.commit()
    assert (first.new, second.new) == (1, 0)
    finding = session.scalar(select(Finding))
    assert finding.subject == "account:1000000001"
    assert finding.evidence == {"capacity_kva": "400.00", "account_no": "1000000001"}
    assert _count(session, Finding) == 1


def test_fixed_record_resolves_itself_and_keeps_both_evidences(session, world) -> None:
    world.own_account.capacity_kva = Decimal(400)
    session.commit()
    run_rules(session, Scope(), CTX, rules=[BIG])
    world.own_account.capacity_kva = Decimal(100)
    session.commit()
    counts = run_rules(session, Scope(), CTX, rules=[BIG])
    session.commit()
    assert counts.resolved == 1
    finding = session.scalar(select(Finding))
    assert (finding.status, finding.resolution) == ("remediated", "auto")
    events = session.scalars(select(FindingEvent).order_by(FindingEvent.id)).all()
    assert [e.kind for e in events] == ["found", "resolved"]
    assert events[0].evidence["capacity_kva"] == "400.00"
    assert events[1].evidence["last_evidence"]["capacity_kva"] == "400.00"


def test_problem_that_returns_reopens_the_same_finding(session, world) -> None:
    account = world.own_account
    account.capacity_kva = Decimal(400)
    session.commit()
    run_rules(session, Scope(), CTX, rules=[BIG])
    account.capacity_kva = Decimal(100)
    session.commit()
    run_rules(session, Scope(), CTX, rules=[BIG])
    account.capacity_kva = Decimal(630)
    session.commit()
    counts = run_rules(session, Scope(), CTX, rules=[BIG])
    session.commit()
    assert (counts.new, counts.reopened) == (0, 1)
    finding = session.scalar(select(Finding))
    assert (finding.status, finding.reopen_count, finding.resolved_at) == ("open", 1, None)
    assert finding.evidence["capacity_kva"] == "630.00"
    kinds = session.scalars(select(FindingEvent.kind).order_by(FindingEvent.id)).all()
    assert kinds == ["found", "resolved", "reopened"]


def test_changed_evidence_updates_the_finding_without_a_new_one(session, world) -> None:
    world.own_account.capacity_kva = Decimal(400)
    session.commit()
    run_rules(session, Scope(), CTX, rules=[BIG])
    world.own_account.capacity_kva = Decimal(500)
    session.commit()
    counts = run_rules(session, Scope(), CTX, rules=[BIG])
    session.commit()
    assert (counts.new, counts.resolved) == (0, 0)
    assert session.scalar(select(Finding.evidence))["capacity_kva"] == "500.00"
    actions = session.scalars(
        select(TrailEvent.action).where(TrailEvent.entity == "finding").order_by(TrailEvent.id)
    ).all()
    assert actions == ["finding.opened", "finding.evidence_changed"]


def test_a_unit_scope_neither_finds_nor_resolves_outside_it(session, world) -> None:
    world.own_account.capacity_kva = Decimal(400)
    world.foreign_account.capacity_kva = Decimal(400)
    session.commit()
    counts = run_rules(session, Scope(unit_path=world.unit_a.path), CTX, rules=[BIG])
    assert counts.new == 1
    run_rules(session, Scope(), CTX, rules=[BIG])
    world.foreign_account.capacity_kva = Decimal(10)
    session.commit()
    counts = run_rules(session, Scope(unit_path=world.unit_a.path), CTX, rules=[BIG])
    session.commit()
    assert counts.resolved == 0
    assert session.scalar(select(func.count()).where(Finding.status == "open")) == 2


def test_an_account_scope_audits_only_that_account(session, world) -> None:
    make_account(session, "1000000002", world.unit_a, capacity_kva=Decimal(800))
    world.own_account.capacity_kva = Decimal(400)
    session.commit()
    counts = run_rules(session, Scope(account_nos=("1000000002",)), CTX, rules=[BIG])
    session.commit()
    assert counts.new == 1
    assert session.scalar(select(Finding.subject)) == "account:1000000002"


def test_run_writes_trail_events_that_verify(session, world) -> None:
    for n in range(3):
        make_account(session, f"300000000{n}", world.unit_a, capacity_kva=Decimal(500))
    session.commit()
    run_rules(session, Scope(), CTX, rules=[BIG])
    session.commit()
    finding_events = session.scalars(select(TrailEvent).where(TrailEvent.entity == "finding")).all()
    assert len(finding_events) == 3
    assert {e.account_no for e in finding_events} == {"3000000000", "3000000001", "3000000002"}
    assert trail.verify(session).ok
