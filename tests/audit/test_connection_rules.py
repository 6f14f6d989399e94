"""The business handling rules: applications worked through the services, then planted violations (a step left
out, a paper dated before the receipt, an account switched on without an application, one holder's connections
split under a threshold, a late step, a late hand-over); each plant gives exactly its finding, clean work none."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from archive.models import Handover
from audit.engine import Scope, run_rules
from audit.findings import get_scoped_finding, visible_findings
from audit.models import Finding
from audit.rules import RuleContext, all_rules
from billing.models import Account, MeterReading
from connections.commands import Apply, DoStep
from connections.models import Application, ApplicationStep
from connections.services import apply, complete_step, resume
from core import clock, trail, workdays
from core.errors import NotFound
from core.identity import Role, create_user
from tests.billing.support import add_tariffs
from tests.support import PASSWORD, make_account, seed_demo

KEY = "test-id-hash-key"
CONNECTIONS = [r for r in all_rules() if r.area == "connections"]
TODAY = clock.today_local()
FIELDS: dict[str, dict[str, Any]] = {
    "site_survey": {"findings": "具备供电条件"},
    "supply_plan": {"voltage": "10kV", "source_count": 1, "metering": "high_supply_high_metering"},
    "design_review": {"result": "passed"},
    "interim_check": {"result": "passed"},
    "completion_check": {"result": "passed"},
    "contract": {"contract_no": "GY-1"},
    "connection": {"meter_no": "DB-1", "tariff_code": "ZJ-GEN-FLAT"},
}


@pytest.fixture(autouse=True)
def tariffs(world: Any, session: Any) -> None:
    """The tariffs a new connection is put on (the connection step refuses an unknown one)."""
    add_tariffs(session)
    session.commit()


def ctx(**settings: Any) -> RuleContext:
    return RuleContext(today=TODAY, settings=settings)


def findings(session, rule: str | None = None) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {(f.rule, f.subject) for f in session.scalars(select(Finding)) if rule is None or f.rule == rule}


def audit(session, context: RuleContext | None = None) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    session.commit()
    run_rules(session, Scope(), context or ctx(), rules=CONNECTIONS)
    session.commit()
    return findings(session)


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def new_application(session, world, received_on: dt.date, **data: Any) -> Application:  # type: ignore[no-untyped-def]
    body: dict[str, Any] = {
        "type": "new_lv_business",
        "applicant": {"name": "李建国", "phone": "13900000031", "id_last4": "2468"},
        "site": {"address": "拱墅区湖墅南路 200 号", "lat": 30.30, "lon": 120.15},
        "capacity_kva": "40",
        "category": "general",
    }
    body.update(data)
    return apply(
        session,
        world.users["clerk"],
        Apply.parse(body),
        id_hash_key=KEY,
        received_at=clock.at_local(received_on, dt.time(9, 0)),
    )


def change(session, world, received_on: dt.date, kind: str, capacity: str) -> Application:  # type: ignore[no-untyped-def]
    """A capacity change of the world's own account (张伟's 8 kVA home)."""
    body = {
        "type": kind,
        "account_no": world.own_account.account_no,
        "applicant": {"name": "张伟", "phone": "13900000001", "id_last4": "1234"},
        "capacity_kva": capacity,
    }
    at = clock.at_local(received_on, dt.time(9, 0))
    return apply(session, world.users["clerk"], Apply.parse(body), id_hash_key=KEY, received_at=at)


def work(session, world, application: Application, days: list[int], fields: dict[str, Any] | None = None) -> None:  # type: ignore[no-untyped-def]
    """Do the next steps, each ``days[i]`` working days after the previous one (the receipt for the first)."""
    day = application.received_on
    for step_days in days:
        step = application.current_step
        assert step is not None
        day = workdays.add(day, step_days)
        assert day <= TODAY, "a test works steps in the past only"
        body = {**FIELDS.get(step, {}), **(fields or {}).get(step, {})}
        if step == "connection" and application.type not in {"new_lv_business", "new_lv_residential"}:
            body.setdefault("tariff_code", "ZJ-GEN-FLAT") if application.account_id is None else None
        if step == "supply_plan":
            body["capacity_kva"] = str(application.capacity_kva)
        complete_step(
            session,
            world.users["clerk"],
            application,
            step,
            DoStep.parse({"outcome": "done", "fields": body}),
            at=clock.at_local(day, dt.time(10, 0)),
        )


def connected(session, world, received_on: dt.date, **data: Any) -> Application:  # type: ignore[no-untyped-def]
    """A low-voltage business connection done on time (1, 4, 10 working days)."""
    application = new_application(session, world, received_on, **data)
    work(session, world, application, [1, 2, 3])
    return application


def step_row(application: Application, name: str) -> ApplicationStep:
    return next(s for s in application.steps if s.step == name)


def test_every_connection_rule_is_here() -> None:
    assert {r.code for r in CONNECTIONS} == {
        "YK-PROCESS",
        "YK-OFF-SYSTEM",
        "YK-SPLIT",
        "YK-STEP-LATE",
        "YK-APPLICATION-LATE",
        "YK-HANDOVER-LATE",
    }


def test_work_done_through_the_system_on_time_gives_no_findings(session, world) -> None:
    connected(session, world, workdays.add(days_ago(60), 0))
    increase = change(session, world, workdays.add(days_ago(60), 0), "capacity_increase", "16")
    work(session, world, increase, [1, 3, 10, 5, 5, 5])
    assert increase.status == "completed"
    assert audit(session) == set()


# --- 不走流程 ---------------------------------------------------------------------------------------------------------


def test_a_step_left_out_is_one_finding(session, world) -> None:
    application = connected(session, world, workdays.add(days_ago(40), 0))
    step_row(application, "site_survey").done_on = None
    assert audit(session) == {("YK-PROCESS", f"application:{application.application_no}:site_survey")}
    assert session.scalar(select(Finding.evidence))["problem"] == "skipped"


def test_a_step_done_before_its_predecessor_is_one_finding(session, world) -> None:
    application = connected(session, world, workdays.add(days_ago(40), 0))
    survey = step_row(application, "site_survey")
    survey.done_on = application.received_on  # the acceptance was done the day after
    assert audit(session) == {("YK-PROCESS", f"application:{application.application_no}:site_survey")}
    assert session.scalar(select(Finding.evidence))["problem"] == "done_before_predecessor"


def test_a_connection_without_a_passed_completion_check_is_one_finding(session, world) -> None:
    application = new_application(
        session, world, workdays.add(days_ago(150), 0), type="new_hv_single", capacity_kva="200"
    )
    work(session, world, application, [1, 3, 15, 5, 3, 5, 5, 5])
    assert application.current_step == "archiving"
    audit(session)
    assert findings(session, "YK-PROCESS") == set()
    check = step_row(application, "completion_check")
    check.fields = {**(check.fields or {}), "result": "failed"}
    session.commit()
    assert findings(session.expire_all() or session, "YK-PROCESS") == set()
    audit(session)
    assert findings(session, "YK-PROCESS") == {
        ("YK-PROCESS", f"application:{application.application_no}:completion_check")
    }
    evidence = session.scalar(select(Finding.evidence).where(Finding.rule == "YK-PROCESS"))
    assert evidence["problem"] == "connected_without_passed_check"


def test_a_paper_dated_before_the_receipt_is_one_finding(session, world) -> None:
    from archive.models import Document, DocumentEvent
    from connections.papers import file_papers

    application = connected(session, world, workdays.add(days_ago(40), 0))
    file_papers(session, application)
    assert audit(session) == set()
    paper = session.scalar(select(Document).where(Document.document_no.like(f"{application.application_no}-%")))
    earlier = (application.received_on - dt.timedelta(days=3)).isoformat()
    session.add(
        DocumentEvent(
            document_id=paper.id,
            kind="corrected",
            changes={"formed_on": {"from": paper.formed_on.isoformat(), "to": earlier}},
            reason="补录",
            authorised_by="档案室主任",
        )
    )
    assert audit(session) == {("YK-PROCESS", f"document:{paper.id}")}


# --- time limits ------------------------------------------------------------------------------------------------


def test_a_step_done_after_its_limit_in_working_days_is_late(session, world) -> None:
    received = workdays.add(days_ago(40), 0)
    application = new_application(session, world, received)
    work(session, world, application, [1, 5, 3])  # the survey's limit is 4 working days
    assert audit(session) == {("YK-STEP-LATE", f"application:{application.application_no}:site_survey")}
    evidence = session.scalar(select(Finding.evidence))
    assert evidence["working_days"] == 5 and evidence["allowed_days"] == 4


def test_working_days_skip_the_holidays(session, world) -> None:
    """The working days are China's: a step of 4 working days done on the 4th counts no holiday or weekend."""
    received = workdays.add(days_ago(40), 0)
    application = new_application(session, world, received)
    work(session, world, application, [1, 4, 10])
    survey = step_row(application, "site_survey")
    acceptance = step_row(application, "acceptance")
    assert acceptance.done_on and survey.done_on
    assert workdays.count(acceptance.done_on, survey.done_on) == 4
    assert audit(session) == set()


