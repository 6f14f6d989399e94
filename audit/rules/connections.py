"""Business handling rules (业扩报装 and 变更用电): 不走流程 (steps skipped or out of order), 体外循环 (work done
outside the system), 拆分容量 (one connection split into several under a threshold), time-limit breaches per step
and per application in working days, and the late hand-over of a large dossier.

Each rule is one set-based query like the others. Working days come from ``core.workdays`` as a calendar table the
query builds for itself (a recursive day list marked with the holidays and shifted working weekends of the years
it spans), so the same count runs on SQLite and PostgreSQL. A finding sits on an account, or on no account for an
open application that has none yet (a new connection before its connection step 装表接电 opens it): such rows carry
the application's ``unit_id`` and a subject of the application alone (``application:<no>[:<step>]``), so the finding
stays the same one when the connection later opens the account.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy import (
    Date,
    Numeric,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.orm import aliased

from archive.models import Document, Handover
from billing.models import Account, MeterReading
from connections import flows
from connections import settings as connection_settings
from connections.models import OPEN_STATUSES, Application, ApplicationStep, StepName
from core import workdays
from core.trail import TrailEvent

from .base import RuleContext, rule
from .documents import effective
from .requirements import LARGE_KVA
from .sql import date_of, day_after, days_between, is_weekend, joined_in_order, whole

NEW_CONNECTIONS = tuple(str(t) for t in sorted(flows.NEW_CONNECTIONS))
# years before today the working-day calendar knows the holidays of (older days count weekends only)
CALENDAR_YEARS = 15
_RESULT_PASSED = "passed"


def setting(ctx: RuleContext, key: str) -> Any:
    """A business handling setting: the run's own (``ctx.settings``) or the configured one."""
    return ctx.settings[key] if key in ctx.settings else connection_settings.get(key)


def _text(prefix: str, column: Any) -> Any:
    return literal(prefix) + cast(column, String)


# --- working days ------------------------------------------------------------------------------------------------


def _calendar_exceptions(today: dt.date) -> tuple[list[dt.date], list[dt.date]]:
    """(weekdays off, weekend days worked) from ``CALENDAR_YEARS`` ago to the end of next year."""
    off, worked = [], []
    day, end = dt.date(today.year - CALENDAR_YEARS, 1, 1), dt.date(today.year + 1, 12, 31)
    while day <= end:
        working, weekend = workdays.is_working_day(day), day.weekday() >= 5
        if weekend and working:
            worked.append(day)
        elif not weekend and not working:
            off.append(day)
        day += dt.timedelta(days=1)
    return off, worked


def working_day_numbers(ctx: RuleContext) -> Any:
    """(day, n, working): every day from the first application's receipt to a year after today, numbered by the
    working days up to and including it; working days from ``a`` to ``b`` (``a`` excluded) are ``n(b) - n(a)``,
    as ``core.workdays.count`` counts them."""
    off, worked = _calendar_exceptions(ctx.today)
    first = select(func.coalesce(func.min(Application.received_on), literal(ctx.today, Date)).label("day"))
    days = first.cte("calendar_days", recursive=True)
    days = days.union_all(select(day_after(days.c.day)).where(days.c.day < literal(ctx.today + dt.timedelta(366))))
    working = case((days.c.day.in_(worked), 1), (days.c.day.in_(off), 0), (is_weekend(days.c.day), 0), else_=1).label(
        "working"
    )
    marked = select(days.c.day, working).subquery("calendar_marked")
    return select(
        marked.c.day, marked.c.working, func.sum(marked.c.working).over(order_by=marked.c.day).label("n")
    ).cte("workday_calendar")


def _late(start_n: Any, end_n: Any, end_working: Any, allowed: Any) -> Any:
    """Done (or still open) after the due date: the ``allowed``-th working day after the start lies before the
    end day, i.e. at least ``allowed`` working days passed before the end day."""
    return end_n - end_working - start_n >= allowed


# --- 不走流程 -------------------------------------------------------------------------------------------------------


def judged_application() -> Any:
    """The applications the process and time-limit rules judge: those with an account, and the open ones that have
    none yet (a new connection before its connection step)."""
    return or_(Application.account_id.is_not(None), Application.status.in_(OPEN_STATUSES))


