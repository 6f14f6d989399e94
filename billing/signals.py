"""Billing announces; other packages listen (billing never imports them).

Receivers get plain values, never ORM objects, and are called after the transaction that made the change
commits (senders use ``core.db.on_commit``).
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# kwargs: account_no: str, period: str (YYYY-MM), amount: Decimal, due_date: date, bill_id: int
bill_issued = _signals.signal("bill-issued")
# kwargs: period: str, bill_ids: list[int]. The batch bill run announces each committed chunk once with this
# signal instead of ``bill_issued`` per bill (a listener queues one job with ids, not thousands of messages).
bills_issued = _signals.signal("bills-issued")
# kwargs: payment_ids: list[int]. Sent by the outbox relay (core.outbox) for the payments recorded since its last
# batch, each committed; a payment may be announced again after a crash (receivers key what they make by its id).
payments_recorded = _signals.signal("payments-recorded")