def test_the_clock_stops_while_the_customer_owes_papers(session, world) -> None:
    received = workdays.add(days_ago(40), 0)
    application = new_application(session, world, received)
    work(session, world, application, [1])
    returned_on = workdays.add(application.received_on, 2)
    complete_step(
        session,
        world.users["clerk"],
        application,
        "site_survey",
        DoStep.parse({"outcome": "returned", "fields": {"note": "请补充产权证明"}}),
        at=clock.at_local(returned_on, dt.time(10, 0)),
    )
    resume(session, world.users["clerk"], application, at=clock.at_local(workdays.add(returned_on, 6), dt.time(9)))
    assert step_row(application, "site_survey").waited_days == 6
    day = workdays.add(returned_on, 6 + 1)
    complete_step(
        session,
        world.users["clerk"],
        application,
        "site_survey",
        DoStep.parse({"outcome": "done", "fields": FIELDS["site_survey"]}),
        at=clock.at_local(day, dt.time(10, 0)),
    )
    # the survey took 7 working days with 6 waited: on time; the connection step still open since is not
    no = application.application_no
    assert audit(session) == {
        ("YK-STEP-LATE", f"application:{no}:connection"),
        ("YK-APPLICATION-LATE", f"application:{no}"),
    }


def test_an_open_step_past_its_due_date_and_the_application_are_late(session, world) -> None:
    received = workdays.add(days_ago(30), 0)
    increase = change(session, world, received, "capacity_reduction", "4")
    no = increase.application_no
    late = {("YK-STEP-LATE", f"application:{no}:acceptance"), ("YK-APPLICATION-LATE", f"application:{no}")}
    assert audit(session) == late
    assert all(f.evidence["open"] for f in session.scalars(select(Finding)))


