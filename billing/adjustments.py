"""Refunds, corrections and late-fee waivers: requests that take effect only when a second person approves.

Nothing is updated in place: a correction changes what a bill charges through the approved request row, a
waiver reduces its late fee the same way, a refund pays money back out of the account's balance. Every step
(request, approval, rejection) goes into the trail with who and when.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from billing.bills import lock_account
from billing.commands import DecideAdjustment, RequestAdjustment
from billing.ledger import ZERO, apply_balance, bill_states
from billing.models import Account, Adjustment, AdjustmentKind, AdjustmentStatus, Bill
from billing.online.refunds import refund_through_providers
from billing.rules import Rules, current_rules
from billing.topics import WAIVER_APPROVED
from core import clock, outbox, trail
from core.db import utcnow
from core.errors import Conflict, InvalidInput, NotFound, Problem
from core.identity import User
from core.scope import in_scope


def adjustment_dict(adj: Adjustment) -> dict[str, Any]:
    return {
        "id": adj.id,
        "kind": adj.kind,
        "account_no": adj.account.account_no,
        "period": adj.bill.period if adj.bill else None,
        "amount": adj.amount,
        "reason": adj.reason,
        "status": adj.status,
        "requested_by": adj.requested_by,
        "requested_at": adj.requested_at,
        "decided_by": adj.decided_by,
        "decided_at": adj.decided_at,
        "decision_note": adj.decision_note,
    }


def request_adjustment(
    session: Session,
    account: Account,
    command: RequestAdjustment,
    *,
    actor: User,
    on: dt.date,
    rules: Rules | None = None,
) -> Adjustment:
    """File a request for ``account`` (the command's account, already looked up in the actor's scope).

    Waiver amount: at most the bill's late fee owed on ``on``; refund: at most the balance; correction: a
    signed change of what the bill charges (negative credits the account), never below zero in total.
    """
    rules = rules or current_rules()
    kind, amount, reason = command.kind, command.amount, command.reason
    bill = None
    if command.bill_period is not None:
        bill = session.scalar(select(Bill).where(Bill.account_id == account.id, Bill.period == command.bill_period))
        if bill is None:
            raise InvalidInput.fields({"period": Problem("no_bill_for_period")})
        state = bill_states(session, account.id, [bill])[0]
        if kind == AdjustmentKind.WAIVER and amount > state.late_fee_owed(on, rules):
            raise InvalidInput.fields({"amount": Problem("above_late_fee_owed", owed=state.late_fee_owed(on, rules))})
        if kind == AdjustmentKind.CORRECTION and state.charged + amount < 0:
            raise InvalidInput.fields({"amount": Problem("bill_below_zero", charged=state.charged)})
    if kind == AdjustmentKind.REFUND and amount > account.balance:
        raise InvalidInput.fields({"amount": Problem("above_balance", balance=account.balance)})
    adj = Adjustment(kind=kind, account=account, bill=bill, amount=amount, reason=reason, requested_by=actor.id)
    session.add(adj)
    session.flush()
    trail.record(
        session,
        actor_id=actor.id,
        action=f"{kind}.requested",
        entity="adjustment",
        entity_id=adj.id,
        after=adjustment_dict(adj),
    )
    return adj


def decide_adjustment(
    session: Session,
    adj: Adjustment,
    decision: DecideAdjustment,
    *,
    actor: User,
    on: dt.date,
    rules: Rules | None = None,
) -> Adjustment:
    """Approve or reject a pending request; the requester may not decide their own request."""
    rules = rules or current_rules()
    approve = decision.approve
    account = lock_account(session, adj.account_id)
    session.refresh(adj, with_for_update=True)
    if adj.status != AdjustmentStatus.PENDING:
        raise Conflict("already_decided")
    if adj.requested_by == actor.id:
        raise Conflict("second_person_required")
    before = adjustment_dict(adj)
    if approve:
        if adj.kind == AdjustmentKind.REFUND and adj.amount > account.balance:
            raise Conflict("balance_too_low", balance=account.balance)
        if adj.kind == AdjustmentKind.WAIVER and adj.bill is not None:
            owed = bill_states(session, account.id, [adj.bill])[0].late_fee_owed(on, rules)
            if adj.amount > owed:
                raise Conflict("waiver_exceeds_fee", owed=owed)
    adj.status = AdjustmentStatus.APPROVED if approve else AdjustmentStatus.REJECTED
    adj.decided_by = actor.id
    adj.decided_at = utcnow()
    adj.decision_note = decision.note
    session.flush()
    if approve:
        _take_effect(session, account, adj, on, rules)
        if adj.kind == AdjustmentKind.WAIVER:
            outbox.put(session, WAIVER_APPROVED, waiver_sheet(session, adj))
    trail.record(
        session,
        actor_id=actor.id,
        action=f"{adj.kind}.{adj.status}",
        entity="adjustment",
        entity_id=adj.id,
        before=before,
        after={**adjustment_dict(adj), "balance": account.balance},
    )
    return adj


def waiver_sheet(session: Session, adj: Adjustment) -> dict[str, Any]:
    """The approved waiver's sheet (违约金减免申请及审批) as the archive files it: number ``JM-<id>``."""
    requester, decider = session.get(User, adj.requested_by), session.get(User, adj.decided_by)
    decided = clock.local(adj.decided_at) if adj.decided_at else clock.now_local()
    account = adj.account
    return {
        "account_no": account.account_no,
        "document_no": f"JM-{adj.id}",
        "title": f"{account.holder_name}电费违约金减免审批单",
        "formed_on": decided.date().isoformat(),
        "unit": account.unit.name if account.unit else "",
        "facts": [
            ["户名", account.holder_name],
            ["电费年月", adj.bill.period if adj.bill else ""],
            ["减免金额", f"{adj.amount:.2f} 元"],
            ["申请理由", adj.reason],
            ["申请人", (requester.name or requester.username) if requester else ""],
            ["申请时间", clock.local(adj.requested_at).strftime("%Y-%m-%d %H:%M") if adj.requested_at else ""],
            ["审批人", (decider.name or decider.username) if decider else ""],
            ["审批时间", decided.strftime("%Y-%m-%d %H:%M")],
            ["审批意见", adj.decision_note or "同意"],
        ],
    }


def _take_effect(session: Session, account: Account, adj: Adjustment, on: dt.date, rules: Rules) -> None:
    if adj.kind == AdjustmentKind.REFUND:
        account.balance -= adj.amount
        # what online payments brought in goes back through their providers (billing.online.refunds)
        refund_through_providers(session, account, adj)
    elif adj.kind == AdjustmentKind.CORRECTION and adj.bill is not None:
        state = bill_states(session, account.id, [adj.bill])[0]  # already includes this approved correction
        paid = state.paid_principal()
        over_before = max(paid - (state.charged - adj.amount), ZERO)
        over_after = max(paid - state.charged, ZERO)
        account.balance += over_after - over_before  # a credit below what was paid goes to the balance
        if account.balance > 0:
            apply_balance(session, account, on, rules)
    session.flush()


def visible_adjustments(user: User) -> Select[Any]:
    """Requests on accounts in the user's unit subtree (staff only)."""
    return select(Adjustment).join(Account, Account.id == Adjustment.account_id).where(in_scope(user, Account.unit_id))


def get_visible_adjustment(session: Session, user: User, adjustment_id: int) -> Adjustment:
    adj = session.scalar(visible_adjustments(user).where(Adjustment.id == adjustment_id))
    if adj is None:
        raise NotFound("adjustment_not_found")
    return adj
