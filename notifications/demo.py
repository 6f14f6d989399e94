"""Demo notices: a planned outage around the demo customer's account, in their inbox."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.models import Account
from core.db import utcnow
from core.identity import User

from .delivery import plan_deliveries, store_messages
from .models import Notice, NoticeKind
from .services import resolve_recipients

DEMO_KEY = "demo:outage:1"


def seed_notices(session: Session) -> str:
    if session.scalar(select(Notice.id).where(Notice.dedupe_key == DEMO_KEY)) is not None:
        return "demo notice already there"
    account = session.scalar(select(Account).where(Account.account_no == "3301000001"))
    customer = session.scalar(select(User).where(User.username == "13800000000"))
    if account is None or customer is None or account.lat is None or account.lon is None:
        return "no demo customer account: skipped"
    lat, lon, d = account.lat, account.lon, 0.01
    start = (utcnow() + dt.timedelta(days=2)).replace(hour=0, minute=30, second=0, microsecond=0)  # 08:30 Shanghai
    notice = Notice(
        kind=NoticeKind.OUTAGE,
        title="计划停电通知",
        body="因线路检修，您所在区域将于 08:30 至 17:30 计划停电，请提前做好准备。给您带来不便，敬请谅解。",
        data={},
        area={
            "type": "Polygon",
            "coordinates": [
                [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]]
            ],
        },
        starts_at=start,
        ends_at=start + dt.timedelta(hours=9),
        dedupe_key=DEMO_KEY,
    )
    session.add(notice)
    session.flush()
    recipients = resolve_recipients(session, notice)
    users = sorted(set(recipients.user_ids) | {customer.id})
    notice.accounts, notice.recipients = len(recipients.account_ids), len(users)
    store_messages(session, notice.id, users)
    plan_deliveries(session, notice.id, users, utcnow())
    notice.fanned_out_at = utcnow()
    return f"a planned-outage notice for {notice.accounts} accounts is in the demo customer's inbox"
