"""The batch bill run: every account with a reading for the period and no bill yet gets its bill.

Work goes in chunks, each its own transaction, so a crash loses at most the chunk in flight and a re-run
continues with the accounts still without a bill (the unique (account, period) key refuses a second bill).
On PostgreSQL a chunk's accounts are locked with ``FOR UPDATE SKIP LOCKED``, so two runs at once share the
work instead of colliding. Bills, lines and trail events go in as bulk inserts.
"""

from __future__ import annotations

import datetime as dt
import gc
import multiprocessing
import queue
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from billing.bills import issue_bill, lock_account, lock_accounts
from billing.models import Account, Bill, BillLine, MeterChange, MeterReading, ReadingStatus, TariffKind
from billing.rules import Rules, current_rules, period_start
from billing.tariffs import Line, PriceTable, price_lines, tariff_for
from billing.topics import BILLS_ISSUED
from core import outbox, trail
from core.db import copy_rows, reserve_ids, utcnow
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


def _still_pending(new_session: Callable[[], Session], period: str) -> int:
    """``pending_count`` in a session of its own (after a run: what it left unbilled)."""
    session = new_session()
    try:
        return pending_count(session, period)
    finally:
        session.close()


def _pending(period: str, after_id: int = 0) -> Any:
    # the billed accounts above the cursor only: the NOT IN set (hashed once per claim) stays small instead of
    # growing with every chunk already billed
    billed = select(Bill.account_id).where(Bill.period == period, Bill.account_id > after_id)
    return (
        select(MeterReading.account_id)
        .where(
            MeterReading.period == period,
            MeterReading.account_id > after_id,
            MeterReading.account_id.not_in(billed),
            MeterReading.status != ReadingStatus.HELD,  # a held reading bills once reviewed, not here
        )
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
    tariffs: dict[str, PriceTable | None] = {}
    after_id = 0
    while True:
        session = new_session()
        try:
            ids, last_seen = _claim(session, period, after_id, chunk)
            if not last_seen:
                session.rollback()
                break
            after_id = last_seen
            issued, skipped = _bill_chunk(session, period, ids, rules, actor_id, issued_on, tariffs=tariffs)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        result.issued += issued
        result.skipped_no_tariff += skipped
        if progress:
            progress(len(ids))
    result.remaining = _still_pending(new_session, period)
    return result


def run_period_in_processes(
    database_url: str,
    period: str,
    *,
    workers: int,
    chunk: int = DEFAULT_CHUNK,
    actor_id: int | None = None,
    progress: Callable[[int], None] | None = None,
    rules: Rules | None = None,
    issued_on: dt.date | None = None,
) -> RunResult:
    """``run_period`` in ``workers`` forked processes at once (PostgreSQL), the same result as one process.

    Each process claims its own chunks (``FOR UPDATE SKIP LOCKED``), so one prices its chunk in Python while
    another's is written by the database: on one interpreter that work would take turns. Progress comes back
    over a queue. A failed worker fails the run; the chunks committed stay, and a re-run finishes the rest.
    """
    from core.db import db  # the process-wide engine: closed before the fork, re-opened in every worker

    rules = rules or current_rules()
    if workers <= 1:
        return run_period(
            db.new_session, period, chunk=chunk, actor_id=actor_id, progress=progress, rules=rules, issued_on=issued_on
        )
    assert db.engine is not None
    db.engine.dispose()  # no pooled connection may be shared with the children
    fork = multiprocessing.get_context("fork")
    reports: Any = fork.Queue()

    def work() -> None:
        try:
            gc.freeze()  # the inherited heap: collections in this worker need not walk it again
            db.init_after_fork(database_url)
            done = run_period(
                db.new_session,
                period,
                chunk=chunk,
                actor_id=actor_id,
                progress=lambda n: reports.put(("progress", n)),
                rules=rules,
                issued_on=issued_on,
            )
            outbox.flush()  # a forked worker exits without atexit hooks: ask for the relay of its last chunk now
            reports.put(("done", (done.issued, done.skipped_no_tariff)))
        except BaseException:
            reports.put(("failed", traceback.format_exc()))
            raise

    processes = [fork.Process(target=work, name=f"bill-run-{i + 1}") for i in range(workers)]
    for process in processes:
        process.start()
    result = RunResult(period=period)
    failures: list[str] = []
    finished = 0
    while finished < workers:
        try:
            kind, value = reports.get(timeout=1.0)
        except queue.Empty:
            if not any(p.is_alive() for p in processes) and reports.empty():
                failures.append("a bill-run worker died without a report")
                break
            continue
        if kind == "progress":
            if progress:
                progress(value)
        elif kind == "done":
            result.issued += value[0]
            result.skipped_no_tariff += value[1]
            finished += 1
        else:
            failures.append(value)
            finished += 1
    for process in processes:
        process.join()
    if failures:
        raise RuntimeError("bill run worker failed:\n" + "\n".join(failures))
    result.remaining = _still_pending(db.new_session, period)
    return result


def _claim(session: Session, period: str, after_id: int, chunk: int) -> tuple[list[int], int]:
    """The next chunk of accounts to bill and the last account id looked at (0 when nothing is left)."""
    stmt = _pending(period, after_id).limit(chunk)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=MeterReading, skip_locked=True)
    ids = list(session.connection().execute(stmt).scalars())
    if not ids:
        return [], 0
    # another run may have committed bills between our snapshot and our lock
    billed = set(
        session.scalars(select(Bill.account_id).where(Bill.period == period, Bill.account_id.between(ids[0], ids[-1])))
    )
    return [i for i in ids if i not in billed], ids[-1]


