"""Payments recorded exactly once and applied oldest bill first (late fee before principal).

The idempotency key is unique in the database and decides: the payment row goes in with ``ON CONFLICT DO
NOTHING``, so of concurrent submissions with one key the first stores the payment and the others wait for its
commit, then find it and get it back (with another body, a 409). Applying the money takes the account's row
lock, so payments to one account queue and payments to different accounts run side by side. The recording
itself is the database's recorder (``billing.recorders``); this module makes the row
(``billing.commands.RecordPayment`` checks the input).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.models import Account, Payment
from billing.recorders import recorder_for
from billing.rules import CENT, Rules, current_rules
from core import clock
from core.errors import Conflict, InvalidInput
from core.scope import of_unit


def request_hash(fields: dict[str, Any], explicit_paid_at: bool) -> str:
    canonical = {
        "account_no": fields["account_no"],
        "amount": str(fields["amount"]),
        "channel": fields["channel"],
        "paid_at": fields["paid_at"].isoformat() if explicit_paid_at else None,
        "reference": fields["reference"],
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def _payment_values(
    account_id: int,
    fields: dict[str, Any],
    idempotency_key: str,
    digest: str,
    actor_id: int | None,
    import_id: int | None,
) -> tuple[dict[str, Any], dt.date]:
    """The payment row's values as the columns store them, and the local day it was paid on."""
    key = idempotency_key.strip()
    if not key or len(key) > 128:
        raise InvalidInput("idempotency_key_required")
    paid_at: dt.datetime = fields["paid_at"].astimezone(dt.UTC)
    values = {
        "account_id": account_id,
        "amount": Decimal(fields["amount"]).quantize(CENT, rounding=ROUND_HALF_UP),
        "channel": fields["channel"],
        "paid_at": paid_at,
        "reference": fields["reference"],
        "idempotency_key": key,
        "request_hash": digest,
        "import_id": import_id,
        "recorded_by": actor_id,
    }
    return values, clock.local(paid_at).date()


def record_payment(
    session: Session,
    account: Account,
    fields: dict[str, Any],
    *,
    idempotency_key: str,
    digest: str,
    actor_id: int | None,
    import_id: int | None = None,
    rules: Rules | None = None,
    announce: bool = True,
) -> tuple[Payment, bool]:
    """Record the payment once in the session's transaction: returns (payment, created). A replay returns the
    first payment.

    The payment is announced through the outbox (``billing.topics.PAYMENT_RECORDED``) in the same transaction;
    ``announce`` false records history (demo data) without it. The database's recorder does the work
    (``billing.recorders``: the function ``payment_record`` on PostgreSQL, the Python plan elsewhere). The
    ``account`` object's balance is set to the stored one.
    """
    values, paid_on = _payment_values(account.id, fields, idempotency_key, digest, actor_id, import_id)
    return recorder_for(session).record(session, account, values, paid_on, rules or current_rules(), announce=announce)


def earlier_with_reference(
    session: Session, account: Account, channel: str, reference: str, idempotency_key: str
) -> Payment | None:
    """The payment that already carries ``reference`` in ``channel`` for an account of ``account``'s unit (a
    receipt number, a bank's transaction id), other than a replay of ``idempotency_key``."""
    if not reference.strip():
        return None
    return session.scalar(
        select(Payment)
        .join(Account, Account.id == Payment.account_id)
        .where(
            Payment.channel == channel,
            Payment.reference == reference,
            of_unit(account.unit_id, Account.unit_id),
            Payment.idempotency_key != idempotency_key.strip(),
        )
        .order_by(Payment.id)
        .limit(1)
    )


def refuse_reused_reference(session: Session, account: Account, fields: dict[str, Any], idempotency_key: str) -> None:
    """A reference is unique per channel and unit: a second payment with it is refused, naming the first."""
    earlier = earlier_with_reference(session, account, fields["channel"], fields["reference"], idempotency_key)
    if earlier is not None:
        raise Conflict(
            "reference_used",
            reference=earlier.reference,
            payment_id=earlier.id,
            amount=str(earlier.amount),
            recorded_at=clock.local(earlier.recorded_at).strftime("%Y-%m-%d %H:%M"),
        )


def post_payment(
    session: Session,
    account: Account,
    fields: dict[str, Any],
    *,
    idempotency_key: str,
    digest: str,
    actor_id: int | None,
    rules: Rules | None = None,
) -> tuple[Payment, bool]:
    """Record one payment as a unit of work of its own, committed on return: (payment, created).

    For a payment that is a request of its own (the API, the counter), entered by hand: a reference already used
    in the channel and unit is refused (``reference_used``, naming the earlier payment). The session's transaction
    is committed
    first; on PostgreSQL the payment is then one call of ``payment_record`` in a transaction by itself (one round
    trip, the commit included).
    """
    values, paid_on = _payment_values(account.id, fields, idempotency_key, digest, actor_id, None)
    refuse_reused_reference(session, account, fields, idempotency_key)
    return recorder_for(session).post(session, account, values, paid_on, rules or current_rules())
