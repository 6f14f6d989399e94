"""Signal receivers: billing and archive events become notices (queued, never sent inside their request)."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from archive import signals as archive_signals
from billing import signals as billing_signals

from .models import NoticeKind

log = logging.getLogger(__name__)


_REPR_MAX = 1024  # Celery's argsrepr_maxsize / kwargsrepr_maxsize


def _queue(task: Any, *args: Any, **kwargs: Any) -> None:
    # the sender's change is committed already; a queue that is down must not turn it into an error page.
    # The message's argsrepr / kwargsrepr (for logs and monitors) are plain repr() cut at Celery's size: Celery's
    # own saferepr of them cost more than the rest of the message (payments send one per request).
    try:
        task.apply_async(args, kwargs, argsrepr=repr(args)[:_REPR_MAX], kwargsrepr=repr(kwargs)[:_REPR_MAX])
    except Exception:
        log.exception("could not queue %s for %s", task.name, args[:2])


def _money(amount: Any) -> str:
    return f"{Decimal(str(amount)):,.2f}"


def bill_notice(kw: dict[str, Any]) -> dict[str, Any]:
    """``notify_event``'s arguments for one issued bill (``bill_issued``'s values)."""
    due = kw.get("due_date")
    due_text = due.isoformat() if isinstance(due, dt.date) else str(due or "")
    return {
        "kind": NoticeKind.BILL_ISSUED.value,
        "dedupe_key": f"bill:{kw['bill_id']}",
        "title": f"{kw['period']} 电费账单已出",
        "body": f"户号 {kw['account_no']} {kw['period']} 电费 ¥{_money(kw['amount'])}，请于 {due_text} 前缴纳。",
        "account_nos": [str(kw["account_no"])],
        "data": {
            "account_no": str(kw["account_no"]),
            "period": kw["period"],
            "amount": str(kw["amount"]),
            "due_date": due_text,
        },
    }


def on_bill_issued(_sender: Any = None, **kw: Any) -> None:
    from .tasks import notify_event

    _queue(notify_event, **bill_notice(kw))


def on_bills_issued(_sender: Any = None, *, bill_ids: list[int], **_kw: Any) -> None:
    from .tasks import notify_bills_issued

    _queue(notify_bills_issued, list(bill_ids))


def payment_notice(kw: dict[str, Any]) -> dict[str, Any]:
    """``notify_event``'s arguments for one recorded payment (its id, account_no, amount and channel)."""
    return {
        "kind": NoticeKind.PAYMENT_RECEIVED.value,
        "dedupe_key": f"payment:{kw['payment_id']}",
        "title": "缴费成功",
        "body": f"户号 {kw['account_no']} 已收到缴费 ¥{_money(kw['amount'])}，感谢您的支持。",
        "account_nos": [str(kw["account_no"])],
        "data": {"account_no": str(kw["account_no"]), "amount": str(kw["amount"]), "channel": kw.get("channel")},
    }


def on_payments_recorded(_sender: Any = None, *, payment_ids: list[int], **_kw: Any) -> None:
    # sent by the outbox relay: a queue that is down must fail the relay, which keeps the messages for later
    from .tasks import notify_payments_received

    ids = list(payment_ids)
    notify_payments_received.apply_async((ids,), argsrepr=repr((ids,))[:_REPR_MAX])


def on_finding_assigned(_sender: Any = None, **kw: Any) -> None:
    from .tasks import notify_event

    _queue(
        notify_event,
        NoticeKind.FINDING_ASSIGNED.value,
        f"finding:{kw['finding_id']}:{kw['assignee_id']}",
        "新的稽查发现待处理",
        f"户号 {kw['account_no']} 的稽查发现（规则 {kw['rule']}）已分派给您。",
        user_ids=[int(kw["assignee_id"])],
        data={"finding_id": kw["finding_id"], "account_no": str(kw["account_no"]), "rule": kw["rule"]},
    )


def connect() -> None:
    billing_signals.bill_issued.connect(on_bill_issued, weak=False)
    billing_signals.bills_issued.connect(on_bills_issued, weak=False)
    billing_signals.payments_recorded.connect(on_payments_recorded, weak=False)
    archive_signals.finding_assigned.connect(on_finding_assigned, weak=False)