def _step_facts() -> Any:
    """Each judged application's steps, with what their neighbours in the type's order did."""
    whole_app = ApplicationStep.application_id
    done_position = case((ApplicationStep.done_on.is_not(None), ApplicationStep.position), else_=-1)
    connected = case(
        (and_(ApplicationStep.step == StepName.CONNECTION.value, ApplicationStep.done_on.is_not(None)), 1), else_=0
    )
    return (
        select(
            Application.account_id,
            Application.unit_id,
            Application.application_no,
            Application.type,
            Application.received_on,
            Application.status,
            Application.current_step,
            Application.awaiting_since,
            ApplicationStep.step,
            ApplicationStep.position,
            ApplicationStep.done_on,
            ApplicationStep.limit_days,
            ApplicationStep.waited_days,
            ApplicationStep.fields["result"].as_string().label("result"),
            func.lag(ApplicationStep.done_on)
            .over(partition_by=ApplicationStep.application_id, order_by=ApplicationStep.position)
            .label("predecessor_done_on"),
            # whole-partition aggregates: no sort per frame
            case((func.max(done_position).over(partition_by=whole_app) > ApplicationStep.position, 1), else_=0).label(
                "later_done"
            ),
            func.max(connected).over(partition_by=whole_app).label("connected"),
        )
        .join(Application, Application.id == ApplicationStep.application_id)
        .where(judged_application())
        .subquery("step_facts")
    )


@rule(
    "YK-PROCESS",
    title="Skipped process (不走流程)",
    severity="high",
    area="connections",
    checks=(
        "An application's steps are done in its type's order: no step done before its predecessor or before the "
        "application was received, no step left out while a later one is done, no connection without a passed "
        "completion check, and no paper of the application (document number = application number) dated before "
        "the application was received."
    ),
    evidence=("application_no", "type", "step", "problem", "received_on", "done_on", "predecessor_done_on"),
)
def skipped_process(ctx: RuleContext) -> Select[Any]:
    s = _step_facts()
    is_check = s.c.step == StepName.COMPLETION_CHECK.value
    unpassed_check = and_(
        is_check, s.c.connected == 1, or_(s.c.done_on.is_(None), func.coalesce(s.c.result, "") != _RESULT_PASSED)
    )
    skipped = and_(s.c.done_on.is_(None), s.c.later_done == 1)
    before_predecessor = and_(s.c.done_on.is_not(None), s.c.done_on < s.c.predecessor_done_on)
    before_receipt = and_(s.c.done_on.is_not(None), s.c.done_on < s.c.received_on)
    problem = case(
        (unpassed_check, "connected_without_passed_check"),
        (skipped, "skipped"),
        (before_receipt, "done_before_receipt"),
        else_="done_before_predecessor",
    )
    steps = select(
        s.c.account_id,
        s.c.unit_id,
        (literal("application:") + s.c.application_no + ":" + s.c.step).label("subject"),
        s.c.application_no,
        s.c.type,
        s.c.step,
        problem.label("problem"),
        s.c.received_on,
        s.c.done_on,
        s.c.predecessor_done_on,
    ).where(or_(unpassed_check, skipped, before_predecessor, before_receipt))
    formed_on = effective("formed_on")
    papers = (
        select(
            Application.account_id,
            Application.unit_id,
            _text("document:", Document.id).label("subject"),
            Application.application_no,
            Application.type,
            effective("doc_type").label("step"),
            literal("document_before_receipt").label("problem"),
            Application.received_on,
            formed_on.label("done_on"),
            literal(None, Date).label("predecessor_done_on"),
        )
        .join(Account, Account.id == Application.account_id)
        .join(Document, Document.account_no == Account.account_no)
        .where(
            Document.withdrawn_at.is_(None),
            Document.document_no.like(Application.application_no + "-%"),
            formed_on < Application.received_on,
        )
    )
    return select(union_all(steps, papers).subquery("skipped_process"))


# --- time limits -------------------------------------------------------------------------------------------------