def test_a_low_voltage_connection_over_its_published_total_is_late(session, world) -> None:
    received = workdays.add(days_ago(40), 0)
    application = new_application(
        session, world, received, type="new_lv_residential", capacity_kva="8", category="residential"
    )
    work(session, world, application, [1, 2, 3])  # 6 working days against 5
    no = application.application_no
    late = {("YK-APPLICATION-LATE", f"application:{no}"), ("YK-STEP-LATE", f"application:{no}:connection")}
    assert audit(session) == late


# --- a new connection before its account exists ------------------------------------------------------------------


def test_an_overdue_new_connection_without_an_account_is_one_finding_of_each_rule_in_its_unit(session, world) -> None:
    application = new_application(session, world, workdays.add(days_ago(40), 0))
    work(session, world, application, [1, 2])
    step_row(application, "site_survey").done_on = application.received_on  # before the acceptance
    assert application.account_id is None and application.current_step == "connection"
    no = application.application_no
    planted = {
        ("YK-PROCESS", f"application:{no}:site_survey"),
        ("YK-STEP-LATE", f"application:{no}:connection"),
        ("YK-APPLICATION-LATE", f"application:{no}"),
    }
    assert audit(session) == planted
    rows = session.scalars(select(Finding)).all()
    assert {(f.account_id, f.unit_id) for f in rows} == {(None, world.unit_a.id)}
    assert all(f.evidence["application_no"] == no and "account_no" not in f.evidence for f in rows)

    supervisor_b = create_user(session, "supervisor-b", PASSWORD, Role.SUPERVISOR, world.unit_b)
    session.commit()
    seen = {f.id for f in session.scalars(visible_findings(world.users["supervisor"]))}
    assert seen == {f.id for f in rows}
    assert list(session.scalars(visible_findings(supervisor_b))) == []
    assert list(session.scalars(visible_findings(world.users["customer"]))) == []
    with pytest.raises(NotFound):
        get_scoped_finding(session, supervisor_b, rows[0].id)


