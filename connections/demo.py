"""Demo applications: the demo customer's capacity increase under way, a completed new connection and a
suspension waiting for the customer; the clerk's queue with applications in every state, a few overdue (one a new
connection that has no account yet, which the audit finds late all the same); one
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
from core.scope import of_unit

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
    # the clerk's queue: a high-voltage connection overdue at its supply plan (it has no account yet: the audit
    # finds it late all the same), a shop's connection due soon, one waiting
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
        workdays.add(today, 0) - dt.timedelta(days=3),
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
    # capacity splits: one holder, two shops next door a month apart, each under 50 kVA and over it together
    for holder, (name, last4, kva, street) in enumerate(
        (("李建国", "2468", "40", "湖墅南路"), ("王建军", "1357", "30", "莫干山路"))
    ):
        for n, days_ago in enumerate((70, 40)):
            split = _apply(
                session,
                clerk,
                {
                    "type": "new_lv_business",
                    "applicant": {"name": name, "phone": f"139000000{31 + holder}", "id_last4": last4},
                    "site": {
                        "address": f"拱墅区{street} {200 + n} 号",
                        "lat": lat + 0.02 + holder * 0.01,
                        "lon": lon + 0.02 + n * 0.0002,
                    },
                    "capacity_kva": kva,
                    "category": "general",
                    "unit_code": unit_code,
                },
                today - dt.timedelta(days=days_ago),
            )
            _work(session, clerk, split, 3, split.received_on, 10 + 2 * holder + n)
            made += 1
    made += _late_and_out_of_order(session, clerk, unit, today)
    made += _late_handover(session, clerk, unit_code, lat, lon, today)
    # off-system connections: accounts switched on last month with no application behind them
    for off_system_no, off_system_holder in (("3309990001", "赵体外"), ("3309990002", "钱体外")):
        _off_system(session, unit_code, off_system_no, off_system_holder, lat, lon, today)
    return f"{made} applications, some overdue and out of order, two capacity splits, two off-system connections"


def _off_system(
    session: Session, unit_code: str | None, number: str, holder: str, lat: float, lon: float, today: dt.date
) -> None:
    off_system = {
        "account_no": number,
        "holder_name": holder,
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


def _late_handover(session: Session, clerk: User, unit_code: str | None, lat: float, lon: float, today: dt.date) -> int:
    """A 800 kVA factory connected months ago whose dossier was handed over six weeks after the connection."""
    factory = _apply(
        session,
        clerk,
        {
            "type": "new_hv_single",
            "applicant": {
                "name": "杭州江南纺织有限公司",
                "phone": "0571-88000002",
                "credit_code": "91330100MA2C4D6E8F",
            },
            "site": {"address": "萧山区经济开发区 18 号", "lat": lat - 0.03, "lon": lon - 0.02},
            "capacity_kva": "800",
            "category": "large_industrial",
            "unit_code": unit_code,
        },
        today - dt.timedelta(days=200),
    )
    _work(session, clerk, factory, 8, factory.received_on, 60)
    connected = next(s.done_on for s in factory.steps if s.step == "connection")
    assert connected is not None
    handed_over = connected + dt.timedelta(days=45)
    fields = {"handed_over_on": handed_over.isoformat()}
    at = clock.at_local(handed_over, dt.time(10, 0))
    complete_step(session, clerk, factory, "archiving", DoStep.parse({"outcome": "done", "fields": fields}), at=at)
    return 1


def _late_and_out_of_order(session: Session, clerk: User, unit: Unit | None, today: dt.date) -> int:
    """Two capacity reductions of the unit's accounts, one accepted days late, both now overdue at their survey; two
    name changes taken over from the old system with their steps' dates the wrong way round (不走流程)."""
    if unit is None:
        return 0
    accounts = session.scalars(
        select(Account)
        .where(of_unit(unit.id, Account.unit_id))
        .where(Account.account_no.not_in(["3301000001", "3301000002"]), Account.status == "active")
        .where(Account.capacity_kva > 4)
        .order_by(Account.account_no)
        .limit(4)
    ).all()
    made = 0
    for n, account in enumerate(accounts):
        body = {
            "account_no": account.account_no,
            "applicant": {"name": account.holder_name, "phone": f"1370000{n:04d}", "id_last4": "0000"},
        }
        received = today - dt.timedelta(days=30)
        if n < 2:
            late = _apply(session, clerk, {**body, "type": "capacity_reduction", "capacity_kva": "4"}, received)
            # the first accepted five working days past its limit, the second on its day
            done = clock.at_local(workdays.add(received, 6 if n == 0 else 0), dt.time(10, 0))
            complete_step(session, clerk, late, "acceptance", DoStep.parse({"outcome": "done"}), at=done)
        else:
            renamed = _apply(
                session,
                clerk,
                {**body, "type": "name_change", "new_holder_name": f"{account.holder_name}（更名）"},
                received,
            )
            _work(session, clerk, renamed, 2, received, 40 + n)
            first, second = sorted(renamed.steps, key=lambda s: s.position)
            # executed on the day it came in, accepted (on time) the next working day
            first.done_on, second.done_on = workdays.add(received, 1), received
        made += 1
    return made
