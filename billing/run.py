"""The batch bill run: every account with a reading for the period and no bill yet gets its bill.

Work goes in chunks, each its own transaction, so a crash loses at most the chunk in flight and a re-run
continues with the accounts still without a bill (the unique (account, period) key refuses a second bill).
On PostgreSQL a chunk's accounts are locked with ``FOR UPDATE SKIP LOCKED``, so two runs at once share the
work instead of colliding. Bills, lines and trail events go in as bulk inserts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from billing import signals
from billing.bills import issue_bill, lock_account
from billing.models import Account, Bill, BillLine, MeterReading, Tariff, TariffKind
from billing.rules import Rules, current_rules, period_start
from billing.tariffs import price_lines, tariff_for
from core import trail
from core.errors import NotFound

DEFAULT_CHUNK = 2000


@dataclass
class RunResult:
    period: str
    issued: int = 0
    skipped_no_tariff: int = 0
    remaining: int = 0


def pending_count(session: Session, period: str) -> int:
    return int(session.scalar(select(func.count()).select_from(_pending(period).subquery())) or 0)


def _pending(period: str) -> Any:
    billed = select(Bill.account_id).where(Bill.period == period)
    return (
        select(MeterReading.account_id)
        .where(MeterReading.period == period, MeterReading.account_id.not_in(billed))
        .order_by(MeterReading.account_id)
    )


def run_period(
    new_session: Callable[[], Session],
    period: str,
    *,
    chunk: int = DEFAULT_CHUNK,
    actor_id: int | None = None,
    progress: Callable[[int], None] | None = None,
    rules: Rules | None = None,
    issued_on: dt.date | None = None,
) -> RunResult:
    """Issue the period's bills chunk by chunk (each chunk committed); ``progress(n)`` after each chunk."""
    rules = rules or current_rules()
    result = RunResult(period=period)
    after_id = 0
    while True:
        session = new_session()
        try:
            ids, last_seen = _claim(session, period, after_id, chunk)
            if not last_seen:
                session.rollback()
                break
            after_id = last_seen
            issued, skipped, sent = _bill_chunk(session, period, ids, rules, actor_id, issued_on)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        for values in sent:
            signals.bill_issued.send("billing", **values)
        result.issued += issued
        result.skipped_no_tariff += skipped
        if progress:
            progress(len(ids))
    with_session = new_session()
    try:
        result.remaining = pending_count(with_session, period)
    finally:
        with_session.close()
    return result


def _claim(session: Session, period: str, after_id: int, chunk: int) -> tuple[list[int], int]:
    """The next chunk of accounts to bill and the last account id looked at (0 when nothing is left)."""
    stmt = _pending(period).where(MeterReading.account_id > after_id).limit(chunk)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=MeterReading, skip_locked=True)
    ids = list(session.scalars(stmt))
    if not ids:
        return [], 0
    # another run may have committed bills between our snapshot and our lock
    billed = set(session.scalars(select(Bill.account_id).where(Bill.period == period, Bill.account_id.in_(ids))))
    return [i for i in ids if i not in billed], ids[-1]


def _previous_readings(session: Session, period: str, ids: list[int]) -> dict[int, MeterReading]:
    latest = (
        select(MeterReading.account_id, func.max(MeterReading.period).label("period"))
        .where(MeterReading.account_id.in_(ids), MeterReading.period < period)
        .group_by(MeterReading.account_id)
        .subquery()
    )
    rows = session.scalars(
        select(MeterReading).join(
            latest, (MeterReading.account_id == latest.c.account_id) & (MeterReading.period == latest.c.period)
        )
    )
    return {r.account_id: r for r in rows}