@rule(
    "YK-STEP-LATE",
    title="Step over its time limit",
    severity="medium",
    area="connections",
    checks=(
        "Each step of an application is done within its limit in working days (China's calendar with its "
        "holidays and shifted working weekends), counted from the previous step's completion (the receipt for the "
        "first) plus the working days the clock stood still for the customer; the open step is judged on today "
        "(or on the day it was returned to the customer)."
    ),
    evidence=("application_no", "type", "step", "start_on", "end_on", "working_days", "allowed_days", "open"),
)
def step_late(ctx: RuleContext) -> Select[Any]:
    s = _step_facts()
    cal = working_day_numbers(ctx)
    start, end = aliased(cal, name="cal_start"), aliased(cal, name="cal_end")
    current = and_(
        s.c.done_on.is_(None),
        s.c.step == s.c.current_step,
        s.c.status.in_(("in_progress", "awaiting_customer")),
        func.coalesce(s.c.later_done, 0) == 0,
    )
    start_on = func.coalesce(s.c.predecessor_done_on, s.c.received_on)
    end_on = case(
        (s.c.done_on.is_not(None), s.c.done_on),
        (s.c.status == "awaiting_customer", s.c.awaiting_since),
        else_=literal(ctx.today, Date),
    )
    judged = (
        select(
            s.c.account_id,
            s.c.unit_id,
            s.c.application_no,
            s.c.type,
            s.c.step,
            start_on.label("start_on"),
            end_on.label("end_on"),
            (s.c.limit_days + s.c.waited_days).label("allowed_days"),
            s.c.done_on.is_(None).label("open"),
        )
        .where(or_(s.c.done_on.is_not(None), current), or_(s.c.position == 0, s.c.predecessor_done_on.is_not(None)))
        .subquery("judged_steps")
    )
    return (
        select(
            judged.c.account_id,
            judged.c.unit_id,
            (literal("application:") + judged.c.application_no + ":" + judged.c.step).label("subject"),
            judged.c.application_no,
            judged.c.type,
            judged.c.step,
            judged.c.start_on,
            judged.c.end_on,
            (end.c.n - start.c.n).label("working_days"),
            judged.c.allowed_days,
            judged.c.open,
        )
        .join(start, start.c.day == judged.c.start_on)
        .join(end, end.c.day == judged.c.end_on)
        .where(_late(start.c.n, end.c.n, end.c.working, judged.c.allowed_days))
    )


@rule(
    "YK-APPLICATION-LATE",
    title="Application over its total time limit",
    severity="medium",
    area="connections",
    checks=(
        "An application is completed within its total limit in working days: the published commitment where "
        "there is one (low-voltage connection: residential 5, non-residential 15), else the sum of its steps' "
        "limits, plus the working days the clock stood still; an open application is judged on today (or on the "
        "day it was returned to the customer). Withdrawn applications are not judged."
    ),
    evidence=("application_no", "type", "received_on", "end_on", "working_days", "allowed_days", "open"),
)
def application_late(ctx: RuleContext) -> Select[Any]:
    totals = case(
        *((Application.type == kind, days) for kind, days in sorted(flows.TOTAL_LIMITS.items())),
        else_=func.sum(ApplicationStep.limit_days),
    )
    end_on = case(
        (Application.completed_on.is_not(None), Application.completed_on),
        (Application.status == "awaiting_customer", Application.awaiting_since),
        else_=literal(ctx.today, Date),
    )
    judged = (
        select(
            Application.account_id,
            Application.unit_id,
            Application.application_no,
            Application.type,
            Application.received_on,
            end_on.label("end_on"),
            (totals + func.sum(ApplicationStep.waited_days)).label("allowed_days"),
            Application.completed_on.is_(None).label("open"),
        )
        .join(ApplicationStep, ApplicationStep.application_id == Application.id)
        .where(judged_application(), Application.status != "withdrawn")
        .group_by(
            Application.id,
            Application.account_id,
            Application.unit_id,
            Application.application_no,
            Application.type,
            Application.received_on,
            Application.completed_on,
            Application.status,
            Application.awaiting_since,
        )
        .subquery("judged_applications")
    )
    cal = working_day_numbers(ctx)
    start, end = aliased(cal, name="cal_start"), aliased(cal, name="cal_end")
    return (
        select(
            judged.c.account_id,
            judged.c.unit_id,
            (literal("application:") + judged.c.application_no).label("subject"),
            judged.c.application_no,
            judged.c.type,
            judged.c.received_on,
            judged.c.end_on,
            (end.c.n - start.c.n).label("working_days"),
            judged.c.allowed_days,
            judged.c.open,
        )
        .join(start, start.c.day == judged.c.received_on)
        .join(end, end.c.day == judged.c.end_on)
        .where(_late(start.c.n, end.c.n, end.c.working, judged.c.allowed_days))
    )


# --- 体外循环 -------------------------------------------------------------------------------------------------------


