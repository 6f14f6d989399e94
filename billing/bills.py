"""Meter readings to bills. An issued bill is never edited; corrections are ``Adjustment`` records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from billing.commands import RecordReading
from billing.ledger import apply_balance
from billing.models import Account, Bill, BillLine, MeterReading, TariffKind
from billing.rules import Rules, current_rules, period_start
from billing.tariffs import price_lines, tariff_for
from billing.topics import BILLS_ISSUED
from core import outbox, trail
from core.db import among
from core.errors import Conflict, InvalidInput, Problem

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
) -> tuple[MeterReading, Bill | None]:
    """Store a cumulative reading and (unless ``issue`` is false) issue the period's bill from the previous one.

    ``data``: the command, or its fields for ``account`` (``period`` and ``reading``, or ``peak``/``flat``/
    ``valley``). The account's first reading is its starting reading and makes no bill.
    """
    command = (
        data if isinstance(data, RecordReading) else RecordReading.parse({"account_no": account.account_no, **data})
    )
    period, reading, band_values = command.period, command.total, command.bands
    account = lock_account(session, account.id)
    if session.scalar(
        select(MeterReading.id).where(MeterReading.account_id == account.id, MeterReading.period == period)
    ):
        raise Conflict("reading_exists", period=period)
    later = session.scalar(
        select(MeterReading.period).where(MeterReading.account_id == account.id, MeterReading.period > period).limit(1)
    )
    if later is not None:
        raise Conflict("reading_out_of_order", later=later)
    previous = session.scalar(
        select(MeterReading)
        .where(MeterReading.account_id == account.id, MeterReading.period < period)
        .order_by(MeterReading.period.desc())
        .limit(1)
    )
    if previous is not None:
        if reading < previous.reading:
            raise InvalidInput.fields({"reading": Problem("below_previous_reading", previous=previous.reading)})
        if band_values is not None and previous.peak is not None:
            prev_bands = (previous.peak, previous.flat or 0, previous.valley or 0)
            for name, now, before in zip(("peak", "flat", "valley"), band_values, prev_bands, strict=True):
                if now < before:
                    raise InvalidInput.fields({name: Problem("below_previous_reading", previous=before)})
    row = MeterReading(
        account_id=account.id,
        period=period,
        reading=reading,
        peak=band_values[0] if band_values else None,
        flat=band_values[1] if band_values else None,
        valley=band_values[2] if band_values else None,
        recorded_by=actor_id,
    )
    session.add(row)
    session.flush()
    trail.record(
        session,
        actor_id=actor_id,
        action="reading.recorded",
        entity="account",
        entity_id=account.account_no,
        after={"period": period, "reading": reading, "bands": list(band_values) if band_values else None},
    )
    bill = None
    if issue and previous is not None:
        bill = issue_bill(session, account, row, previous, actor_id=actor_id, on=on)
    return row, bill


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
    kwh = (reading.reading - previous.reading) * multiplier
    tariff = tariff_for(session, account.tariff_code, period_start(period))
    bands = None
    if tariff.kind == TariffKind.TOU and reading.peak is not None and previous.peak is not None:
        bands = (
            (reading.peak - previous.peak) * multiplier,
            (reading.flat or 0) * multiplier - (previous.flat or 0) * multiplier,
            (reading.valley or 0) * multiplier - (previous.valley or 0) * multiplier,
        )
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
