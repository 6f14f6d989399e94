"""Refunds, corrections and waivers take effect only when a second person approves."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from billing.adjustments import decide_adjustment, request_adjustment
from billing.commands import DecideAdjustment, RequestAdjustment
from billing.ledger import account_position, bill_states
from billing.models import Bill
from core.errors import Conflict, InvalidInput
from core.trail import TrailEvent
from tests.billing.support import add_tariffs, bill_with
from tests.billing.test_ledger import RULES, _account, _one_yuan_tariffs, _pay

D = Decimal
DAY = dt.date(2026, 2, 20)


def test_waiver_waits_for_a_second_person_then_removes_the_late_fee(world, session) -> None:
    _one_yuan_tariffs(session)
    account = _account(world, session)
    bill_with(session, account, "2026-01", 1000)  # fee on 20 Feb: 5.00
    clerk, admin = world.users["clerk"], world.users["admin"]
    adj = request_adjustment(
        session,
        account,
        RequestAdjustment.parse(
            {
                "kind": "waiver",
                "period": "2026-01",
                "amount": "5.00",
                "reason": "outage",
                "account_no": account.account_no,
            }
        ),
        actor=clerk,
        on=DAY,
        rules=RULES,
    )
    assert account_position(session, account, DAY, RULES).late_fee_today == D("5.00")  # pending: no effect
    with pytest.raises(Conflict) as caught:
        decide_adjustment(session, adj, DecideAdjustment(approve=True, note=""), actor=clerk, on=DAY, rules=RULES)
    assert caught.value.code == "second_person_required"
    decide_adjustment(session, adj, DecideAdjustment(approve=True, note="ok"), actor=admin, on=DAY, rules=RULES)
    assert (adj.status, adj.decided_by) == ("approved", admin.id)
    assert account_position(session, account, DAY, RULES).late_fee_today == D("0.00")
    with pytest.raises(Conflict):
        decide_adjustment(session, adj, DecideAdjustment(approve=False, note=""), actor=admin, on=DAY, rules=RULES)
    actions = set(session.scalars(select(TrailEvent.action).where(TrailEvent.entity == "adjustment")))
    assert actions == {"waiver.requested", "waiver.approved"}


def test_waiver_above_the_fee_owed_is_refused(world, session) -> None:
    _one_yuan_tariffs(session)
    account = _account(world, session)
    bill_with(session, account, "2026-01", 1000)
    with pytest.raises(InvalidInput):
        request_adjustment(
            session,
            account,
            RequestAdjustment.parse(
                {
                    "kind": "waiver",
                    "period": "2026-01",
                    "amount": "5.01",
                    "reason": "x",
                    "account_no": account.account_no,
                }
            ),
            actor=world.users["clerk"],
            on=DAY,
            rules=RULES,
        )


def test_correction_of_a_paid_bill_credits_the_balance_and_leaves_the_bill_as_issued(world, session) -> None:
    _one_yuan_tariffs(session)
    account = _account(world, session)
    bill = bill_with(session, account, "2026-01", 100)
    _pay(session, account, "100.00", dt.date(2026, 2, 1), "p1")
    adj = request_adjustment(
        session,
        account,
        RequestAdjustment.parse(
            {
                "kind": "correction",
                "period": "2026-01",
                "amount": "-30.00",
                "reason": "misread",
                "account_no": account.account_no,
            }
        ),
        actor=world.users["clerk"],
        on=DAY,
        rules=RULES,
    )
    decide_adjustment(
        session, adj, DecideAdjustment(approve=True, note=""), actor=world.users["admin"], on=DAY, rules=RULES
    )
    assert session.get(Bill, bill.id).amount == D("100.00")
    assert bill_states(session, account.id)[0].charged == D("70.00")
    assert account.balance == D("30.00")


def test_refund_pays_back_the_balance_only_when_approved(world, session) -> None:
    _one_yuan_tariffs(session)
    account = _account(world, session)
    _pay(session, account, "50.00", dt.date(2026, 2, 1), "p1")
    assert account.balance == D("50.00")
    with pytest.raises(InvalidInput):
        request_adjustment(
            session,
            account,
            RequestAdjustment.parse(
                {"kind": "refund", "amount": "60.00", "reason": "moving", "account_no": account.account_no}
            ),
            actor=world.users["clerk"],
            on=DAY,
            rules=RULES,
        )
    adj = request_adjustment(
        session,
        account,
        RequestAdjustment.parse(
            {"kind": "refund", "amount": "50.00", "reason": "moving", "account_no": account.account_no}
        ),
        actor=world.users["clerk"],
        on=DAY,
        rules=RULES,
    )
    assert account.balance == D("50.00")
    decide_adjustment(
        session, adj, DecideAdjustment(approve=False, note="no"), actor=world.users["admin"], on=DAY, rules=RULES
    )
    assert (adj.status, account.balance) == ("rejected", D("50.00"))
    adj2 = request_adjustment(
        session,
        account,
        RequestAdjustment.parse(
            {"kind": "refund", "amount": "50.00", "reason": "moving", "account_no": account.account_no}
        ),
        actor=world.users["clerk"],
        on=DAY,
        rules=RULES,
    )
    decide_adjustment(
        session, adj2, DecideAdjustment(approve=True, note=""), actor=world.users["admin"], on=DAY, rules=RULES
    )
    assert account.balance == D("0.00")


def test_adjustment_api_round_trip(world, session, api) -> None:
    add_tariffs(session)
    bill_with(session, world.own_account, "2026-01", 100)
    session.commit()
    clerk = api.as_token(world.token("clerk"))
    admin = api.as_token(world.token("admin"))
    body = {"kind": "correction", "account_no": "1000000001", "period": "2026-01", "amount": "-3.80", "reason": "x"}
    created = clerk.post("/api/v1/billing/adjustments", body)
    assert created.status_code == 201, created.get_json()
    adj_id = created.get_json()["id"]
    pending = api.as_token(world.token("supervisor")).get("/api/v1/billing/adjustments?status=pending").get_json()
    assert [a["id"] for a in pending["items"]] == [adj_id]
    own = clerk.post(f"/api/v1/billing/adjustments/{adj_id}/decision", {"approve": True})
    assert own.status_code == 409
    done = admin.post(f"/api/v1/billing/adjustments/{adj_id}/decision", {"approve": True})
    assert done.get_json()["status"] == "approved"
    bill = clerk.get("/api/v1/accounts/1000000001/bills/2026-01").get_json()
    assert (bill["amount"], bill["charged"]) == ("53.80", "50.00")
