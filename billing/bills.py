"""Meter readings to bills. An issued bill is never edited; corrections are ``Adjustment`` records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from billing.commands import BANDS, RecordReading
from billing.ledger import ZERO, apply_balance
from billing.models import Account, Bill, BillLine, MeterChange, MeterReading, ReadingStatus, TariffKind
from billing.reading_checks import CheckLimits, Facts, current_limits, run_checks
from billing.rules import Rules, current_rules, period_start, shift_period
from billing.tariffs import price_lines, tariff_for
from billing.topics import BILLS_ISSUED
from core import outbox, trail
from core.db import among
from core.errors import Conflict

_LOCK_ACCOUNT = (
    select(Account)
    .where(Account.id == bindparam("account_id"))
    .with_for_update(key_share=True)
    .execution_options(populate_existing=True)
)


def lock_account(session: Session, account_id: int) -> Account:
    """The account row, locked for the rest of the transaction (SELECT ... FOR NO KEY UPDATE on PostgreSQL).

    Lockers of one account queue behind each other. NO KEY UPDATE (what an UPDATE of the balance takes anyway)
    rather than FOR UPDATE: rows that merely reference the account (a payment being inserted takes a KEY SHARE
    lock on it for its foreign key) neither wait for it nor deadlock with it.
    """
    account = session.scalar(_LOCK_ACCOUNT, {"account_id": account_id})
    assert account is not None
    return account


def lock_accounts(session: Session, account_ids: Iterable[int]) -> None:
    """Lock many accounts' rows at once, in id order, as ``lock_account`` does one (for writers that apply money to
    several accounts in one transaction: taken before any trail append, so they never hold a trail chain while
    waiting for an account that a payment holds while it waits for that chain)."""
    ids = sorted(set(account_ids))
    if ids:
        session.execute(
            select(Account.id)
            .where(among(session, Account.id, ids))
            .order_by(Account.id)
            .with_for_update(key_share=True)
        ).all()


def record_reading(
    session: Session,
    account: Account,
    data: RecordReading | Mapping[str, Any],
    *,
    actor_id: int | None,
    on: dt.date | None = None,
    issue: bool = True,
    limits: CheckLimits | None = None,
) -> tuple[MeterReading, Bill | None]:
    """Store a cumulative reading, check it, and (unless held, or ``issue`` is false) issue the period's bill.

    ``data``: the command, or its fields for ``account`` (``period`` and ``reading``, or ``peak``/``flat``/
    ``valley``). The account's first reading is its starting reading: nothing to check, no bill. A reading that
    fails a check (``billing.reading_checks``) is stored held, with its checks, and makes no bill until a second
    person reviews it (``billing.readings.review_reading``).
    """
    command = (
        data if isinstance(data, RecordReading) else RecordReading.parse({"account_no": account.account_no, **data})
    )
    period, reading, band_values = command.period, command.total, command.bands
    account = lock_account(session, account.id)
    refusal = reading_refusal(session, account.id, period)
    if refusal is not None:
        raise refusal
    previous = previous_reading(session, account.id, period)
    row = MeterReading(
        account_id=account.id,
        period=period,
        reading=reading,
        peak=band_values[0] if band_values else None,
        flat=band_values[1] if band_values else None,
        valley=band_values[2] if band_values else None,
        recorded_by=actor_id,
        status=ReadingStatus.PASSED,
        checks=[],
    )
    if previous is not None:
        row.checks = check_reading(session, account, row, previous, limits or current_limits())
        if row.checks:
            row.status = ReadingStatus.HELD
    session.add(row)
    session.flush()
    trail.record(
        session,
        actor_id=actor_id,
        action="reading.recorded",
        entity="account",
        entity_id=account.account_no,
        after={
            "reading_id": row.id,
            "period": period,
            "reading": reading,
            "bands": list(band_values) if band_values else None,
            "status": row.status,
        },
    )
    if row.status == ReadingStatus.HELD:
        trail.record(
            session,
            actor_id=actor_id,
            action="reading.held",
            entity="account",
            entity_id=account.account_no,
            after={"reading_id": row.id, "period": period, "checks": row.checks},
        )
        return row, None
    bill = None
    if issue and previous is not None:
        bill = issue_bill(session, account, row, previous, actor_id=actor_id, on=on)
    return row, bill


def reading_refusal(session: Session, account_id: int, period: str) -> Conflict | None:
    """Why the account may not take a reading for ``period`` (None: it may): one exists, a later one exists, or
    the previous one waits for review."""
    if session.scalar(
        select(MeterReading.id).where(MeterReading.account_id == account_id, MeterReading.period == period)
    ):
        return Conflict("reading_exists", period=period)
    later = session.scalar(
        select(MeterReading.period).where(MeterReading.account_id == account_id, MeterReading.period > period).limit(1)
    )
    if later is not None:
        return Conflict("reading_out_of_order", later=later)
    previous = previous_reading(session, account_id, period)
    if previous is not None and previous.status == ReadingStatus.HELD:
        return Conflict("previous_reading_held", period=previous.period)
    return None


def previous_reading(session: Session, account_id: int, period: str) -> MeterReading | None:
    """The account's latest reading before ``period``."""
    return session.scalar(
        select(MeterReading)
        .where(MeterReading.account_id == account_id, MeterReading.period < period)
        .order_by(MeterReading.period.desc())
        .limit(1)
    )