def cutover(ctx: RuleContext) -> Any:
    """One row (cutover): the configured cut-over date, else the day the system's records begin: its first trail
    entry, or its earliest application's receipt when that is earlier (work entered for the days before)."""
    configured = str(setting(ctx, "CONNECTIONS_CUTOVER_DATE") or "").strip()
    if configured:
        return select(literal(dt.date.fromisoformat(configured), Date).label("cutover")).subquery("cutover")
    first_trail = date_of(select(TrailEvent.at).order_by(TrailEvent.id).limit(1).scalar_subquery())
    first_application = select(func.min(Application.received_on)).scalar_subquery()
    begins = case(
        (first_application.is_(None), first_trail),
        (first_trail.is_(None), first_application),
        (first_application < first_trail, first_application),
        else_=first_trail,
    )
    return select(begins.label("cutover")).subquery("cutover")


def _snapshot(column: Any, key: str) -> Any:
    return column[key].as_string()


@rule(
    "YK-OFF-SYSTEM",
    title="Work done outside the system (体外循环)",
    severity="high",
    area="connections",
    checks=(
        "Every account connected since the cut-over date (CONNECTIONS_CUTOVER_DATE; empty: the day the system's "
        "records begin) has the new-connection application that opened it, registered no later than the "
        "connection (an account without a connection date: no meter reading before such an application); every "
        "change of an account's capacity or holder in the trail names an application of that account; and the "
        "account's capacity and holder are the ones its last trail entry recorded (no change behind the system's "
        "back). Accounts connected before the cut-over date are legacy."
    ),
    evidence=("problem", "connected_on", "first_reading_on", "application_no", "received_on", "changed"),
)
def off_system(ctx: RuleContext) -> Select[Any]:
    cut = cutover(ctx)
    opened_by = exists().where(
        Application.account_id == Account.id,
        Application.type.in_(NEW_CONNECTIONS),
        Application.status != "withdrawn",
    )
    first_reading = (
        select(MeterReading.account_id, func.min(MeterReading.recorded_at).label("first_reading_at"))
        .group_by(MeterReading.account_id)
        .subquery("first_readings")
    )
    first_reading_on = date_of(first_reading.c.first_reading_at)
    began_on = func.coalesce(Account.connected_on, first_reading_on)
    unexplained = (
        select(
            Account.id.label("account_id"),
            ("account:" + Account.account_no).label("subject"),
            case(
                (Account.connected_on.is_(None), "read_without_application"), else_="connected_without_application"
            ).label("problem"),
            Account.connected_on,
            first_reading_on.label("first_reading_on"),
            literal(None, String).label("application_no"),
            literal(None, Date).label("received_on"),
            literal(None, String).label("changed"),
        )
        .select_from(
            Account.__table__.join(cut, true()).outerjoin(first_reading, first_reading.c.account_id == Account.id)
        )
        .where(
            began_on >= cut.c.cutover,
            or_(Account.connected_on.is_not(None), date_of(Account.created_at) >= cut.c.cutover),
            ~opened_by,
        )
    )
    registered_late = (
        select(
            Account.id.label("account_id"),
            ("application:" + Application.application_no).label("subject"),
            literal("registered_after_work").label("problem"),
            Account.connected_on,
            literal(None, Date).label("first_reading_on"),
            Application.application_no,
            Application.received_on,
            literal(None, String).label("changed"),
        )
        .join(Application, Application.account_id == Account.id)
        .where(
            Application.type.in_(NEW_CONNECTIONS),
            Application.status != "withdrawn",
            Application.received_on > Account.connected_on,
        )
    )
    capacity_changed = func.coalesce(_snapshot(TrailEvent.before, "capacity_kva"), "") != func.coalesce(
        _snapshot(TrailEvent.after, "capacity_kva"), ""
    )
    holder_changed = func.coalesce(_snapshot(TrailEvent.before, "holder_name"), "") != func.coalesce(
        _snapshot(TrailEvent.after, "holder_name"), ""
    )
    named = _snapshot(TrailEvent.after, "application_no")
    explained = exists().where(Application.application_no == named, Application.account_id == Account.id)
    changes = (
        select(
            Account.id.label("account_id"),
            _text("trail:", TrailEvent.id).label("subject"),
            literal("changed_without_application").label("problem"),
            Account.connected_on,
            literal(None, Date).label("first_reading_on"),
            named.label("application_no"),
            literal(None, Date).label("received_on"),
            case((capacity_changed, "capacity_kva"), else_="holder_name").label("changed"),
        )
        .select_from(
            TrailEvent.__table__.join(Account.__table__, Account.account_no == TrailEvent.account_no).join(cut, true())
        )
        .where(
            TrailEvent.entity == "account",
            TrailEvent.action == "account.changed",
            or_(capacity_changed, holder_changed),
            date_of(TrailEvent.at) >= cut.c.cutover,
            ~explained,
        )
    )
    latest = (
        select(TrailEvent.account_no, func.max(TrailEvent.id).label("event_id"))
        .where(TrailEvent.entity == "account", TrailEvent.action.in_(("account.created", "account.changed")))
        .group_by(TrailEvent.account_no)
        .subquery("latest_snapshots")
    )
    recorded = aliased(TrailEvent, name="recorded")
    recorded_capacity = cast(_snapshot(recorded.after, "capacity_kva"), Numeric(12, 2))
    row_capacity = recorded_capacity != Account.capacity_kva
    row_holder = _snapshot(recorded.after, "holder_name") != Account.holder_name
    rows = (
        select(
            Account.id.label("account_id"),
            ("account:" + Account.account_no + ":row").label("subject"),
            literal("changed_behind_the_trail").label("problem"),
            Account.connected_on,
            literal(None, Date).label("first_reading_on"),
            literal(None, String).label("application_no"),
            literal(None, Date).label("received_on"),
            case((row_capacity, "capacity_kva"), else_="holder_name").label("changed"),
        )
        .join(latest, latest.c.account_no == Account.account_no)
        .join(recorded, recorded.id == latest.c.event_id)
        .where(or_(row_capacity, row_holder))
    )
    return select(union_all(unexplained, registered_late, changes, rows).subquery("off_system"))


