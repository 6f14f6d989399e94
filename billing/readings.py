"""Held readings and their review (异常复核), and meter changes (换表).

A reading that fails a check (``billing.reading_checks``) is stored held by ``billing.bills.record_reading`` and makes
no bill. A second person (never the one who entered it) accepts it as entered or corrects it; then it bills, once:
a retried review finds the reading reviewed and the bill issued, and issues nothing more.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, contains_eager

from billing.bills import issue_bill, lock_account, meter_change_for, previous_reading, usage_between
from billing.commands import RecordMeterChange, ReviewReading
from billing.models import Account, Bill, MeterChange, MeterReading, ReadingStatus
from core import trail
from core.db import utcnow
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from core.identity import User
from core.scope import account_in_scope

REVIEWED = (ReadingStatus.ACCEPTED, ReadingStatus.CORRECTED)


def reading_dict(reading: MeterReading) -> dict[str, Any]:
    return {
        "id": reading.id,
        "account_no": reading.account.account_no,
        "period": reading.period,
        "reading": reading.reading,
        "peak": reading.peak,
        "flat": reading.flat,
        "valley": reading.valley,
        "status": reading.status,
        "checks": list(reading.checks or []),
        "entered_reading": reading.entered_reading,
        "recorded_by": reading.recorded_by,
        "recorded_at": reading.recorded_at,
        "reviewed_by": reading.reviewed_by,
        "reviewed_at": reading.reviewed_at,
        "review_note": reading.review_note,
    }


def visible_readings(user: User, status: str | None = None) -> Select[Any]:
    """Readings of the accounts the user may see (oldest period first, then by account number)."""
    stmt = (
        select(MeterReading)
        .join(Account, Account.id == MeterReading.account_id)
        .where(account_in_scope(user, MeterReading.account_id))
        .options(contains_eager(MeterReading.account))
        .order_by(MeterReading.period, Account.account_no)
    )
    if status is not None:
        stmt = stmt.where(MeterReading.status == status)
    return stmt


def get_visible_reading(session: Session, user: User, reading_id: int) -> MeterReading:
    reading = session.scalar(visible_readings(user).where(MeterReading.id == reading_id))
    if reading is None:
        raise NotFound("reading_not_found")
    return reading


def review_reading(
    session: Session,
    reading: MeterReading,
    decision: ReviewReading,
    *,
    actor: User,
    on: dt.date | None = None,
) -> tuple[MeterReading, Bill | None]:
    """Accept or correct a held reading and issue its bill; the one who entered it may not (403 ``same_person``).

    A retry of the same decision (the same corrected value) answers with the reading and its bill as they are;
    another decision on a reviewed reading is a conflict. Accepting a reading still below the last one (no meter
    change or rollover recorded) is refused: it would bill negative usage.
    """
    account = lock_account(session, reading.account_id)  # reviews of one account queue here
    session.refresh(reading)
    if reading.recorded_by is not None and reading.recorded_by == actor.id:
        raise Forbidden("same_person")
    if reading.status in REVIEWED:
        if _same_review(reading, decision):
            return reading, _bill_of(session, reading)
        raise Conflict("reading_already_reviewed", status=reading.status)
    if reading.status != ReadingStatus.HELD:
        raise Conflict("reading_not_held")
    before = {"reading": reading.reading, "peak": reading.peak, "flat": reading.flat, "valley": reading.valley}
    if decision.decision == "correct":
        reading.entered_reading = reading.reading
        reading.reading = decision.total
        bands = decision.bands
        reading.peak, reading.flat, reading.valley = bands if bands is not None else (None, None, None)
    previous = previous_reading(session, account.id, reading.period)
    if previous is not None:
        change = meter_change_for(session, account.id, reading.period)
        lower = usage_between(previous, reading, account.meter_multiplier or Decimal(1), change).lower
        if lower is not None:
            register, last = lower
            if decision.decision == "correct":
                raise InvalidInput.fields({register: Problem("below_previous_reading", previous=last)})
            raise Conflict("reading_lower_than_last", last=last)
    reading.status = ReadingStatus.ACCEPTED if decision.decision == "accept" else ReadingStatus.CORRECTED
    reading.reviewed_by = actor.id
    reading.reviewed_at = utcnow()
    reading.review_note = decision.note
    session.flush()
    trail.record(
        session,
        actor_id=actor.id,
        action="reading.reviewed",
        entity="account",
        entity_id=account.account_no,
        before=before,
        after={
            "reading_id": reading.id,
            "period": reading.period,
            "decision": decision.decision,
            "reading": reading.reading,
            "note": decision.note,
        },
    )
    bill = None
    if previous is not None:
        bill = issue_bill(session, account, reading, previous, actor_id=actor.id, on=on)
    return reading, bill


def _same_review(reading: MeterReading, decision: ReviewReading) -> bool:
    if decision.decision == "accept":
        return reading.status == ReadingStatus.ACCEPTED
    return reading.status == ReadingStatus.CORRECTED and reading.reading == decision.total


def _bill_of(session: Session, reading: MeterReading) -> Bill | None:
    return session.scalar(select(Bill).where(Bill.account_id == reading.account_id, Bill.period == reading.period))


def meter_change_dict(change: MeterChange) -> dict[str, Any]:
    return {
        "id": change.id,
        "period": change.period,
        "kind": change.kind,
        "changed_on": change.changed_on,
        "old_final": change.old_final,
        "new_start": change.new_start,
        "old_multiplier": change.old_multiplier,
        "multiplier": change.multiplier,
        "note": change.note,
    }


def record_meter_change(
    session: Session, account: Account, command: RecordMeterChange, *, actor_id: int | None
) -> MeterChange:
    """Record a meter change (or rollover) before the period's reading; the account takes the new multiplier.

    Allowed while the period has no reading or only a held one (its review then counts across the change);
    refused for a time-of-use meter (its bands are not split across a change).
    """
    account = lock_account(session, account.id)
    period = command.period
    if meter_change_for(session, account.id, period) is not None:
        raise Conflict("meter_change_exists", period=period)
    current = session.scalar(
        select(MeterReading).where(MeterReading.account_id == account.id, MeterReading.period >= period).limit(1)
    )
    if current is not None and not (current.period == period and current.status == ReadingStatus.HELD):
        raise Conflict("reading_exists", period=current.period)
    previous = previous_reading(session, account.id, period)
    if previous is not None and previous.peak is not None:
        raise Conflict("meter_change_time_of_use")
    assert command.old_final is not None and command.new_start is not None  # the command's rules
    if previous is not None and command.old_final < previous.reading:
        raise InvalidInput.fields({"old_final": Problem("below_previous_reading", previous=previous.reading)})
    old_multiplier = account.meter_multiplier or Decimal(1)
    change = MeterChange(
        account_id=account.id,
        period=period,
        kind=command.kind,
        changed_on=command.changed_on,
        old_final=command.old_final,
        new_start=command.new_start,
        old_multiplier=old_multiplier,
        multiplier=command.multiplier or old_multiplier,
        note=command.note,
        recorded_by=actor_id,
    )
    session.add(change)
    account.meter_multiplier = change.multiplier
    session.flush()
    trail.record(
        session,
        actor_id=actor_id,
        action="meter.changed",
        entity="account",
        entity_id=account.account_no,
        after=meter_change_dict(change),
    )
    return change