def meter_change_for(session: Session, account_id: int, period: str) -> MeterChange | None:
    return session.scalar(select(MeterChange).where(MeterChange.account_id == account_id, MeterChange.period == period))


@dataclass(frozen=True)
class Usage:
    """A period's usage between two readings: ``kwh`` (times the multipliers), the TOU ``bands`` when both
    readings have them, and ``lower`` (the register and its last value) when a register went backwards."""

    kwh: Decimal
    bands: tuple[Decimal, Decimal, Decimal] | None
    lower: tuple[str, Decimal] | None


def usage_between(previous: Any, reading: Any, multiplier: Decimal, change: MeterChange | None = None) -> Usage:
    """The usage from ``previous`` to ``reading`` (rows or anything with ``reading``/``peak``/``flat``/``valley``).

    With a meter change (or rollover) in the period: the old meter's part up to its final reading at its
    multiplier, plus the new meter's part from its start at ``change.multiplier`` (bands are not split then).
    """
    if change is not None:
        kwh = (change.old_final - previous.reading) * change.old_multiplier + (
            reading.reading - change.new_start
        ) * change.multiplier
        lower = ("reading", change.new_start) if reading.reading < change.new_start else None
        return Usage(kwh, None, lower)
    lower = ("reading", previous.reading) if reading.reading < previous.reading else None
    kwh = (reading.reading - previous.reading) * multiplier
    bands = None
    if reading.peak is not None and previous.peak is not None:
        now = (reading.peak, reading.flat or ZERO, reading.valley or ZERO)
        before = (previous.peak, previous.flat or ZERO, previous.valley or ZERO)
        bands = tuple((a - b) * multiplier for a, b in zip(now, before, strict=True))
        for name, a, b in zip(BANDS, now, before, strict=True):
            if lower is None and a < b:
                lower = (name, b)
    return Usage(kwh, bands, lower)  # type: ignore[arg-type]