class _Facts(NamedTuple):
    """What billing one account needs: the account, this period's reading, the latest earlier one, year kWh.

    A named tuple: a frozen dataclass's per-field ``object.__setattr__`` showed in the bill run's profile."""

    account: Any
    reading: Any
    previous: Any
    year_kwh: Decimal


def _chunk_facts(session: Session, period: str, ids: list[int]) -> list[_Facts]:
    """The chunk's billable accounts (those with this period's reading and an earlier one), in id order.

    Three plain-row queries joined in memory, run on the session's connection (Core rows: the ORM's result
    processing cost more than the queries). They select the claimed ids' range, not the ids: a claim is the next
    pending accounts in id order, so its range holds little else (accounts billed already or claimed by another
    worker, dropped here), and a range costs neither the driver's array dumping nor the planner's guessing.
    """
    if not ids:
        return []
    wanted = set(ids)
    low, high = min(ids), max(ids)
    conn = session.connection()
    rows = conn.execute(
        select(
            Account.id,
            Account.account_no,
            Account.category,
            Account.tariff_code,
            Account.meter_multiplier,
            Account.balance,
            MeterReading.id.label("reading_id"),
            MeterReading.reading,
            MeterReading.peak,
            MeterReading.flat,
            MeterReading.valley,
        )
        .join(MeterReading, (MeterReading.account_id == Account.id) & (MeterReading.period == period))
        # the readings' own range lets PostgreSQL probe the (account_id, period) index
        .where(Account.id.between(low, high), MeterReading.account_id.between(low, high))
        .order_by(Account.id)
    ).all()
    latest = (
        select(MeterReading.account_id, func.max(MeterReading.period).label("period"))
        .where(MeterReading.account_id.between(low, high), MeterReading.period < period)
        .group_by(MeterReading.account_id)
        .subquery()
    )
    previous = {
        r.account_id: r
        for r in conn.execute(
            select(
                MeterReading.account_id, MeterReading.reading, MeterReading.peak, MeterReading.flat, MeterReading.valley
            ).join(latest, (MeterReading.account_id == latest.c.account_id) & (MeterReading.period == latest.c.period))
        )
    }
    year_kwh: dict[int, Decimal] = dict(
        conn.execute(  # type: ignore[arg-type]
            select(Bill.account_id, func.sum(Bill.kwh))
            .where(Bill.account_id.between(low, high), Bill.period >= period[:4] + "-01", Bill.period < period)
            .group_by(Bill.account_id)
        ).all()
    )
    zero = Decimal(0)
    return [
        _Facts(row, row, previous[row.id], Decimal(year_kwh.get(row.id) or zero))
        for row in rows
        if row.id in wanted and row.id in previous  # a starting reading makes no bill
    ]


