"""Demo applications: the demo customer's capacity increase under way, a completed new connection and a
suspension waiting for the customer; the clerk's queue with applications in every state, a few overdue; one
capacity-split pair (two 40 kVA connections of one holder a month apart) and one off-system connection (an account
connected last month with no application behind it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.accounts import create_account
from billing.models import Account
from billing.reading_books import place_on_a_book
from core import clock, workdays
from core.identity import Unit, User

from . import flows
from .commands import Apply, DoStep, Rate
from .models import Application
from .services import apply, complete_step, rate, withdraw

DEMO_CUSTOMER = "13800000000"
DEMO_ACCOUNT = "3301000001"
STEP_FIELDS: dict[str, dict[str, Any]] = {
    "site_survey": {"findings": "现场具备供电条件，就近 10kV 线路可接入"},
    "supply_plan": {"voltage": "10kV", "source_count": 1, "metering": "high_supply_high_metering"},
    "design_review": {"result": "passed"},
    "interim_check": {"result": "passed"},
    "completion_check": {"result": "passed"},
    "contract": {"contract_no": "GY-2026-0001"},
    "connection": {"meter_no": "DB-880001"},
}


def _fields(application: Application, step: str, n: int) -> dict[str, Any]:
    fields = dict(STEP_FIELDS.get(step, {}))
    if step == "supply_plan":
        fields["capacity_kva"] = str(application.capacity_kva or 400)
        if application.type == "new_hv_dual":
            fields["source_count"] = 2
    if step == "contract":
        fields["contract_no"] = f"GY-2026-{n:04d}"
    if step == "connection":
        fields["meter_no"] = f"DB-88{n:04d}"
        if application.type in flows.NEW_CONNECTIONS:
            fields["tariff_code"] = {"residential": "ZJ-RES-TIER", "large_industrial": "ZJ-LI-TOU"}.get(
                application.category or "", "ZJ-GEN-FLAT"
            )
    return fields


def _work(session: Session, clerk: User, application: Application, steps: int, start: dt.date, n: int) -> None:
    """Do the application's first ``steps`` steps, each on the working day its limit allows at the latest."""
    day = start
    for _ in range(steps):
        step = application.current_step
        assert step is not None
        limit = next(s.limit_days for s in application.steps if s.step == step)
        day = workdays.add(day, max(0, limit - 1))
        at = clock.at_local(day, dt.time(10, 0))
        complete_step(
            session,
            clerk,
            application,
            step,
            DoStep.parse({"outcome": "done", "fields": _fields(application, step, n)}),
            at=at,
        )


def _apply(session: Session, actor: User, data: dict[str, Any], received_on: dt.date) -> Application:
    key = current_app.config["ID_HASH_KEY"]
    return apply(
        session, actor, Apply.parse(data), id_hash_key=key, received_at=clock.at_local(received_on, dt.time(9, 0))
    )


def _person(name: str, phone: str, last4: str = "1234") -> dict[str, str]:
    return {"name": name, "phone": phone, "id_last4": last4}


