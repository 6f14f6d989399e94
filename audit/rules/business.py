"""Business rules: money credited without an approval, payments without a bill or reference, payments twice."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, String, case, cast, exists, func, literal, or_, select
from sqlalchemy.orm import aliased

from billing.models import Account, Adjustment, Bill, Payment, PaymentApplication
from core.identity import Unit, User
from core.scope import unit_path_covers

from .base import RuleContext, rule

APPROVER_ROLES = ("supervisor", "admin", "clerk")


def _subject(prefix: str, column: Any) -> Any:
    return (literal(prefix) + cast(column, String)).label("subject")


@rule(
    "BZ-UNAPPROVED",
    title="Waiver or refund without approval",
    severity="high",
    area="business",
    checks=(
        "Money credited on a bill outside a payment is backed by an approved waiver or correction of that bill; "
        "every approved waiver, refund or correction was decided by a second person of the staff whose unit "
        "covers the account."
    ),
    evidence=("kind", "record_id", "bill_id", "amount", "requested_by", "decided_by", "problem"),
)
def unapproved_adjustment(ctx: RuleContext) -> Select[Any]:
    approved = exists().where(
        Adjustment.bill_id == PaymentApplication.bill_id,
        Adjustment.status == "approved",
        Adjustment.kind.in_(("waiver", "correction")),
    )
    credits = (
        select(
            Bill.account_id.label("account_id"),
            _subject("credit:", PaymentApplication.id),
            literal("credit").label("kind"),
            PaymentApplication.id.label("record_id"),
            PaymentApplication.bill_id.label("bill_id"),
            (PaymentApplication.principal + PaymentApplication.late_fee).label("amount"),
            literal(None, type_=Adjustment.requested_by.type).label("requested_by"),
            literal(None, type_=Adjustment.decided_by.type).label("decided_by"),
            literal("credit_without_approved_adjustment").label("problem"),
        )
        .join(Bill, Bill.id == PaymentApplication.bill_id)
        .where(PaymentApplication.payment_id.is_(None), ~approved)
    )
    approver = aliased(User)
    approver_unit = aliased(Unit)
    account_unit = aliased(Unit)
    bad_decider = or_(
        Adjustment.decided_by.is_(None),
        Adjustment.decided_by == Adjustment.requested_by,
        approver.id.is_(None),
        approver.role.not_in(APPROVER_ROLES),
        approver_unit.id.is_(None),
        ~unit_path_covers(approver_unit.path, account_unit.path),
    )
    decisions = (
        select(
            Adjustment.account_id.label("account_id"),
            _subject("adjustment:", Adjustment.id),
            Adjustment.kind.label("kind"),
            Adjustment.id.label("record_id"),
            Adjustment.bill_id.label("bill_id"),
            Adjustment.amount.label("amount"),
            Adjustment.requested_by.label("requested_by"),
            Adjustment.decided_by.label("decided_by"),
            case(
                (Adjustment.decided_by.is_(None), "approved_without_decider"),
                (Adjustment.decided_by == Adjustment.requested_by, "approved_by_requester"),
                else_="approver_not_entitled",
            ).label("problem"),
        )
        .join(Account, Account.id == Adjustment.account_id)
        .join(account_unit, account_unit.id == Account.unit_id)
        .outerjoin(approver, approver.id == Adjustment.decided_by)
        .outerjoin(approver_unit, approver_unit.id == approver.unit_id)
        .where(Adjustment.status == "approved", Adjustment.kind.in_(("waiver", "refund", "correction")), bad_decider)
    )
    both = credits.union_all(decisions).subquery("unapproved")
    return select(both)


@rule(
    "BZ-PAYMENT-UNMATCHED",
    title="Payment without a matching bill or reference",
    severity="high",
    area="business",
    checks=(
        "Every payment carries its channel reference (receipt, bank or transaction number) and is for an account "
        "that has bills: a payment with neither cannot be reconciled."
    ),
    evidence=("payment_id", "amount", "channel", "paid_at", "reference", "problem"),
)
def unmatched_payment(ctx: RuleContext) -> Select[Any]:
    has_bill = exists().where(Bill.account_id == Payment.account_id)
    no_reference = func.trim(func.coalesce(Payment.reference, "")) == ""
    return select(
        Payment.account_id.label("account_id"),
        _subject("payment:", Payment.id),
        Payment.id.label("payment_id"),
        Payment.amount,
        Payment.channel,
        Payment.paid_at,
        Payment.reference,
        case((no_reference, "no_reference"), else_="no_bill").label("problem"),
    ).where(or_(no_reference, ~has_bill))


@rule(
    "BZ-PAYMENT-DUPLICATE",
    title="Payment recorded twice",
    severity="high",
    area="business",
    checks=(
        "One payment is recorded once: a second payment of the same account with the same channel, reference "
        "and amount (under another idempotency key, e.g. typed in and then imported) is a duplicate."
    ),
    evidence=("payment_id", "first_payment_id", "amount", "channel", "reference", "paid_at"),
)
def duplicate_payment(ctx: RuleContext) -> Select[Any]:
    key = (Payment.account_id, Payment.channel, Payment.reference, Payment.amount)
    ranked = (
        select(
            Payment.id,
            Payment.account_id,
            Payment.amount,
            Payment.channel,
            Payment.reference,
            Payment.paid_at,
            func.row_number().over(partition_by=key, order_by=Payment.id).label("nth"),
            func.min(Payment.id).over(partition_by=key).label("first_payment_id"),
        )
        .where(func.trim(func.coalesce(Payment.reference, "")) != "")
        .subquery("ranked_payments")
    )
    return select(
        ranked.c.account_id,
        _subject("payment:", ranked.c.id),
        ranked.c.id.label("payment_id"),
        ranked.c.first_payment_id,
        ranked.c.amount,
        ranked.c.channel,
        ranked.c.reference,
        ranked.c.paid_at,
    ).where(ranked.c.nth > 1)


@rule(
    "BZ-STATEMENT-MISMATCH",
    title="Online payment not matching the provider's statement",
    severity="high",
    area="business",
    checks=(
        "Every online payment of a day is on its provider's daily statement for the same amount, and every trade "
        "on the statement was recorded when the provider reported it: a trade missing on our side (recorded from "
        "the statement), missing on theirs, or of another amount is looked into (the latest reconciliation of "
        "the day counts; trades for no order of ours stay in the clerk's report)."
    ),
    evidence=("provider", "day", "kind", "order_no", "trade_no", "ours", "theirs", "recorded"),
)
def statement_mismatch(ctx: RuleContext) -> Select[Any]:
    from billing.online.models import StatementItem

    subject = (
        literal("statement:")
        + StatementItem.provider
        + literal(":")
        + cast(StatementItem.day, String)
        + literal(":")
        + StatementItem.order_no
    )
    columns: list[Any] = [
        StatementItem.account_id.label("account_id"),
        subject.label("subject"),
        StatementItem.provider,
        StatementItem.day,
        StatementItem.kind,
        StatementItem.order_no,
        StatementItem.trade_no,
        StatementItem.ours,
        StatementItem.theirs,
        StatementItem.recorded,
    ]
    return select(*columns).where(StatementItem.account_id.is_not(None))