def test_a_unit_run_judges_the_new_connections_of_its_units_and_an_account_run_none(session, world) -> None:
    application = new_application(session, world, workdays.add(days_ago(40), 0))
    work(session, world, application, [1])
    session.commit()
    for scope in (Scope(unit_path=world.unit_b.path), Scope(account_nos=(world.own_account.account_no,))):
        run_rules(session, scope, ctx(), rules=CONNECTIONS)
        assert findings(session) == set()
    run_rules(session, Scope(unit_path=world.unit_a.path), ctx(), rules=CONNECTIONS)
    assert {f.rule for f in session.scalars(select(Finding))} == {"YK-STEP-LATE", "YK-APPLICATION-LATE"}
    application.status, application.withdrawn_on = "withdrawn", TODAY
    session.commit()
    run_rules(session, Scope(unit_path=world.unit_b.path), ctx(), rules=CONNECTIONS)
    assert {f.status for f in session.scalars(select(Finding))} == {"open"}  # another unit's run leaves them be
    run_rules(session, Scope(unit_path=world.unit_a.path), ctx(), rules=CONNECTIONS)
    assert {f.status for f in session.scalars(select(Finding))} == {"remediated"}


def test_a_new_connection_keeps_its_findings_when_its_account_is_opened(session, world) -> None:
    application = new_application(session, world, workdays.add(days_ago(40), 0))
    work(session, world, application, [1, 2])
    step_row(application, "site_survey").done_on = application.received_on
    before = audit(session)
    ids = {(f.rule, f.subject): f.id for f in session.scalars(select(Finding))}
    complete_step(  # the connection opens the account, today: late
        session,
        world.users["clerk"],
        application,
        "connection",
        DoStep.parse({"outcome": "done", "fields": FIELDS["connection"]}),
        at=clock.now_local(),
    )
    assert application.account_id is not None and application.status == "completed"
    assert audit(session) == before
    after = session.scalars(select(Finding)).all()
    assert {(f.rule, f.subject): f.id for f in after} == ids
    account = session.get(Account, application.account_id)
    assert {(f.account_id, f.unit_id, f.status) for f in after} == {(account.id, account.unit_id, "open")}
    assert {f.evidence["account_no"] for f in after} == {account.account_no}


def test_a_withdrawn_new_connection_without_an_account_is_not_judged(session, world) -> None:
    application = new_application(session, world, workdays.add(days_ago(40), 0))
    work(session, world, application, [1])
    no = application.application_no
    assert audit(session) == {
        ("YK-STEP-LATE", f"application:{no}:site_survey"),
        ("YK-APPLICATION-LATE", f"application:{no}"),
    }
    application.status, application.withdrawn_on = "withdrawn", TODAY  # the applicant withdrew it
    audit(session)
    assert {f.status for f in session.scalars(select(Finding))} == {"remediated"}


# --- 体外循环 -------------------------------------------------------------------------------------------------------


def test_an_account_connected_without_an_application_is_one_finding(session, world) -> None:
    make_account(session, "3309990001", world.unit_a, holder_name="赵体外", capacity_kva=Decimal(100),
                 category="general", connected_on=days_ago(30))  # fmt: skip
    make_account(session, "3309990002", world.unit_a, holder_name="钱老户", connected_on=days_ago(3000))
    cut = ctx(CONNECTIONS_CUTOVER_DATE=days_ago(60).isoformat())
    assert audit(session, cut) == {("YK-OFF-SYSTEM", "account:3309990001")}
    assert session.scalar(select(Finding.evidence))["problem"] == "connected_without_application"


def test_the_cutover_defaults_to_the_start_of_the_records(session, world) -> None:
    """No application yet: the records begin with the first trail entry (today's world), so an account connected
    last month is legacy; an application received two months ago moves the start back and the account is not."""
    make_account(session, "3309990001", world.unit_a, holder_name="赵体外", connected_on=days_ago(30))
    assert audit(session) == set()
    new_application(session, world, days_ago(60))
    assert ("YK-OFF-SYSTEM", "account:3309990001") in audit(session)


def test_a_first_reading_without_an_application_is_one_finding(session, world) -> None:
    account = make_account(session, "3309990003", world.unit_a, holder_name="孙读数", connected_on=None)
    session.add(MeterReading(account_id=account.id, period=f"{TODAY:%Y-%m}", reading=Decimal(120)))
    cut = ctx(CONNECTIONS_CUTOVER_DATE=days_ago(60).isoformat())
    assert audit(session, cut) == {("YK-OFF-SYSTEM", "account:3309990003")}
    assert session.scalar(select(Finding.evidence))["problem"] == "read_without_application"