def _bill_chunk(
    session: Session,
    period: str,
    ids: list[int],
    rules: Rules,
    actor_id: int | None,
    issued_on: dt.date | None,
    announce: bool = True,
) -> tuple[int, int, list[dict[str, Any]]]:
    accounts = {a.id: a for a in session.scalars(select(Account).where(Account.id.in_(ids)))}
    current = {
        r.account_id: r
        for r in session.scalars(
            select(MeterReading).where(MeterReading.period == period, MeterReading.account_id.in_(ids))
        )
    }
    previous = _previous_readings(session, period, ids)
    year_kwh: dict[int, Decimal] = dict(
        session.execute(  # type: ignore[arg-type]
            select(Bill.account_id, func.sum(Bill.kwh))
            .where(Bill.account_id.in_(ids), Bill.period >= period[:4] + "-01", Bill.period < period)
            .group_by(Bill.account_id)
        ).all()
    )
    tariffs: dict[str, Tariff | None] = {}
    start = period_start(period)
    issued_at = dt.datetime.combine(issued_on, dt.time(1, 0), tzinfo=dt.UTC) if issued_on else None
    due = rules.due_date(period)
    bill_rows: list[dict[str, Any]] = []
    lines_by_account: dict[int, list[Any]] = {}
    with_balance: list[int] = []
    skipped = 0
    for account_id in ids:
        account, reading, before = accounts.get(account_id), current.get(account_id), previous.get(account_id)
        if account is None or reading is None or before is None:
            continue  # a starting reading makes no bill
        if account.balance > 0:
            with_balance.append(account_id)  # balance has to be applied: the single-bill path does that
            continue
        if account.tariff_code not in tariffs:
            try:
                tariffs[account.tariff_code] = tariff_for(session, account.tariff_code, start)
            except NotFound:
                tariffs[account.tariff_code] = None
        tariff = tariffs[account.tariff_code]
        if tariff is None:
            skipped += 1
            continue
        multiplier = account.meter_multiplier or Decimal(1)
        kwh = (reading.reading - before.reading) * multiplier
        bands = None
        if tariff.kind == TariffKind.TOU and reading.peak is not None and before.peak is not None:
            bands = (
                (reading.peak - before.peak) * multiplier,
                ((reading.flat or 0) - (before.flat or 0)) * multiplier,
                ((reading.valley or 0) - (before.valley or 0)) * multiplier,
            )
            kwh = sum(bands, Decimal(0))
        lines = price_lines(tariff, kwh, Decimal(year_kwh.get(account_id) or 0), bands)
        lines_by_account[account_id] = lines
        row: dict[str, Any] = {
            "account_id": account_id,
            "period": period,
            "category": account.category,
            "tariff_id": tariff.id,
            "reading_id": reading.id,
            "kwh": kwh,
            "amount": sum((line.amount for line in lines), Decimal("0.00")),
            "due_date": due,
        }
        if issued_at is not None:
            row["issued_at"] = issued_at
        bill_rows.append(row)
    sent: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    if bill_rows:
        made = session.execute(insert(Bill).returning(Bill.id, Bill.account_id), bill_rows).all()
        bill_ids = {account_id: bill_id for bill_id, account_id in made}
        line_rows = [
            {
                "bill_id": bill_ids[account_id],
                "seq": i + 1,
                "item": line.item,
                "kwh": line.kwh,
                "price": line.price,
                "amount": line.amount,
            }
            for account_id, lines in lines_by_account.items()
            for i, line in enumerate(lines)
        ]
        session.execute(insert(BillLine), line_rows)
        for row in bill_rows:
            account = accounts[row["account_id"]]
            bill_id = bill_ids[row["account_id"]]
            lines = lines_by_account[row["account_id"]]
            events.append(
                {
                    "actor_id": actor_id,
                    "action": "bill.issued",
                    "entity": "bill",
                    "entity_id": bill_id,
                    "after": {
                        "account_no": account.account_no,
                        "period": period,
                        "kwh": row["kwh"],
                        "amount": row["amount"],
                        "due_date": due,
                        "tariff_id": row["tariff_id"],
                        "lines": [[x.item, x.kwh, x.price, x.amount] for x in lines],
                        "run": True,
                    },
                }
            )
            sent.append(
                {
                    "account_no": account.account_no,
                    "period": period,
                    "amount": row["amount"],
                    "due_date": due,
                    "bill_id": bill_id,
                }
            )
        trail.record_many(session, events)
    issued = len(bill_rows)
    for account_id in with_balance:
        account = lock_account(session, account_id)
        bill = issue_bill(
            session,
            account,
            current[account_id],
            previous[account_id],
            actor_id=actor_id,
            on=issued_on,
            rules=rules,
            announce=announce,
        )
        issued += 1
        del bill
    return issued, skipped, sent


def chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