def _tariff(session: Session, code: str, on: dt.date, cache: dict[str, PriceTable | None]) -> PriceTable | None:
    """The prices of the tariff valid on ``on`` (plain values, usable from any session), cached per run."""
    if code not in cache:
        try:
            cache[code] = PriceTable.of(tariff_for(session, code, on))
        except NotFound:
            cache[code] = None
    return cache[code]


_BILL_COLUMNS = (
    "id",
    "account_id",
    "period",
    "category",
    "tariff_id",
    "reading_id",
    "kwh",
    "amount",
    "due_date",
    "start_reading",
    "end_reading",
    "multiplier",
)
_LINE_COLUMNS = ("bill_id", "seq", "item", "kwh", "price", "amount")


def _bill_chunk(
    session: Session,
    period: str,
    ids: list[int],
    rules: Rules,
    actor_id: int | None,
    issued_on: dt.date | None,
    announce: bool = True,
    tariffs: dict[str, PriceTable | None] | None = None,
) -> tuple[int, int]:
    """Bill the chunk's accounts in the caller's transaction: (issued, skipped without tariff).

    Accounts with a balance go through ``issue_bill`` (the balance pays the bill at once); the others are priced
    in memory and written with one COPY per table (bills, lines, trail events) on PostgreSQL. With ``announce``
    the chunk's bills are announced in one outbox message (``BILLS_ISSUED``), in the same transaction.
    """
    tariffs = {} if tariffs is None else tariffs
    start = period_start(period)
    issued_at = dt.datetime.combine(issued_on, dt.time(1, 0), tzinfo=dt.UTC) if issued_on else utcnow()
    due = rules.due_date(period)
    zero = Decimal(0)
    priced: list[tuple[Any, PriceTable, Decimal, list[Line], Decimal]] = []
    with_balance: list[int] = []
    balance_account_nos: list[str] = []
    skipped = 0
    chunk_facts = _chunk_facts(session, period, ids)
    changed = _with_meter_change(session, period, chunk_facts)
    for facts in chunk_facts:
        row, before = facts.account, facts.previous
        if row.balance > 0 or row.id in changed:
            # balance has to be applied, or usage spans a meter change: the single-bill path does that
            with_balance.append(row.id)
            balance_account_nos.append(row.account_no)
            continue
        tariff = _tariff(session, row.tariff_code, start, tariffs)
        if tariff is None:
            skipped += 1
            continue
        multiplier = row.meter_multiplier or Decimal(1)
        kwh = (row.reading - before.reading) * multiplier
        bands = None
        if tariff.kind == TariffKind.TOU and row.peak is not None and before.peak is not None:
            bands = (
                (row.peak - before.peak) * multiplier,
                ((row.flat or 0) - (before.flat or 0)) * multiplier,
                ((row.valley or 0) - (before.valley or 0)) * multiplier,
            )
            kwh = sum(bands, zero)
        priced.append((row, tariff, kwh, price_lines(tariff, kwh, facts.year_kwh, bands), before.reading))
    issued_ids: list[int] = []
    prepared = trail.PreparedEvents(utcnow(), [])
    if priced:
        bill_ids = reserve_ids(session, Bill, len(priced))
        bill_rows = []
        for row, tariff, kwh, lines, start_reading in priced:
            amount = sum((line.amount for line in lines), Decimal("0.00"))
            multiplier = row.meter_multiplier or Decimal(1)
            bill_rows.append([None, row.id, period, row.category, tariff.id, row.reading_id, kwh, amount, due])
            bill_rows[-1].extend((start_reading, row.reading, multiplier))  # the columns in _BILL_COLUMNS' order
        if bill_ids is None:  # no sequence to draw from (SQLite): the INSERT tells the ids
            made = session.execute(
                insert(Bill).returning(Bill.id, sort_by_parameter_order=True),
                [{**dict(zip(_BILL_COLUMNS[1:], r[1:], strict=True)), "issued_at": issued_at} for r in bill_rows],
            )
            bill_ids = [bill_id for (bill_id,) in made]
        else:
            for bill_row, bill_id in zip(bill_rows, bill_ids, strict=True):
                bill_row[0] = bill_id
            copy_rows(session, Bill, (*_BILL_COLUMNS, "issued_at"), [(*r, issued_at) for r in bill_rows])
        line_rows = [
            (bill_id, i + 1, line.item, line.kwh, line.price, line.amount)
            for bill_id, (_row, _tariff, _kwh, lines, _start) in zip(bill_ids, priced, strict=True)
            for i, line in enumerate(lines)
        ]
        copy_rows(session, BillLine, _LINE_COLUMNS, line_rows)
        prepared = trail.prepare_many(_issued_events(bill_ids, bill_rows, priced, period, due, actor_id), plain=True)
        issued_ids = list(bill_ids)
    # the accounts whose balance pays their bill, then the trail chains of the whole chunk, before any append:
    # a payment holding one of these accounts then never waits for a chain this chunk holds (see core.trail)
    lock_accounts(session, with_balance)
    trail.lock_chains(session, [row.account_no for row, *_ in priced] + balance_account_nos)
    trail.append_prepared(session, prepared)
    if with_balance:
        previous = {r.account_id: r for r in _previous_readings(session, period, with_balance)}
        current = {
            r.account_id: r
            for r in session.scalars(
                select(MeterReading).where(MeterReading.period == period, MeterReading.account_id.in_(with_balance))
            )
        }
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
                announce=False,
            )
            issued_ids.append(bill.id)
    if announce and issued_ids:
        outbox.put(session, BILLS_ISSUED, {"period": period, "bill_ids": issued_ids})
    return len(issued_ids), skipped