def test_a_change_without_an_application_is_one_finding(session, world) -> None:
    account = world.own_account
    before = {"account_no": account.account_no, "holder_name": account.holder_name, "capacity_kva": "8.00"}
    after = {**before, "capacity_kva": "80.00"}
    event = trail.record(
        session, actor_id=None, action="account.changed", entity="account", entity_id=account.account_no,
        before=before, after=after,
    )  # fmt: skip
    account.capacity_kva = Decimal(80)
    assert audit(session) == {("YK-OFF-SYSTEM", f"trail:{event.id}")}
    assert session.scalar(select(Finding.evidence))["changed"] == "capacity_kva"


def test_a_change_behind_the_trail_is_one_finding(session, world) -> None:
    session.execute(update(Account).where(Account.id == world.foreign_account.id).values(holder_name="王五"))
    assert audit(session) == {("YK-OFF-SYSTEM", "account:2000000001:row")}


def test_an_application_registered_after_the_connection_is_one_finding(session, world) -> None:
    application = connected(session, world, workdays.add(days_ago(40), 0))
    account = session.get(Account, application.account_id)
    account.connected_on = application.received_on - dt.timedelta(days=5)
    assert audit(session) == {("YK-OFF-SYSTEM", f"application:{application.application_no}")}


# --- 拆分容量 -------------------------------------------------------------------------------------------------------


def _site(n: int, dlat: float = 0.0) -> dict[str, Any]:
    return {"address": f"拱墅区湖墅南路 {200 + n} 号", "lat": 30.30 + dlat, "lon": 120.15 + n * 0.0002}


def test_one_holders_connections_split_under_a_threshold_are_one_finding(session, world) -> None:
    first = connected(session, world, workdays.add(days_ago(70), 0), site=_site(0))
    second = connected(session, world, workdays.add(days_ago(40), 0), site=_site(1))
    third = connected(session, world, workdays.add(days_ago(30), 0), site=_site(2))
    assert audit(session) == {("YK-SPLIT", f"split:application:{first.application_no}")}
    evidence = session.scalar(select(Finding.evidence))
    assert evidence["members"] == ",".join(a.application_no for a in (first, second, third))
    assert evidence["member_count"] == 3 and Decimal(evidence["total_kva"]) == 120
    assert evidence["threshold_kva"] == 50


def test_different_holders_at_one_address_or_next_door_are_a_split(session, world) -> None:
    first = connected(session, world, workdays.add(days_ago(70), 0), site=_site(0))
    other = {"name": "李建民", "phone": "13900000032", "id_last4": "1357"}
    connected(session, world, workdays.add(days_ago(40), 0), site=_site(0), applicant=other)
    far = {"name": "周远", "phone": "13900000033", "id_last4": "9753"}
    connected(session, world, workdays.add(days_ago(40), 0), site=_site(5, dlat=0.01), applicant=far)
    assert audit(session) == {("YK-SPLIT", f"split:application:{first.application_no}")}
    near = {"name": "吴近", "phone": "13900000034", "id_last4": "8642"}
    # 50 m north of the first: a third member of its group, not a second group
    connected(session, world, workdays.add(days_ago(20), 0), site=_site(3, dlat=0.00045), applicant=near)
    assert audit(session) == {("YK-SPLIT", f"split:application:{first.application_no}")}
    assert session.scalar(select(Finding.evidence))["member_count"] == 3


@pytest.mark.parametrize(
    ("capacities", "gap_days", "category", "found"),
    [
        (("40", "40"), 30, "general", True),
        (("20", "20"), 30, "general", False),  # together still under 50
        (("40", "40"), 400, "general", False),  # outside the window
        (("200", "200"), 30, "large_industrial", True),  # the 315 threshold
        (("60", "300"), 30, "general", True),  # the 315 threshold, 60 is over 50
    ],
)
def test_split_thresholds_and_window(session, world, capacities, gap_days, category, found) -> None:  # type: ignore[no-untyped-def]
    start = workdays.add(days_ago(gap_days + 40), 0)
    first = new_application(session, world, start, capacity_kva=capacities[0], category=category, site=_site(0))
    work(session, world, first, [1, 2, 3])
    second = new_application(
        session, world, workdays.add(days_ago(30), 0), capacity_kva=capacities[1], category=category, site=_site(1)
    )
    work(session, world, second, [1, 2, 3])
    expected = {("YK-SPLIT", f"split:application:{first.application_no}")} if found else set()
    assert findings(session.flush() or session, "YK-SPLIT") == set()
    audit(session)
    assert findings(session, "YK-SPLIT") == expected