# --- 拆分容量 -------------------------------------------------------------------------------------------------------


def _normalised(column: Any) -> Any:
    return func.replace(func.replace(func.coalesce(column, ""), " ", ""), "\u3000", "")


def split_members(ctx: RuleContext) -> Any:
    """Who may have split one connection: new-connection applications (not withdrawn) and the accounts no such
    application opened (legacy, imported), each with its holder, place, capacity and day, ranked by day."""
    opened_by = exists().where(
        Application.account_id == Account.id,
        Application.type.in_(NEW_CONNECTIONS),
        Application.status != "withdrawn",
    )
    applications = select(
        literal("application").label("kind"),
        Application.application_no.label("ref"),
        Application.account_id,
        Application.holder_key.label("holder"),
        _normalised(Application.address).label("place"),
        Application.lat,
        Application.lon,
        Application.capacity_kva.label("capacity_kva"),
        Application.received_on.label("on"),
        func.coalesce(Application.category, "").label("category"),
    ).where(Application.type.in_(NEW_CONNECTIONS), Application.status != "withdrawn", Application.capacity_kva > 0)
    accounts = select(
        literal("account").label("kind"),
        Account.account_no.label("ref"),
        Account.id.label("account_id"),
        (_normalised(Account.holder_name) + "|" + Account.id_last4_hash).label("holder"),
        _normalised(Account.address).label("place"),
        Account.lat,
        Account.lon,
        Account.capacity_kva,
        Account.connected_on.label("on"),
        Account.category,
    ).where(Account.status != "closed", Account.connected_on.is_not(None), Account.capacity_kva > 0, ~opened_by)
    both = union_all(applications, accounts).subquery("split_candidates")
    distance = float(setting(ctx, "CONNECTIONS_SPLIT_DISTANCE_M"))
    lat_cell = distance / 111_320
    lon_cell = distance / (111_320 * math.cos(math.radians(55)))  # cells at least ``distance`` wide up to 55° N
    largest = max(setting_thresholds(ctx))
    return (
        select(
            both,
            func.row_number().over(order_by=(both.c.on, both.c.kind, both.c.ref)).label("rank"),
            whole(both.c.lat / lat_cell).label("cell_y"),
            whole(both.c.lon / lon_cell).label("cell_x"),
        )
        .where(both.c.capacity_kva < largest)
        .cte("split_members")
    )


def setting_thresholds(ctx: RuleContext) -> tuple[int, ...]:
    raw = setting(ctx, "CONNECTIONS_SPLIT_THRESHOLDS_KVA")
    return tuple(sorted(int(v) for v in str(raw).split(",") if v.strip()))


