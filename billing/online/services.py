"""Paying online: orders, the provider's word on them, and the payment recorded exactly once.

Rules:

- An order's amount defaults to what the account owes today (arrears and late fee, less its balance); a
  customer may pay more (prepay) up to ``cap`` above that. The order expires after ``ttl``.
- An order becomes paid only on the provider's signed word: a notice whose signature verifies, or the answer to
  our own query (``settle_open_orders``). The browser coming back proves nothing and changes nothing.
- The payment goes through ``billing.payments.record_payment`` with channel ``app``, the idempotency key
  ``<provider>:<trade_no>``, the provider's payment time as ``paid_at`` (the late-fee date) and no actor: two
  notices, or a notice and a query, racing for one trade record one payment.
- What the provider says it took is what is recorded. Money for an order we had already closed (a notice
  arriving late), for another amount than the order's, or a second trade for an order already paid, is
  recorded all the same and applied as any payment (oldest bill first); what no bill needs stays on the account
  as balance (预存), which the next bills draw on. The order and the notice log say which case it was.
- Every notice is logged (``PaymentNotice``) with its outcome, forged ones included; a forged notice changes
  nothing else.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from billing.ledger import ZERO, account_position
from billing.models import Account, Channel
from billing.payments import record_payment, request_hash
from core import clock, trail
from core.db import utcnow
from core.errors import Conflict, InvalidInput, Problem, Unavailable

from .models import NoticeOutcome, OrderStatus, PaymentNotice, PaymentOrder, PaymentReconciliation, StatementItem
from .providers import Notice, Provider, ProviderUnavailable, TradeState

log = logging.getLogger(__name__)

OPEN = (OrderStatus.CREATED, OrderStatus.PAYING)
SUBJECT = "电费 {account_no}"


def owed(session: Session, account: Account) -> Decimal:
    """What the account owes today: arrears and late fee less its balance (never below zero)."""
    position = account_position(session, account, clock.today_local())
    return max(position.arrears + position.late_fee_today - position.balance, ZERO)


def new_order_no() -> str:
    """GD + the local date and time + 8 random digits: 24 characters, unique in practice and checked by a
    unique constraint."""
    return "GD" + clock.now_local().strftime("%Y%m%d%H%M%S") + f"{secrets.randbelow(10**8):08d}"


def create_order(
    session: Session,
    account: Account,
    amount: Decimal | None,
    provider: Provider,
    *,
    actor_id: int | None,
    cap: Decimal,
    ttl: dt.timedelta,
    return_url: Callable[[str], str],
    notify_url: str,
    client_ip: str = "",
) -> tuple[PaymentOrder, str]:
    """Create the order and the cashier address (the order, the pay_url). A provider that must be asked for its
    cashier address (WeChat Pay's H5 order) and cannot be reached makes it a 503, nothing written."""
    due = owed(session, account)
    if amount is None:
        if due <= 0:
            raise Conflict("nothing_owed")
        amount = due
    if amount > due + cap:
        raise InvalidInput.fields({"amount": Problem("at_most", limit=f"{due + cap:.2f}")})
    now = utcnow()
    order = PaymentOrder(
        order_no=new_order_no(),
        account_id=account.id,
        amount=amount,
        provider=provider.name,
        status=OrderStatus.CREATED,
        created_by=actor_id,
        created_at=now,
        updated_at=now,
        expires_at=now + ttl,
    )
    session.add(order)
    session.flush()
    try:
        url = provider.pay_url(
            order.order_no,
            amount,
            SUBJECT.format(account_no=account.account_no),
            return_url=return_url(order.order_no),
            notify_url=notify_url,
            client_ip=client_ip,
        )
    except ProviderUnavailable as exc:
        log.warning("online payment: %s refused or did not answer order %s: %s", provider.name, order.order_no, exc)
        raise Unavailable("payment_provider_unreachable", provider=provider.name) from exc
    trail.record(
        session,
        actor_id=actor_id,
        action="payment_order.created",
        entity="payment_order",
        entity_id=order.order_no,
        after={"account_no": account.account_no, "amount": str(amount), "provider": provider.name},
    )
    return order, url


def _locked_order(session: Session, order_no: str) -> PaymentOrder | None:
    return session.scalar(select(PaymentOrder).where(PaymentOrder.order_no == order_no).with_for_update())


def apply_state(session: Session, order: PaymentOrder, state: TradeState, source: str) -> NoticeOutcome:
    """Bring the (locked) order in line with what the provider said; record the payment once."""
    now = utcnow()
    if state.status != "paid":
        if order.payment_id is None:
            if state.status == "waiting" and order.status == OrderStatus.CREATED:
                order.status = OrderStatus.PAYING
                order.updated_at = now
            elif state.status == "closed" and order.status in OPEN:
                order.status = OrderStatus.FAILED
                order.updated_at = now
        return NoticeOutcome.NOT_PAID
    if order.payment_id is not None and order.trade_no == state.trade_no:
        return NoticeOutcome.DUPLICATE
    amount = state.amount if state.amount is not None and state.amount > 0 else order.amount
    paid_at = state.paid_at or now
    account = session.get(Account, order.account_id)
    assert account is not None
    fields: dict[str, Any] = {
        "account_no": account.account_no,
        "amount": amount,
        "channel": Channel.APP,
        "paid_at": paid_at,
        "reference": state.trade_no[:64],
    }
    payment, _created = record_payment(
        session,
        account,
        fields,
        idempotency_key=f"{order.provider}:{state.trade_no}",
        digest=request_hash(fields, True),
        actor_id=None,
    )
    if order.payment_id is not None:
        log.warning(
            "online payment: order %s paid again by trade %s (recorded as well)", order.order_no, state.trade_no
        )
        return NoticeOutcome.OTHER_TRADE
    late = order.status in (OrderStatus.CLOSED, OrderStatus.FAILED)
    order.status = OrderStatus.PAID
    order.trade_no = state.trade_no
    order.paid_amount = amount
    order.paid_at = paid_at
    order.payment_id = payment.id
    order.settled_by = source
    order.late = late
    order.updated_at = now
    if late:
        log.warning("online payment: order %s was closed when %s paid it: recorded", order.order_no, state.trade_no)
        return NoticeOutcome.LATE
    if amount != order.amount:
        log.warning(
            "online payment: order %s for %s paid %s: recorded as received", order.order_no, order.amount, amount
        )
        return NoticeOutcome.AMOUNT_DIFFERS
    return NoticeOutcome.SETTLED


def handle_notice(session: Session, provider: Provider, app_id: str, notice: Notice) -> tuple[bool, str]:
    """Process one notice in the session's transaction: (acknowledge it, the outcome). Forged notices are logged
    and answered as failures; the caller commits."""
    state = provider.read_notice(notice)
    logged = notice.logged()
    if state is None:
        outcome: str = NoticeOutcome.FORGED
        log.warning("online payment: %s notice for %r failed its signature", provider.name, logged.get("out_trade_no"))
    else:
        order = _locked_order(session, state.order_no) if (not app_id or state.app_id == app_id) else None
        if order is None or order.provider != provider.name:
            outcome = NoticeOutcome.UNKNOWN_ORDER
            log.warning("online payment: signed %s notice for unknown order %r", provider.name, state.order_no)
        else:
            outcome = apply_state(session, order, state, "notice")
            if outcome != NoticeOutcome.DUPLICATE:
                log.info(
                    "online payment: %s notice %s for %s: %s", provider.name, state.trade_no, order.order_no, outcome
                )
    session.add(
        PaymentNotice(
            provider=provider.name,
            order_no=(state.order_no if state is not None else logged.get("out_trade_no", ""))[:64],
            trade_no=(state.trade_no if state is not None else logged.get("trade_no", ""))[:64],
            verified=state is not None,
            outcome=outcome,
            body=logged,
        )
    )
    return state is not None, outcome


def settle_order(session: Session, provider: Provider, order_no: str) -> str:
    """Ask the provider about one open order and follow its answer; an expired order the provider has not seen
    paid is closed there and here. Returns the order's status (the caller commits)."""
    order = _locked_order(session, order_no)
    if order is None or order.status not in OPEN:
        return order.status if order is not None else "missing"
    try:
        state = provider.query(order_no)
    except ProviderUnavailable as exc:
        log.warning("online payment: query of %s failed: %s", order_no, exc)
        return order.status
    apply_state(session, order, state, "query")
    if order.status in OPEN and order.expires_at <= utcnow():
        try:
            provider.close(order_no)
        except ProviderUnavailable as exc:
            log.warning("online payment: closing %s failed: %s", order_no, exc)
            return order.status
        order.status = OrderStatus.CLOSED
        order.updated_at = utcnow()
    return order.status


def open_orders(session: Session, older_than: dt.timedelta, limit: int = 500) -> list[tuple[str, str]]:
    """(order_no, provider) of the open orders made at least ``older_than`` ago (their notice is late or never
    comes), oldest first."""
    cutoff = utcnow() - older_than
    stmt = (
        select(PaymentOrder.order_no, PaymentOrder.provider)
        .where(PaymentOrder.status.in_([s.value for s in OPEN]), PaymentOrder.created_at <= cutoff)
        .order_by(PaymentOrder.created_at)
        .limit(limit)
    )
    return [(no, name) for no, name in session.execute(stmt)]


def reconcile(session: Session, provider: Provider, day: dt.date) -> PaymentReconciliation:
    """Match the provider's statement of ``day`` (its own day, Beijing time) against our paid orders and store
    the result (again for the same day: replaced). A trade the provider took that we never recorded is recorded
    now (its order is settled by the statement, item ``recorded``); the caller commits.

    Kinds: ``matched``; ``missing_here`` (the provider has it, we had no payment); ``missing_there`` (we have a
    paid order the provider's statement lacks); ``amount_differs`` (both have it, for other amounts).
    """
    rows = provider.statement(day)
    start = dt.datetime.combine(day, dt.time.min, tzinfo=clock.PROVIDER_OFFSET)
    ours = {
        o.trade_no: o
        for o in session.scalars(
            select(PaymentOrder).where(
                PaymentOrder.provider == provider.name,
                PaymentOrder.payment_id.is_not(None),
                PaymentOrder.paid_at >= start,
                PaymentOrder.paid_at < start + dt.timedelta(days=1),
            )
        )
    }
    items: list[StatementItem] = []
    counts = dict.fromkeys(("matched", "missing_here", "missing_there", "amount_differs"), 0)
    seen: set[str] = set()
    for row in rows:
        seen.add(row.trade_no)
        order = ours.get(row.trade_no) or session.scalar(
            select(PaymentOrder).where(PaymentOrder.trade_no == row.trade_no, PaymentOrder.provider == provider.name)
        )
        item = StatementItem(order_no=row.order_no, trade_no=row.trade_no, theirs=row.amount, recorded=False)
        if order is not None and order.payment_id is not None:
            item.ours, item.account_id = order.paid_amount, order.account_id
            kind = "matched" if order.paid_amount == row.amount else "amount_differs"
        else:
            kind = "missing_here"
            pending = _locked_order(session, row.order_no)
            if pending is not None and pending.provider == provider.name:
                state = TradeState(row.order_no, row.trade_no, "paid", row.amount, row.paid_at)
                apply_state(session, pending, state, "statement")
                item.recorded, item.account_id = True, pending.account_id
                log.warning("reconciliation: %s %s was never recorded: recorded now", provider.name, row.trade_no)
        counts[kind] += 1
        if kind != "matched":
            item.kind = kind
            items.append(item)
    for trade_no, order in ours.items():
        if trade_no not in seen:
            counts["missing_there"] += 1
            items.append(
                StatementItem(
                    kind="missing_there",
                    order_no=order.order_no,
                    trade_no=trade_no or "",
                    ours=order.paid_amount,
                    theirs=None,
                    recorded=False,
                    account_id=order.account_id,
                )
            )
    report = session.scalar(
        select(PaymentReconciliation).where(
            PaymentReconciliation.provider == provider.name, PaymentReconciliation.day == day
        )
    )
    if report is None:
        report = PaymentReconciliation(provider=provider.name, day=day)
        session.add(report)
    report.made_at = utcnow()
    report.matched, report.missing_here = counts["matched"], counts["missing_here"]
    report.missing_there, report.amount_differs = counts["missing_there"], counts["amount_differs"]
    session.flush()
    session.execute(delete(StatementItem).where(StatementItem.reconciliation_id == report.id))
    for item in items:
        item.reconciliation_id, item.provider, item.day = report.id, provider.name, day
    session.add_all(items)
    session.flush()
    return report
