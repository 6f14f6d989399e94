"""Each kind's steps and the due time of each step (the SLA clock), from the settings.

A kind's flow is the ordered list of steps after ``received``; ``closed`` ends every flow. Hour and minute limits
count elapsed time; working-day limits end at the close of the n-th working day after the day of receipt
(``core.workdays``, the same calendar as business handling).
"""

from __future__ import annotations

import datetime as dt

from core import clock, workdays

from . import settings
from .models import TicketKind, TicketStatus

S = TicketStatus
FLOWS: dict[str, tuple[str, ...]] = {
    TicketKind.FAULT_REPAIR: (S.DISPATCHED, S.ON_SITE, S.RESTORED, S.CLOSED),
    TicketKind.COMPLAINT: (S.CONTACTED, S.REPLIED, S.CLOSED),
    TicketKind.REPORT: (S.CONTACTED, S.REPLIED, S.CLOSED),
    TicketKind.METER_CHECK: (S.CONTACTED, S.TESTED, S.REPLIED, S.CLOSED),
    TicketKind.OPINION: (S.REPLIED, S.CLOSED),
    TicketKind.SUGGESTION: (S.REPLIED, S.CLOSED),
    TicketKind.PRAISE: (S.REPLIED, S.CLOSED),
    TicketKind.ENQUIRY: (S.REPLIED, S.CLOSED),
}
# kinds filed in the account's complaint file once closed (客户投诉档案)
FILED_KINDS = frozenset({TicketKind.COMPLAINT, TicketKind.REPORT, TicketKind.METER_CHECK})
# kinds a passer-by may send without signing in
ANONYMOUS_KINDS = frozenset({TicketKind.FAULT_REPAIR})
AREA_CLASSES = ("urban", "rural", "remote")
_END_OF_DAY = dt.time(23, 59, 59)


def _workdays_end(received: dt.datetime, days: int) -> dt.datetime:
    return clock.at_local(workdays.add(clock.local(received).date(), days), _END_OF_DAY).astimezone(dt.UTC)


def _limit(kind: str, step: str, area_class: str, received: dt.datetime) -> dt.datetime | None:
    """When ``step`` of a ticket of ``kind`` received at ``received`` is due; None for a step without a limit."""
    get = settings.get
    klass = area_class.upper()
    if kind == TicketKind.FAULT_REPAIR:
        arrival = received + dt.timedelta(minutes=int(get(f"SERVICEDESK_ARRIVAL_MINUTES_{klass}")))
        if step in (S.DISPATCHED, S.ON_SITE):
            return arrival
        return received + dt.timedelta(hours=float(get(f"SERVICEDESK_RESTORE_HOURS_{klass}")))
    if kind in (TicketKind.COMPLAINT, TicketKind.REPORT):
        if step == S.CONTACTED:
            return received + dt.timedelta(hours=float(get("SERVICEDESK_CONTACT_HOURS")))
        return _workdays_end(received, int(get("SERVICEDESK_REPLY_WORKDAYS")))
    if kind == TicketKind.METER_CHECK:
        if step == S.CONTACTED:
            return received + dt.timedelta(hours=float(get("SERVICEDESK_CONTACT_HOURS")))
        return _workdays_end(received, int(get("SERVICEDESK_METER_TEST_WORKDAYS")))
    days = get("SERVICEDESK_ENQUIRY_WORKDAYS") if kind == TicketKind.ENQUIRY else get("SERVICEDESK_OPINION_WORKDAYS")
    return _workdays_end(received, int(days))


def due_times(kind: str, area_class: str, received: dt.datetime) -> list[tuple[str, dt.datetime | None]]:
    """Every step of the kind's flow with its due time; ``closed`` is due with the last step before it."""
    steps = FLOWS[kind]
    result: list[tuple[str, dt.datetime | None]] = []
    for step in steps:
        if step == S.CLOSED:
            result.append((step, result[-1][1] if result else None))
        else:
            result.append((step, _limit(kind, step, area_class, received)))
    return result


def next_steps(kind: str, status: str) -> tuple[str, ...]:
    """The statuses a ticket may move to from ``status``: the next step, or a later one (steps may be skipped
    when done together, a crew that restores power on arrival); ``merged`` while nothing was done."""
    steps = FLOWS[kind]
    if status in (S.CLOSED, S.MERGED):
        return ()
    position = -1 if status == S.RECEIVED else steps.index(status)
    later = steps[position + 1 :]
    return (*later, S.MERGED) if status == S.RECEIVED else later