def _cos_squared(lat: Any) -> Any:
    """cos²(latitude) from a Taylor series (SQLite has no trigonometry without its math extension)."""
    x2 = (lat * (math.pi / 180)) * (lat * (math.pi / 180))
    c = 1 - x2 / 2 + x2 * x2 / 24 - x2 * x2 * x2 / 720
    return c * c


def split_edges(ctx: RuleContext, m: Any) -> Any:
    """(a, b, cap_a, cap_b): two members within the window of each other, of one holder, at one address or
    within the distance (the place tests for non-residential members only: neighbours' homes are no split)."""
    a, b = aliased(m, name="member_a"), aliased(m, name="member_b")
    window = int(setting(ctx, "CONNECTIONS_SPLIT_WINDOW_DAYS"))
    distance = float(setting(ctx, "CONNECTIONS_SPLIT_DISTANCE_M"))

    def pairs(*conditions: Any) -> Select[Any]:
        return select(
            a.c.rank.label("a"), b.c.rank.label("b"), a.c.capacity_kva.label("cap_a"), b.c.capacity_kva.label("cap_b")
        ).where(a.c.rank < b.c.rank, func.abs(days_between(b.c.on, a.c.on)) <= window, *conditions)

    business = and_(a.c.category != "residential", b.c.category != "residential")
    same_holder = pairs().select_from(a.join(b, a.c.holder == b.c.holder))
    same_place = pairs(business, a.c.place != "").select_from(a.join(b, a.c.place == b.c.place))
    offsets = union_all(
        *(select(literal(dy).label("dy"), literal(dx).label("dx")) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    ).subquery("cell_offsets")
    dy_m = (b.c.lat - a.c.lat) * 111_320.0
    dx_m = (b.c.lon - a.c.lon) * 111_320.0
    mean_lat = (a.c.lat + b.c.lat) / 2
    near = dy_m * dy_m + dx_m * dx_m * _cos_squared(mean_lat) <= distance * distance
    nearby = pairs(business, near).select_from(
        a.join(offsets, true()).join(
            b, and_(b.c.cell_y == a.c.cell_y + offsets.c.dy, b.c.cell_x == a.c.cell_x + offsets.c.dx)
        )
    )
    return union(same_holder, same_place, nearby).subquery("split_edges")


@rule(
    "YK-SPLIT",
    title="Capacity split (拆分容量)",
    severity="high",
    area="connections",
    checks=(
        "No holder (name with ID hash or credit code) and no place (one address, or non-residential connections "
        "within CONNECTIONS_SPLIT_DISTANCE_M metres) has applications or accounts within "
        "CONNECTIONS_SPLIT_WINDOW_DAYS days of each other that each stay under a threshold "
        "(CONNECTIONS_SPLIT_THRESHOLDS_KVA, 50 and 315 kVA) while together they reach it. One finding per group "
        "(the earliest member and those related to it), at the highest threshold it reaches."
    ),
    evidence=("members", "member_count", "total_kva", "largest_kva", "threshold_kva", "first_on", "last_on"),
)
def capacity_split(ctx: RuleContext) -> Select[Any]:
    m = split_members(ctx)
    e = split_edges(ctx, m)
    thresholds = union_all(*(select(literal(t).label("kva")) for t in setting_thresholds(ctx))).subquery(
        "split_thresholds"
    )
    under = (
        select(e.c.a, e.c.b, thresholds.c.kva)
        .join(thresholds, and_(e.c.cap_a < thresholds.c.kva, e.c.cap_b < thresholds.c.kva))
        .cte("split_under")
    )
    led = aliased(under, name="led_by_earlier")
    leaders = (
        select(under.c.a.label("leader"), under.c.kva)
        .where(~exists().where(led.c.b == under.c.a, led.c.kva == under.c.kva))
        .distinct()
        .subquery("split_leaders")
    )
    group_members = union_all(
        select(leaders.c.leader, leaders.c.kva, leaders.c.leader.label("member")),
        select(leaders.c.leader, leaders.c.kva, under.c.b.label("member")).join(
            under, and_(under.c.a == leaders.c.leader, under.c.kva == leaders.c.kva)
        ),
    ).subquery("split_group_members")
    member, leader = aliased(m, name="member"), aliased(m, name="leader_member")
    ordered = (
        select(group_members.c.leader, group_members.c.kva, member)
        .join(member, member.c.rank == group_members.c.member)
        .order_by(group_members.c.leader, group_members.c.kva, member.c.rank)
        .subquery("split_rows")
    )
    groups = (
        select(
            ordered.c.leader,
            ordered.c.kva,
            joined_in_order(ordered.c.ref, ordered.c.rank).label("members"),
            func.count().label("member_count"),
            func.sum(ordered.c.capacity_kva).label("total_kva"),
            func.max(ordered.c.capacity_kva).label("largest_kva"),
            func.min(ordered.c.on).label("first_on"),
            func.max(ordered.c.on).label("last_on"),
            func.min(ordered.c.account_id).label("account_id"),
        )
        .group_by(ordered.c.leader, ordered.c.kva)
        .having(func.sum(ordered.c.capacity_kva) >= ordered.c.kva, func.min(ordered.c.account_id).is_not(None))
        .subquery("split_groups")
    )
    ranked = select(
        groups, func.row_number().over(partition_by=groups.c.leader, order_by=groups.c.kva.desc()).label("nth")
    ).subquery("split_ranked")
    return (
        select(
            ranked.c.account_id,
            (literal("split:") + leader.c.kind + ":" + leader.c.ref).label("subject"),
            ranked.c.members,
            ranked.c.member_count,
            ranked.c.total_kva,
            ranked.c.largest_kva,
            ranked.c.kva.label("threshold_kva"),
            ranked.c.first_on,
            ranked.c.last_on,
        )
        .join(leader, leader.c.rank == ranked.c.leader)
        .where(ranked.c.nth == 1)
    )


# --- the large dossier's hand-over -------------------------------------------------------------------------------


@rule(
    "YK-HANDOVER-LATE",
    title="Large account's dossier handed over late",
    severity="high",
    area="connections",
    checks=(
        "The dossier of an account of 315 kVA or more is handed over within one month (AUDIT_LARGE_DOSSIER_DAYS) "
        "of its connection, judged on the day it was handed over: the archiving step's hand-over date (or the day "
        "the step was done), else the archive's first hand-over record since the connection; an account "
        "connected through an application whose archiving step is still open is late once the month has passed."
    ),
    evidence=("capacity_kva", "connected_on", "handed_over_on", "days_to_handover", "source", "application_no"),
)
def handover_late(ctx: RuleContext) -> Select[Any]:
    archiving = (
        select(
            Application.account_id,
            func.min(Application.application_no).label("application_no"),
            func.min(
                func.coalesce(date_of(ApplicationStep.fields["handed_over_on"].as_string()), ApplicationStep.done_on)
            ).label("handed_over_on"),
        )
        .join(ApplicationStep, ApplicationStep.application_id == Application.id)
        .where(
            ApplicationStep.step == StepName.ARCHIVING.value,
            Application.type.in_(NEW_CONNECTIONS),
            Application.status != "withdrawn",
            Application.account_id.is_not(None),
        )
        .group_by(Application.account_id)
        .subquery("archiving_steps")
    )
    records = (
        select(Handover.account_no, func.min(Handover.handed_over_on).label("handed_over_on"))
        .join(Account, Account.account_no == Handover.account_no)
        .where(Handover.handed_over_on >= Account.connected_on)
        .group_by(Handover.account_no)
        .subquery("handover_records")
    )
    handed_on = func.coalesce(archiving.c.handed_over_on, records.c.handed_over_on)
    days = days_between(handed_on, Account.connected_on)
    limit = ctx.large_dossier_days
    late = or_(
        days > limit,
        and_(
            handed_on.is_(None),
            archiving.c.application_no.is_not(None),
            Account.connected_on < ctx.today - dt.timedelta(days=limit),
        ),
    )
    return (
        select(
            Account.id.label("account_id"),
            ("account:" + Account.account_no + ":handover").label("subject"),
            Account.capacity_kva,
            Account.connected_on,
            handed_on.label("handed_over_on"),
            days.label("days_to_handover"),
            case(
                (archiving.c.handed_over_on.is_not(None), "archiving_step"),
                (records.c.handed_over_on.is_not(None), "handover_record"),
                else_=null(),
            ).label("source"),
            archiving.c.application_no,
        )
        .outerjoin(archiving, archiving.c.account_id == Account.id)
        .outerjoin(records, records.c.account_no == Account.account_no)
        .where(Account.capacity_kva >= LARGE_KVA, Account.connected_on.is_not(None), late)
    )
