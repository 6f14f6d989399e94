"""Demo tickets: open and closed tickets of each kind for the demo customer, one complaint past its first-contact
deadline, and an incident from a storm of fault reports on one street."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.models import Account
from core.db import utcnow
from core.identity import User

from .commands import MoveTicket, OpenTicket, RateTicket
from .flows import FLOWS
from .models import Ticket
from .services import move_ticket, open_ticket, rate_ticket

DEMO_CUSTOMER = "13800000000"
DEMO_ACCOUNT = "3301000001"
DESCRIPTIONS = {
    "fault_repair": "家里突然停电，邻居家也没电",
    "complaint": "抄表员多次未按时上门抄表",
    "report": "有人私拉电线给违章建筑供电",
    "opinion": "营业厅周末排队时间太长",
    "suggestion": "建议在小区增设自助缴费终端",
    "praise": "抢修人员半夜赶来，很快恢复供电，非常感谢",
    "enquiry": "峰谷分时电价怎么申请？",
    "meter_check": "这个月电量比往年同期多一倍，怀疑电表不准",
}
STEP_FIELDS = {"dispatched": {"crew": "湖滨抢修一班"}, "restored": {"cause": "进户线老化断线"}}


def _close(session: Session, clerk: User, ticket: Ticket) -> None:
    for step in FLOWS[ticket.kind]:
        fields = dict(STEP_FIELDS.get(step, {}))
        if step == "replied":
            fields["note"] = "已核实并处理，感谢您的反馈。"
        move_ticket(session, clerk, ticket, MoveTicket.parse({"to": step, **fields}))


def seed_tickets(session: Session) -> str:
    if session.scalar(select(func.count()).select_from(Ticket)):
        return "demo tickets already there"
    customer = session.scalar(select(User).where(User.username == DEMO_CUSTOMER))
    clerk = session.scalar(select(User).where(User.username == "clerk"))
    account = session.scalar(select(Account).where(Account.account_no == DEMO_ACCOUNT))
    if customer is None or clerk is None or account is None or account.lat is None or account.lon is None:
        return "no demo customer account: skipped"
    now = utcnow()
    made = 0
    for kind, text in DESCRIPTIONS.items():
        closed = open_ticket(
            session,
            customer,
            OpenTicket.parse({"kind": kind, "account_no": DEMO_ACCOUNT, "description": text}),
            received_at=now - dt.timedelta(days=20),
        )
        _close(session, clerk, closed)
        rate_ticket(session, customer, closed, RateTicket.parse({"score": 5 if kind != "complaint" else 3}))
        open_ticket(
            session,
            customer,
            OpenTicket.parse({"kind": kind, "account_no": DEMO_ACCOUNT, "description": text}),
            received_at=now - dt.timedelta(minutes=20),
        )
        made += 2
    # a complaint received 30 hours ago and never contacted: past its 24-hour first-contact deadline
    open_ticket(
        session,
        customer,
        OpenTicket.parse({"kind": "complaint", "account_no": DEMO_ACCOUNT, "description": "投诉两天了还没有人联系我"}),
        received_at=now - dt.timedelta(hours=30),
    )
    # a storm: five passers-by report the same fallen line within ten minutes, a few tens of metres apart
    for n in range(5):
        report = {
            "kind": "fault_repair",
            "description": f"大风刮断电线，路口一片漆黑（第{n + 1}位报修人）",
            "lat": round(account.lat + 0.0003 * (n % 3), 6),
            "lon": round(account.lon + 0.0002 * (n // 2), 6),
            "contact_phone": f"1390000{n:04d}",
        }
        open_ticket(session, None, OpenTicket.parse(report), received_at=now - dt.timedelta(minutes=10 - 2 * n))
    made += 6
    return f"{made} tickets, one overdue complaint, one incident"
