"""What other domains' announcements become: the notice each event makes (``notify_event``'s arguments).

Plain functions of plain values; ``notifications.subscribers`` takes the announcements from the outbox and the
tasks build the notices with these.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from .models import NoticeKind


def _money(amount: Any) -> str:
    return f"{Decimal(str(amount)):,.2f}"


def bill_notice(kw: dict[str, Any]) -> dict[str, Any]:
    """``notify_event``'s arguments for one issued bill (its bill_id, account_no, period, amount and due_date)."""
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


def finding_notice(kw: dict[str, Any]) -> dict[str, Any]:
    """``notify_event``'s arguments for a finding assigned (the audit's payload): the assignee is told."""
    return {
        "kind": NoticeKind.FINDING_ASSIGNED.value,
        "dedupe_key": f"finding:{kw['finding_id']}:{kw['assignee_id']}",
        "title": "新的稽查发现待处理",
        "body": f"户号 {kw['account_no']} 的稽查发现（规则 {kw['rule']}）已分派给您。",
        "user_ids": [int(kw["assignee_id"])],
        "data": {"finding_id": kw["finding_id"], "account_no": str(kw["account_no"]), "rule": kw["rule"]},
    }