def test_neighbours_homes_are_no_split_but_one_holders_legacy_accounts_are(session, world) -> None:
    for n in range(3):
        make_account(session, f"33080000{n:02d}", world.unit_a, holder_name=f"邻居{n}", id_last4=f"{n:04d}",
                     address="西湖区文三路 88 号", connected_on=days_ago(100 + n))  # fmt: skip
    for n in range(2):
        make_account(session, f"33070000{n:02d}", world.unit_a, holder_name="冯商户", id_last4="4321",
                     category="general", capacity_kva=Decimal(30), address=f"下城区中山北路 {n} 号",
                     connected_on=days_ago(200 - n * 30))  # fmt: skip
    assert audit(session) == {("YK-SPLIT", "split:account:3307000000")}


# --- the large dossier's hand-over ------------------------------------------------------------------------------


def test_a_large_dossier_handed_over_late_is_one_finding_whatever_it_holds_now(session, world) -> None:
    late = make_account(session, "3306000001", world.unit_a, capacity_kva=Decimal(400), connected_on=days_ago(200))
    on_time = make_account(session, "3306000002", world.unit_a, capacity_kva=Decimal(400), connected_on=days_ago(200))
    for account, after in ((late, 120), (on_time, 20)):
        session.add(Handover(account_no=account.account_no, from_department="市场拓展部", to_department="营销部",
                             handed_over_on=days_ago(200 - after), handed_by="甲",
                             received_by="乙", item_count=9))  # fmt: skip
    assert audit(session) == {("YK-HANDOVER-LATE", "account:3306000001:handover")}
    evidence = session.scalar(select(Finding.evidence))
    assert evidence["days_to_handover"] == 120 and evidence["source"] == "handover_record"


def test_the_archiving_steps_handover_date_is_judged(session, world) -> None:
    application = new_application(
        session, world, workdays.add(days_ago(200), 0), type="new_hv_single", capacity_kva="400",
        category="large_industrial",
    )  # fmt: skip
    work(session, world, application, [1, 3, 15, 5, 3, 5, 5, 5])
    account = session.get(Account, application.account_id)
    assert account is not None and account.connected_on is not None
    subject = ("YK-HANDOVER-LATE", f"account:{account.account_no}:handover")
    assert subject in audit(session)  # connected months ago, archiving still open
    assert session.scalar(select(Finding.evidence).where(Finding.rule == "YK-HANDOVER-LATE"))["source"] is None
    handed = account.connected_on + dt.timedelta(days=45)
    work(session, world, application, [1], {"archiving": {"handed_over_on": handed.isoformat()}})
    audit(session)
    finding = session.scalar(select(Finding).where(Finding.rule == "YK-HANDOVER-LATE"))
    assert finding.status == "open" and finding.evidence["days_to_handover"] == 45
    assert finding.evidence["source"] == "archiving_step"


# --- the demo -----------------------------------------------------------------------------------------------------


def test_the_demos_planted_splits_off_system_connections_and_swapped_steps_are_one_finding_each(app, session) -> None:
    result = seed_demo(app)
    assert result.exit_code == 0, result.output
    session.rollback()
    found = findings(session)
    assert sorted(s for r, s in found if r == "YK-OFF-SYSTEM") == ["account:3309990001", "account:3309990002"]
    groups = session.scalars(select(Finding.evidence).where(Finding.rule == "YK-SPLIT")).all()
    holders = []
    for evidence in groups:
        names = set(session.scalars(select(Application.applicant_name).where(
            Application.application_no.in_(evidence["members"].split(","))
        )))  # fmt: skip
        assert len(names) == 1 and evidence["member_count"] == 2, evidence
        holders += names
    assert sorted(holders) == sorted(["李建国", "王建军"])  # one finding for each planted pair
    swapped = [s for r, s in found if r == "YK-PROCESS"]
    assert len(swapped) == 2 and all(s.endswith(":execution") for s in swapped), swapped
