"""Billing's swappable parts: a protocol here, its implementations beside the code that uses them."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.orm import Session

from billing.models import Account, Payment
from billing.rules import Rules


@runtime_checkable
class PaymentRecorder(Protocol):
    """Records a payment once (its idempotency key decides) and applies it to the account's oldest unpaid bill
    first, late fee before principal, the rest to the balance; with the payment its trail event and, when
    announced, its outbox message (``billing.topics.PAYMENT_RECORDED``).

    ``values`` are the payment row's columns (as ``billing.payments.record_payment`` makes them), ``paid_on``
    the local day it was paid. Both return (payment, created): a replay of the key returns the first payment,
    not created. The account's ``balance`` is set to the stored one. Implementations (``billing.recorders``):
    the database function ``payment_record`` on PostgreSQL, the Python plan elsewhere; ``recorder_for`` picks
    one per database.
    """

    def record(
        self,
        session: Session,
        account: Account,
        values: dict[str, Any],
        paid_on: dt.date,
        rules: Rules,
        *,
        announce: bool,
    ) -> tuple[Payment, bool]:
        """In the session's transaction: the caller commits (or rolls back) the payment with its other changes."""
        ...

    def post(
        self, session: Session, account: Account, values: dict[str, Any], paid_on: dt.date, rules: Rules
    ) -> tuple[Payment, bool]:
        """As a unit of work of its own, committed (and announced) on return; the session's transaction is
        committed first."""
        ...
