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
        "title": f"户号 {kw['account_no']} 缴费 ¥{_money(kw['amount'])} 已到账",  # the inbox lists titles only
        "body": f"户号 {kw['account_no']} 已收到缴费 ¥{_money(kw['amount'])}，感谢您的支持。",
        "account_nos": [str(kw["account_no"])],
        "data": {"account_no": str(kw["account_no"]), "amount": str(kw["amount"]), "channel": kw.get("channel")},
    }


def document_notice(kw: dict[str, Any]) -> dict[str, Any]:
    """``notify_event``'s arguments for an e-invoice or e-bill announced (billing's ``documents_issued``): the
    e-mail carries its PDF (``data.attachment``, rendered at sending)."""
    if kw["kind"] == "invoice":
        key, title = f"invoice:{kw['invoice_id']}", "电子发票已开具"
        body = f"户号 {kw['account_no']} 的电子发票 {kw['ref']} 已开具，附件为 PDF，也可在网上营业厅下载。"
    else:
        key, title = f"ebill:{kw['bill_id']}", f"{kw['ref']} 电子账单"
        body = f"户号 {kw['account_no']} {kw['ref']} 的电子账单见附件 PDF，也可在网上营业厅下载。"
    return {
        "kind": NoticeKind.DOCUMENT.value,
        "dedupe_key": key,
        "title": title,
        "body": body,
        "account_nos": [str(kw["account_no"])],
        "data": {"account_no": str(kw["account_no"]), "document": kw["kind"], "ref": str(kw["ref"]), "attachment": kw},
    }


def finding_notice(kw: dict[str, Any]) -> dict[str, Any]:
    """``notify_event``'s arguments for a finding assigned (the audit's payload): the assignee is told."""
    account_no, application_no = kw.get("account_no"), kw.get("application_no")
    on = f"户号 {account_no}" if account_no else f"申请 {application_no}"
    return {
        "kind": NoticeKind.FINDING_ASSIGNED.value,
        "dedupe_key": f"finding:{kw['finding_id']}:{kw['assignee_id']}",
        "title": "新的稽查发现待处理",
        "body": f"{on} 的稽查发现（规则 {kw['rule']}）已分派给您。",
        "user_ids": [int(kw["assignee_id"])],
        "data": {
            "finding_id": kw["finding_id"],
            "account_no": str(account_no) if account_no else None,
            "application_no": application_no,
            "rule": kw["rule"],
        },
    }


# what a reporter reads about each step of a ticket (the service desk's statuses and actions)
TICKET_ACTIONS = {
    "received": "已受理",
    "dispatched": "已派出抢修人员",
    "on_site": "抢修人员已到达现场",
    "restored": "已恢复供电",
    "contacted": "已联系您",
    "tested": "电能表已校验",
    "replied": "已答复",
    "closed": "已办结，欢迎评价",
    "merged": "已与相同问题的工单合并处理",
    "reopened": "已重新处理",
    "rated": "已收到您的评价",
    "escalated": "已超时，已督办",
    "note": "有新的处理记录",
}


# what an applicant reads about each step of their application (business handling's actions)
APPLICATION_ACTIONS = {
    "received": "已受理",
    "acceptance": "已受理审核通过",
    "site_survey": "已完成现场勘查",
    "supply_plan": "供电方案已答复",
    "design_review": "设计文件已审查",
    "interim_check": "已完成中间检查",
    "completion_check": "已通过竣工检验",
    "contract": "供用电合同已签订",
    "connection": "已装表接电",
    "execution": "变更已实施",
    "archiving": "资料已归档",
    "completed": "已办结，欢迎评价",
    "returned": "需要您补充资料",
    "check_failed": "检验未通过，请整改",
    "resumed": "已继续办理",
    "withdrawn": "已撤回",
    "rated": "已收到您的评价",
    "uploaded": "已收到资料",
}


def application_notice(kw: dict[str, Any]) -> dict[str, Any] | None:
    """``notify_event``'s arguments for an application's step (business handling's payload); None when nobody is
    told."""
    user_ids = [int(u) for u in kw.get("user_ids") or []]
    if not user_ids:
        return None
    what = APPLICATION_ACTIONS.get(str(kw["action"]), "有新的办理记录")
    return {
        "kind": NoticeKind.APPLICATION_UPDATE.value,
        "dedupe_key": f"application-event:{kw['event_id']}",
        "title": f"业务申请 {kw['application_no']} {what}",
        "body": f"您的用电业务申请 {kw['application_no']} {what}。",
        "user_ids": user_ids,
        "data": {"application_no": kw["application_no"], "action": kw["action"], "status": kw["status"]},
    }


def ticket_follower_mail(kw: dict[str, Any]) -> dict[str, Any] | None:
    """``mail_ticket_follower``'s arguments for a ticket's step when its reporter is a passer-by who left an
    e-mail address; None otherwise."""
    to = kw.get("contact_email")
    if not to:
        return None
    what = TICKET_ACTIONS.get(str(kw["action"]), "有新的处理记录")
    return {
        "dedupe_key": f"ticket-follower:{kw['event_id']}",
        "to": str(to),
        "title": f"95598 报修 {kw['ticket_no']} {what}",
        "body": f"您报修的 95598 工单 {kw['ticket_no']} {what}。",
        "token": kw.get("follow_token"),
    }


def ticket_notice(kw: dict[str, Any]) -> dict[str, Any] | None:
    """``notify_event``'s arguments for a ticket's step (the service desk's payload); None when nobody is told."""
    user_ids = [int(u) for u in kw.get("user_ids") or []]
    if not user_ids:
        return None
    what = TICKET_ACTIONS.get(str(kw["action"]), "有新的处理记录")
    return {
        "kind": NoticeKind.TICKET_UPDATE.value,
        "dedupe_key": f"ticket-event:{kw['event_id']}",
        "title": f"工单 {kw['ticket_no']} {what}",
        "body": f"您的 95598 工单 {kw['ticket_no']} {what}。",
        "user_ids": user_ids,
        "data": {"ticket_no": kw["ticket_no"], "action": kw["action"], "status": kw["status"]},
    }