def check_reading(
    session: Session, account: Account, row: MeterReading, previous: MeterReading, limits: CheckLimits
) -> list[dict[str, Any]]:
    """The checks ``row`` fails against the account's previous reading and past bills (``reading_checks``)."""
    change = meter_change_for(session, account.id, row.period)
    used = usage_between(previous, row, account.meter_multiplier or Decimal(1), change)
    oldest = shift_period(row.period, -limits.recent_months)
    recent = list(
        session.scalars(
            select(Bill.kwh).where(Bill.account_id == account.id, Bill.period >= oldest, Bill.period < row.period)
        )
    )
    last_year = session.scalar(
        select(Bill.kwh).where(Bill.account_id == account.id, Bill.period == shift_period(row.period, -12))
    )
    facts = Facts(
        kwh=used.kwh if used.bands is None else sum(used.bands, ZERO),
        category=account.category,
        capacity_kva=account.capacity_kva,
        recent_kwh=recent,
        last_year_kwh=last_year,
        lower=used.lower,
    )
    return run_checks(facts, limits)


def year_kwh_before(session: Session, account_id: int, period: str) -> Decimal:
    total = session.scalar(
        select(func.coalesce(func.sum(Bill.kwh), 0)).where(
            Bill.account_id == account_id, Bill.period >= period[:4] + "-01", Bill.period < period
        )
    )
    return Decimal(total or 0)


def issue_bill(
    session: Session,
    account: Account,
    reading: MeterReading,
    previous: MeterReading,
    *,
    actor_id: int | None,
    on: dt.date | None = None,
    rules: Rules | None = None,
    announce: bool = True,
) -> Bill:
    """Issue the bill for ``reading.period`` (the caller holds the account lock); balance pays it at once.

    The bill is announced in the same transaction (``billing.topics.BILLS_ISSUED``); ``announce`` false issues it
    unannounced (demo history, or a bill run that announces its whole chunk in one message).
    """
    rules = rules or current_rules()
    period = reading.period
    multiplier = account.meter_multiplier or Decimal(1)
    change = meter_change_for(session, account.id, period)
    used = usage_between(previous, reading, multiplier, change)
    kwh, bands = used.kwh, None
    tariff = tariff_for(session, account.tariff_code, period_start(period))
    if tariff.kind == TariffKind.TOU and used.bands is not None:
        bands = used.bands
        kwh = sum(bands, Decimal(0))
    lines = price_lines(tariff, kwh, year_kwh_before(session, account.id, period), bands)
    bill = Bill(
        account_id=account.id,
        period=period,
        category=account.category,
        tariff_id=tariff.id,
        reading_id=reading.id,
        kwh=kwh,
        amount=sum((line.amount for line in lines), Decimal("0.00")),
        due_date=rules.due_date(period),
        start_reading=previous.reading,
        end_reading=reading.reading,
        multiplier=multiplier,
        meter_change_id=change.id if change is not None else None,
        lines=[
            BillLine(seq=i + 1, item=line.item, kwh=line.kwh, price=line.price, amount=line.amount)
            for i, line in enumerate(lines)
        ],
    )
    if on is not None:
        bill.issued_at = dt.datetime.combine(on, dt.time(1, 0), tzinfo=dt.UTC)
    session.add(bill)
    session.flush()
    trail.record(
        session,
        actor_id=actor_id,
        action="bill.issued",
        entity="bill",
        entity_id=bill.id,
        after=bill_record(account, bill),
    )
    applications = apply_balance(session, account, on or bill.issued_at.date(), rules)
    if applications:
        trail.record(
            session,
            actor_id=actor_id,
            action="balance.applied",
            entity="account",
            entity_id=account.account_no,
            after={"bill_id": bill.id, "applied": [[a.bill_id, a.principal, a.late_fee] for a in applications]},
        )
    if announce:
        outbox.put(session, BILLS_ISSUED, {"period": period, "bill_ids": [bill.id]})
    return bill


def bill_record(account: Account, bill: Bill) -> dict[str, Any]:
    return {
        "account_no": account.account_no,
        "period": bill.period,
        "kwh": bill.kwh,
        "amount": bill.amount,
        "due_date": bill.due_date,
        "tariff_id": bill.tariff_id,
        "lines": [[line.item, line.kwh, line.price, line.amount] for line in bill.lines],
    }
