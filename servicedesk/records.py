"""What a closed complaint, report or meter dispute leaves in the account's complaint file (客户投诉档案).

The record is plain JSON carried on the outbox (``servicedesk.ticket_closed``): the archive files it as a PDF
into the account's dossier without reading the service desk's tables.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.models import Account
from core import clock
from core.identity import Unit, User

from .models import Ticket, TicketEvent

KIND_ZH = {
    "fault_repair": "故障报修",
    "complaint": "投诉",
    "report": "举报",
    "opinion": "意见",
    "suggestion": "建议",
    "praise": "表扬",
    "enquiry": "咨询",
    "meter_check": "校表申请",
}
ACTION_ZH = {
    "received": "受理",
    "dispatched": "派工",
    "on_site": "到达现场",
    "restored": "恢复送电",
    "contacted": "联系客户",
    "tested": "校验电能表",
    "replied": "答复",
    "closed": "办结",
    "merged": "合并",
    "note": "备注",
    "rated": "客户评价",
    "reopened": "重新打开",
    "escalated": "超时督办",
}


def _when(value: Any) -> str:
    return clock.local(value).strftime("%Y-%m-%d %H:%M") if value else ""


def complaint_record(session: Session, ticket: Ticket) -> dict[str, Any]:
    """The closed ticket as the complaint file's record: who, what, each step with its time, the answer."""
    account_no = session.scalar(select(Account.account_no).where(Account.id == ticket.account_id))
    unit = session.get(Unit, ticket.unit_id)
    handler = session.get(User, ticket.handler_id) if ticket.handler_id else None
    events = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id))
    assert ticket.closed_at is not None
    return {
        "ticket_id": ticket.id,
        "ticket_no": ticket.ticket_no,
        "account_no": account_no,
        "kind": ticket.kind,
        "kind_label": KIND_ZH[ticket.kind],
        "description": ticket.description,
        "reply": ticket.reply or "",
        "unit": unit.name if unit else "",
        "handler": (handler.name or handler.username) if handler else "",
        "received_at": _when(ticket.received_at),
        "closed_at": _when(ticket.closed_at),
        "closed_on": clock.local(ticket.closed_at).date().isoformat(),
        "repeated": ticket.repeated,
        "reopened": ticket.reopened,
        "timeline": [
            {"at": _when(e.at), "action": ACTION_ZH.get(e.action, e.action), "note": e.note or ""} for e in events
        ],
    }
