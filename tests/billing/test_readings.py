"""Readings are checked before they bill; held ones wait for a second person; meter changes are respected."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from billing.bills import record_reading
from billing.commands import RecordMeterChange, ReviewReading
from billing.models import Bill, MeterReading
from billing.reading_checks import CODES, CheckLimits, Facts, limits_from, run_checks
from billing.readings import record_meter_change, review_reading
from billing.run import run_period
from billing.topics import BILLS_ISSUED
from core.db import db
from core.errors import Conflict, Forbidden, InvalidInput, Problem
from core.trail import TrailEvent
from notifications.models import Notice
from tests.billing.support import add_tariffs, bill_with

LIMITS = CheckLimits()  # the defaults: spike/drop 3x, 6 months, 3 bills of history, 50 kWh, category hours


def _history(session, account, months: int, kwh: int, *, end: str = "2026-10", last: int | None = None) -> None:
    """``months`` bills of ``kwh`` each up to ``end``, the last reading ending at ``last`` when given."""
    year, month = (int(p) for p in end.split("-"))
    periods = []
    for _ in range(months):
        periods.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    start = 0 if last is None else last - months * kwh
    for period in reversed(periods):
        bill_with(session, account, period, kwh, start=start)


def _count(session, model, *where) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _facts(kwh: str, *, recent=(), last_year: str | None = None, capacity: str = "8", category: str = "residential"):
    return Facts(
        kwh=Decimal(kwh),
        category=category,
        capacity_kva=Decimal(capacity),
        recent_kwh=[Decimal(x) for x in recent],
        last_year_kwh=None if last_year is None else Decimal(last_year),
    )


def _codes(facts: Facts, limits: CheckLimits = LIMITS) -> list[tuple[str, str | None]]:
    return [(c["code"], c.get("basis")) for c in run_checks(facts, limits)]


# --- the issue's case: 99999 on an account using about 300 kWh a month ------------------------------------------


def test_99999_on_a_300_kwh_account_is_held_without_a_bill_or_a_notice(world, session, api) -> None:
    add_tariffs(session)
    account = world.own_account
    _history(session, account, 12, 300, last=37243)
    session.commit()
    notices_before = _count(session, Notice)
    session.rollback()  # end the read: on SQLite the API's writes wait for it
    clerk = api.as_token(world.token("clerk"))
    reply = clerk.post(
        "/api/v1/billing/readings", {"account_no": account.account_no, "period": "2026-11", "reading": "99999"}
    )
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    assert body["status"] == "held" and body["bill"] is None
    codes = {(c["code"], c.get("basis")) for c in body["checks"]}
    assert codes == {
        ("usage_spike", "recent_average"),
        ("usage_spike", "same_month_last_year"),
        ("outside_category_range", None),
    }
    spike = next(c for c in body["checks"] if c["code"] == "usage_spike")
    assert (spike["kwh"], spike["baseline"], spike["factor"]) == ("62756.00", "300.00", "3")
    session.expire_all()
    assert _count(session, Bill, Bill.account_id == account.id, Bill.period == "2026-11") == 0
    assert _count(session, Notice) == notices_before  # no "bill issued" notice
    session.rollback()
    # the bill run passes it by as well
    assert run_period(db.new_session, "2026-11").issued == 0
    # a second person corrects it (the clerk misread 39999 as 99999): one bill, one notice
    admin = api.as_token(world.token("admin"))
    review = admin.post(f"/api/v1/billing/readings/{body['id']}/review", {"decision": "correct", "reading": "37543"})
    assert review.status_code == 200, review.get_json()
    assert review.get_json()["status"] == "billed" and review.get_json()["bill"]["kwh"] == "300.00"
    session.expire_all()
    assert _count(session, Bill, Bill.account_id == account.id, Bill.period == "2026-11") == 1
    assert _count(session, Notice) == notices_before + 1


def test_a_reading_that_passes_bills_at_once_and_says_so(world, session, api) -> None:
    add_tariffs(session)
    _history(session, world.own_account, 6, 300)
    session.commit()
    clerk = api.as_token(world.token("clerk"))
    reply = clerk.post("/api/v1/billing/readings", {"account_no": "1000000001", "period": "2026-11", "reading": "2110"})
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    assert (body["status"], body["checks"], body["bill"]["kwh"]) == ("billed", [], "310.00")


def test_a_held_reading_is_announced_nowhere_and_trailed_as_entered_and_held(world, session, held_outbox) -> None:
    add_tariffs(session)
    _history(session, world.own_account, 6, 300)
    session.commit()
    held_outbox.relay()
    reading, bill = record_reading(
        session, world.own_account, {"period": "2026-11", "reading": "99999"}, actor_id=world.users["clerk"].id
    )
    session.commit()
    assert bill is None and reading.status == "held"
    assert held_outbox.messages(BILLS_ISSUED) == []
    actions = session.scalars(
        select(TrailEvent.action).where(TrailEvent.entity_id == "1000000001").order_by(TrailEvent.id.desc()).limit(2)
    ).all()
    assert actions == ["reading.held", "reading.recorded"]


# --- each check and its boundary ---------------------------------------------------------------------------------


def test_spike_over_the_recent_average_holds_above_three_times_only() -> None:
    recent = ("300", "300", "300")
    assert _codes(_facts("900", recent=recent)) == []
    assert _codes(_facts("900.01", recent=recent)) == [("usage_spike", "recent_average")]


def test_drop_under_the_recent_average_holds_below_a_third_only() -> None:
    recent = ("300", "300", "300")
    assert _codes(_facts("100", recent=recent)) == []
    assert _codes(_facts("99.99", recent=recent)) == [("usage_drop", "recent_average")]


def test_spike_and_drop_against_the_same_month_last_year() -> None:
    assert _codes(_facts("600", last_year="200")) == []
    assert _codes(_facts("600.01", last_year="200")) == [("usage_spike", "same_month_last_year")]
    assert _codes(_facts("200", last_year="600")) == []
    assert _codes(_facts("199.99", last_year="600")) == [("usage_drop", "same_month_last_year")]


def test_a_recent_average_needs_enough_bills() -> None:
    assert _codes(_facts("5000", recent=("300", "300"), capacity="100")) == []
    assert _codes(_facts("5000", recent=("300", "300", "300"), capacity="100")) == [("usage_spike", "recent_average")]


def test_small_usage_is_not_a_spike_or_a_drop() -> None:
    # 10 -> 49.99 kWh is five times more, but below the 50 kWh floor on both sides
    assert _codes(_facts("49.99", recent=("10", "10", "10"))) == []
    assert _codes(_facts("50", recent=("10", "10", "10"))) == [("usage_spike", "recent_average")]


def test_zero_usage_holds_only_where_the_same_month_last_year_used_power() -> None:
    assert _codes(_facts("0", last_year="0")) == []
    assert _codes(_facts("0")) == []
    assert _codes(_facts("0", last_year="0.01")) == [("zero_usage", None)]
    # a zero against last year's 300 is one finding, not also a drop
    assert _codes(_facts("0", recent=("300", "300", "300"), last_year="300")) == [("zero_usage", None)]


def test_far_outside_the_category_range_holds_above_capacity_times_its_hours() -> None:
    # residential: 500 full-load hours a month; 8 kVA -> 4000 kWh
    assert _codes(_facts("4000")) == []
    assert _codes(_facts("4000.01")) == [("outside_category_range", None)]
    # large industrial: 720 hours; 100 kVA -> 72000 kWh
    assert _codes(_facts("72000", capacity="100", category="large_industrial")) == []
    assert _codes(_facts("72000.01", capacity="100", category="large_industrial")) == [("outside_category_range", None)]


def test_every_check_code_is_produced() -> None:
    below = Facts(kwh=Decimal(0), category="residential", capacity_kva=Decimal(8), lower=("reading", Decimal(5)))
    seen = {c["code"] for c in run_checks(below, LIMITS)}
    for facts in (
        _facts("0", last_year="300"),
        _facts("1000", recent=("100", "100", "100")),
        _facts("10", recent=("100", "100", "100")),
        _facts("9999"),
    ):
        seen |= {c["code"] for c in run_checks(facts, LIMITS)}
    assert (
        seen
        == set(CODES)
        == {
            "reading_lower_than_last",
            "zero_usage",
            "usage_spike",
            "usage_drop",
            "outside_category_range",
        }
    )


def test_limits_come_from_the_configuration() -> None:
    limits = limits_from(
        {
            "READING_SPIKE_FACTOR": "2",
            "READING_DROP_FACTOR": "4",
            "READING_RECENT_MONTHS": "3",
            "READING_MIN_HISTORY": "1",
            "READING_MIN_KWH": "0",
            "READING_CATEGORY_HOURS": "residential:100",
        }
    )
    assert (limits.spike_factor, limits.drop_factor, limits.recent_months, limits.min_history) == (2, 4, 3, 1)
    assert limits.category_hours["residential"] == 100 and limits.category_hours["general"] == 600
    assert _codes(_facts("200.01", recent=("100",)), limits) == [("usage_spike", "recent_average")]
    assert _codes(_facts("24.99", recent=("100",)), limits) == [("usage_drop", "recent_average")]
    assert _codes(_facts("800.01"), limits) == [("outside_category_range", None)]


def test_checks_read_the_accounts_bills(world, session) -> None:
    """Through record_reading: the recent average is over the last six periods' bills, last year's month too."""
    add_tariffs(session)
    account = world.own_account
    _history(session, account, 13, 300)  # 2025-10 .. 2026-10
    reading, bill = record_reading(session, account, {"period": "2026-11", "reading": "5000"}, actor_id=None)
    assert bill is None and reading.status == "held"
    # 5000 - 3900 = 1100 kWh: above 3 x 300 against both bases
    assert [(c["code"], c["basis"], c["baseline"]) for c in reading.checks] == [
        ("usage_spike", "recent_average", "300.00"),
        ("usage_spike", "same_month_last_year", "300.00"),
    ]


# --- lower than the last reading, meter changes and rollovers ----------------------------------------------------


def test_a_reading_below_the_last_is_held_not_billed(world, session) -> None:
    add_tariffs(session)
    bill_with(session, world.own_account, "2026-01", 200, start=1000)
    reading, bill = record_reading(session, world.own_account, {"period": "2026-02", "reading": 1100}, actor_id=None)
    assert bill is None
    assert (reading.status, reading.checks) == (
        "held",
        [{"code": "reading_lower_than_last", "register": "reading", "last": "1200.00"}],
    )


def test_accepting_a_reading_below_the_last_is_refused_until_the_rollover_is_recorded(world, session) -> None:
    add_tariffs(session)
    account = world.own_account
    clerk, admin = world.users["clerk"], world.users["admin"]
    bill_with(session, account, "2026-01", 200, start=99700)  # the register stands at 99900
    reading, _ = record_reading(session, account, {"period": "2026-02", "reading": 150}, actor_id=clerk.id)
    assert reading.status == "held"
    with pytest.raises(Conflict) as caught:
        review_reading(session, reading, ReviewReading.parse({"decision": "accept"}), actor=admin)
    assert (caught.value.code, caught.value.params) == ("reading_lower_than_last", {"last": Decimal("99900.00")})
    rollover = {"account_no": account.account_no, "period": "2026-02", "kind": "rollover", "changed_on": "2026-02-01"}
    record_meter_change(
        session,
        account,
        RecordMeterChange.parse({**rollover, "old_final": "100000", "new_start": "0"}),
        actor_id=clerk.id,
    )
    reading, bill = review_reading(session, reading, ReviewReading.parse({"decision": "accept"}), actor=admin)
    assert bill is not None and bill.kwh == Decimal(250)  # 100 to the full scale, 150 after it
    assert (bill.start_reading, bill.end_reading, bill.multiplier) == (Decimal(99900), Decimal(150), Decimal(1))


def test_a_recorded_meter_change_passes_the_check_and_bills_both_meters(world, session) -> None:
    add_tariffs(session)
    account = world.own_account
    bill_with(session, account, "2026-01", 300, start=5000)  # old meter at 5300
    change = RecordMeterChange.parse(
        {
            "account_no": account.account_no,
            "period": "2026-02",
            "changed_on": "2026-02-10",
            "old_final": "5400",
            "new_start": "10",
            "multiplier": "2",
        }
    )
    made = record_meter_change(session, account, change, actor_id=None)
    assert (made.old_multiplier, made.multiplier, account.meter_multiplier) == (1, 2, 2)
    reading, bill = record_reading(session, account, {"period": "2026-02", "reading": 110}, actor_id=None)
    assert reading.status == "passed" and bill is not None
    # (5400 - 5300) x 1 + (110 - 10) x 2 = 300
    assert bill.kwh == Decimal(300)
    assert (bill.start_reading, bill.end_reading, bill.multiplier, bill.meter_change_id) == (
        Decimal(5300),
        Decimal(110),
        Decimal(2),
        made.id,
    )
    # the next month counts on the new meter only, at its multiplier
    _r, later = record_reading(session, account, {"period": "2026-03", "reading": 260}, actor_id=None)
    assert later is not None and later.kwh == Decimal(300)


def test_the_bill_run_counts_across_a_meter_change(world, session) -> None:
    add_tariffs(session)
    account = world.own_account
    bill_with(session, account, "2026-01", 300, start=5000)
    change = {"account_no": account.account_no, "period": "2026-02", "changed_on": "2026-02-10"}
    record_meter_change(
        session, account, RecordMeterChange.parse({**change, "old_final": "5400", "new_start": "0"}), actor_id=None
    )
    record_reading(session, account, {"period": "2026-02", "reading": 200}, actor_id=None, issue=False)
    session.commit()
    assert run_period(db.new_session, "2026-02").issued == 1
    session.expire_all()
    bill = session.scalar(select(Bill).where(Bill.account_id == account.id, Bill.period == "2026-02"))
    assert (bill.kwh, bill.start_reading, bill.end_reading, bill.meter_change_id) == (
        Decimal(300),
        Decimal(5300),
        Decimal(200),
        session.scalar(select(func.max(Bill.meter_change_id))),
    )


def test_a_meter_change_is_refused_below_the_last_reading_or_after_the_period_billed(world, session) -> None:
    add_tariffs(session)
    account = world.own_account
    bill_with(session, account, "2026-01", 300, start=5000)
    change = {"account_no": account.account_no, "changed_on": "2026-02-10", "new_start": "0"}
    with pytest.raises(InvalidInput) as caught:
        record_meter_change(
            session,
            account,
            RecordMeterChange.parse({**change, "period": "2026-02", "old_final": "5299"}),
            actor_id=None,
        )
    assert caught.value.problems == {"old_final": Problem("below_previous_reading", previous=Decimal("5300.00"))}
    with pytest.raises(Conflict) as refused:
        record_meter_change(
            session,
            account,
            RecordMeterChange.parse({**change, "period": "2026-01", "old_final": "5300"}),
            actor_id=None,
        )
    assert refused.value.code == "reading_exists"


# --- the review: a second person, once ---------------------------------------------------------------------------


def _held(session, world):
    add_tariffs(session)
    _history(session, world.own_account, 6, 300)
    reading, _ = record_reading(
        session, world.own_account, {"period": "2026-11", "reading": "9999"}, actor_id=world.users["clerk"].id
    )
    assert reading.status == "held"
    return reading


def test_the_person_who_entered_a_reading_may_not_review_it(world, session) -> None:
    reading = _held(session, world)
    with pytest.raises(Forbidden) as caught:
        review_reading(session, reading, ReviewReading.parse({"decision": "accept"}), actor=world.users["clerk"])
    assert caught.value.code == "same_person"
    assert reading.status == "held"
    assert _count(session, Bill, Bill.period == "2026-11") == 0


def test_same_person_is_403_over_the_api_and_a_second_person_bills_it(world, session, api) -> None:
    reading = _held(session, world)
    session.commit()
    path = f"/api/v1/billing/readings/{reading.id}/review"
    own = api.as_token(world.token("clerk")).post(path, {"decision": "accept"})
    assert own.status_code == 403 and own.get_json()["error"]["code"] == "same_person"
    second = api.as_token(world.token("admin")).post(path, {"decision": "accept"})
    assert second.status_code == 200, second.get_json()
    assert second.get_json()["bill"]["kwh"] == "8199.00"


def test_a_retried_review_bills_exactly_once(world, session, api) -> None:
    reading = _held(session, world)
    session.commit()
    admin = api.as_token(world.token("admin"))
    path = f"/api/v1/billing/readings/{reading.id}/review"
    first = admin.post(path, {"decision": "correct", "reading": "2110"})
    again = admin.post(path, {"decision": "correct", "reading": "2110"})
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.get_json()["bill"] == again.get_json()["bill"]
    session.expire_all()
    assert _count(session, Bill, Bill.period == "2026-11") == 1
    session.rollback()
    other = admin.post(path, {"decision": "accept"})
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "reading_already_reviewed"
    stored = session.get(MeterReading, reading.id)
    assert (stored.status, stored.reading, stored.entered_reading) == ("corrected", Decimal(2110), Decimal(9999))
    reviewed = session.scalar(
        select(TrailEvent).where(TrailEvent.action == "reading.reviewed").order_by(TrailEvent.id.desc()).limit(1)
    )
    assert reviewed.after["decision"] == "correct" and reviewed.actor_id == world.users["admin"].id


def test_a_correction_below_the_last_reading_is_refused(world, session) -> None:
    reading = _held(session, world)
    with pytest.raises(InvalidInput) as caught:
        review_reading(
            session, reading, ReviewReading.parse({"decision": "correct", "reading": "1"}), actor=world.users["admin"]
        )
    assert caught.value.problems == {"reading": Problem("below_previous_reading", previous=Decimal("1800.00"))}


def test_a_correction_needs_the_reading(world, session, api) -> None:
    reading = _held(session, world)
    session.commit()
    reply = api.as_token(world.token("admin")).post(
        f"/api/v1/billing/readings/{reading.id}/review", {"decision": "correct"}
    )
    assert reply.status_code == 422
    assert set(reply.get_json()["error"]["details"]["fields"]) == {"reading"}


def test_no_later_reading_while_an_earlier_one_is_held(world, session) -> None:
    _held(session, world)
    with pytest.raises(Conflict) as caught:
        record_reading(session, world.own_account, {"period": "2026-12", "reading": "10300"}, actor_id=None)
    assert (caught.value.code, caught.value.params) == ("previous_reading_held", {"period": "2026-11"})


def test_the_queue_lists_held_readings_of_the_callers_unit_subtree(world, session, api) -> None:
    reading = _held(session, world)
    _history(session, world.foreign_account, 6, 300)
    record_reading(session, world.foreign_account, {"period": "2026-11", "reading": "9999"}, actor_id=None)
    session.commit()
    queue = api.as_token(world.token("supervisor")).get("/api/v1/billing/readings?status=held").get_json()
    assert [(i["id"], i["account_no"], i["status"]) for i in queue["items"]] == [(reading.id, "1000000001", "held")]
    assert queue["total"] == 1 and queue["items"][0]["checks"][0]["code"] == "usage_spike"
    foreign = session.scalar(
        select(MeterReading.id).where(
            MeterReading.account_id == world.foreign_account.id, MeterReading.status == "held"
        )
    )
    reply = api.as_token(world.token("admin")).post(
        f"/api/v1/billing/readings/{foreign}/review", {"decision": "accept"}
    )
    assert reply.status_code == 404


def test_meter_change_over_the_api(world, session, api) -> None:
    add_tariffs(session)
    bill_with(session, world.own_account, "2026-01", 300, start=5000)
    session.commit()
    clerk = api.as_token(world.token("clerk"))
    body = {
        "account_no": "1000000001",
        "period": "2026-02",
        "changed_on": "2026-02-10",
        "old_final": "5400",
        "new_start": "0",
        "multiplier": "1",
    }
    reply = clerk.post("/api/v1/billing/meter-changes", body)
    assert reply.status_code == 201, reply.get_json()
    assert (reply.get_json()["old_final"], reply.get_json()["kind"]) == ("5400.00", "replacement")
    assert clerk.post("/api/v1/billing/meter-changes", body).get_json()["error"]["code"] == "meter_change_exists"
    bad = clerk.post("/api/v1/billing/meter-changes", {**body, "multiplier": "0", "old_final": None})
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["details"]["fields"]) == {"multiplier", "old_final"}
    reading = clerk.post(
        "/api/v1/billing/readings", {"account_no": "1000000001", "period": "2026-02", "reading": "250"}
    )
    bill = reading.get_json()["bill"]
    assert bill["kwh"] == "350.00"  # 100 on the old meter, 250 on the new one
    assert (bill["start_reading"], bill["end_reading"], bill["multiplier"]) == ("5300.00", "250.00", "1.00")
    change = bill["meter_change"]
    assert (change["old_final"], change["new_start"], change["changed_on"]) == ("5400.00", "0.00", "2026-02-10")