def seed_applications(session: Session) -> str:
    if session.scalar(select(func.count()).select_from(Application)):
        return "demo applications already there"
    customer = session.scalar(select(User).where(User.username == DEMO_CUSTOMER))
    clerk = session.scalar(select(User).where(User.username == "clerk"))
    account = session.scalar(select(Account).where(Account.account_no == DEMO_ACCOUNT))
    if customer is None or clerk is None or account is None or clerk.unit_id is None:
        return "no demo customer account: skipped"
    today = clock.today_local()
    lat, lon = account.lat or 30.25, account.lon or 120.16
    made = 0
    # the demo customer: a capacity increase worked up to the supply plan
    increase = _apply(
        session,
        customer,
        {
            "type": "capacity_increase",
            "account_no": DEMO_ACCOUNT,
            "applicant": _person(account.holder_name, DEMO_CUSTOMER),
            "capacity_kva": str(account.capacity_kva + 10),
            "note": "家里新装了空调和电动汽车充电桩",
        },
        workdays.add(today, 0) - dt.timedelta(days=5),
    )
    _work(session, clerk, increase, 2, increase.received_on, 1)
    # a new residential connection done last month, rated
    site = {"address": "西湖区文三路 88 号 2 幢 301 室", "lat": lat + 0.002, "lon": lon + 0.002}
    home: dict[str, Any] = {
        "type": "new_lv_residential",
        "applicant": _person(account.holder_name, DEMO_CUSTOMER),
        "site": site,
        "capacity_kva": "8",
        "category": "residential",
    }
    done = _apply(session, customer, home, today - dt.timedelta(days=40))
    _work(session, clerk, done, 3, done.received_on, 2)
    rate(session, customer, done, Rate.parse({"score": 5, "comment": "办电很快，服务周到"}))
    withdrawn = _apply(session, customer, {**home, "site": {**site, "address": "西湖区文三路 90 号"}}, today)
    withdraw(session, customer, withdrawn)
    made += 3
    # the clerk's queue: a high-voltage connection overdue at its supply plan, one due soon, one waiting
    unit = session.get(Unit, account.unit_id)  # the demo account's station: it has reading books
    unit_code = unit.code if unit else None
    hv = _apply(
        session,
        clerk,
        {
            "type": "new_hv_single",
            "applicant": {
                "name": "杭州明远机械有限公司",
                "phone": "0571-88000001",
                "credit_code": "91330100MA2B3C4D5E",
            },
            "site": {"address": "余杭区良渚工业园 6 号", "lat": lat - 0.01, "lon": lon - 0.01},
            "capacity_kva": "630",
            "category": "large_industrial",
            "unit_code": unit_code,
        },
        today - dt.timedelta(days=40),
    )
    _work(session, clerk, hv, 2, hv.received_on, 3)
    shop = _apply(
        session,
        clerk,
        {
            "type": "new_lv_business",
            "applicant": {"name": "王记餐饮店", "phone": "13900000021", "id_last4": "5678"},
            "site": {"address": "上城区清河坊街 12 号", "lat": lat + 0.004, "lon": lon - 0.003},
            "capacity_kva": "30",
            "category": "general",
            "unit_code": unit_code,
        },
        workdays.add(today, 0) - dt.timedelta(days=14),
    )
    _work(session, clerk, shop, 1, shop.received_on, 4)
    # the new home's holder asks to suspend it; the clerk wants the property proof first (the clock stops)
    new_home = session.get(Account, done.account_id)
    assert new_home is not None
    waiting = _apply(
        session,
        customer,
        {"type": "suspension", "account_no": new_home.account_no, "applicant": home["applicant"]},
        today - dt.timedelta(days=3),
    )
    complete_step(
        session,
        clerk,
        waiting,
        "acceptance",
        DoStep.parse({"outcome": "returned", "fields": {"note": "请上传房屋产权证明"}}),
        at=clock.at_local(today - dt.timedelta(days=2), dt.time(10, 0)),
    )
    made += 3
    # a capacity split: one holder, two 40 kVA shops next door, a month apart (80 kVA together, over 50)
    for n, days_ago in enumerate((70, 40)):
        split = _apply(
            session,
            clerk,
            {
                "type": "new_lv_business",
                "applicant": {"name": "李建国", "phone": "13900000031", "id_last4": "2468"},
                "site": {"address": f"拱墅区湖墅南路 {200 + n} 号", "lat": lat + 0.02, "lon": lon + 0.02 + n * 0.0002},
                "capacity_kva": "40",
                "category": "general",
                "unit_code": unit_code,
            },
            today - dt.timedelta(days=days_ago),
        )
        _work(session, clerk, split, 3, split.received_on, 10 + n)
        made += 1
    # an off-system connection: an account switched on last month with no application behind it
    off_system = {
        "account_no": "3309990001",
        "holder_name": "赵体外",
        "id_last4": "1357",
        "address": "滨江区江南大道 500 号",
        "lat": lat - 0.02,
        "lon": lon + 0.03,
        "category": "general",
        "capacity_kva": "100",
        "tariff_code": "ZJ-GEN-FLAT",
        "unit_code": unit_code,
        "connected_on": (today - dt.timedelta(days=30)).isoformat(),
    }
    if unit_code and session.scalar(select(Account.id).where(Account.account_no == off_system["account_no"])) is None:
        placed = create_account(session, off_system, id_hash_key=current_app.config["ID_HASH_KEY"], actor=None)
        place_on_a_book(session, placed)
    return f"{made} applications, one overdue, one capacity split, one off-system connection"