def _with_meter_change(session: Session, period: str, chunk_facts: list[_Facts]) -> set[int]:
    """The chunk's accounts with a meter change (or rollover) recorded for the period."""
    if not chunk_facts:
        return set()
    low, high = chunk_facts[0].account.id, chunk_facts[-1].account.id
    return set(
        session.connection()
        .execute(
            select(MeterChange.account_id).where(
                MeterChange.period == period, MeterChange.account_id.between(low, high)
            )
        )
        .scalars()
    )


def _issued_events(
    bill_ids: list[int], bill_rows: list[list[Any]], priced: list[Any], period: str, due: dt.date, actor_id: int | None
) -> Iterator[dict[str, Any]]:
    """The trail's ``bill.issued`` event of every bill of the chunk."""
    due_text = due.isoformat()
    for bill_id, bill_row, (row, tariff, kwh, lines, _start) in zip(bill_ids, bill_rows, priced, strict=True):
        yield {
            "actor_id": actor_id,
            "action": "bill.issued",
            "entity": "bill",
            "entity_id": bill_id,
            "after": {  # bill_record's content, already as the trail stores it (strings, not Decimals)
                "account_no": row.account_no,
                "period": period,
                "kwh": str(kwh),
                "amount": str(bill_row[7]),
                "due_date": due_text,
                "tariff_id": tariff.id,
                "lines": [[x.item, str(x.kwh), str(x.price), str(x.amount)] for x in lines],
                "run": True,
            },
        }


def _previous_readings(session: Session, period: str, ids: list[int]) -> list[MeterReading]:
    latest = (
        select(MeterReading.account_id, func.max(MeterReading.period).label("period"))
        .where(MeterReading.account_id.in_(ids), MeterReading.period < period)
        .group_by(MeterReading.account_id)
        .subquery()
    )
    return list(
        session.scalars(
            select(MeterReading).join(
                latest, (MeterReading.account_id == latest.c.account_id) & (MeterReading.period == latest.c.period)
            )
        )
    )


def chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
