"""Moving in: accounts loaded from a marketing system's export (CSV or .xlsx).

The whole file is validated first: every bad row is reported with its line and reason, and nothing is written when
any row is bad (unless the caller skips the bad rows). Rows whose account exists with the same details are left
alone, so a re-run loads nothing twice; an account number that exists with other details is a bad row. Good rows are
written in batches (COPY on PostgreSQL), each batch with its accounts' last readings and one ``accounts.imported``
trail event naming the batch.

Columns (header row, any order): account_no, holder_name, id_last4, address, lat, lon, category, capacity_kva,
tariff_code, unit_code, connected_on, meter_multiplier, last_reading_period, last_reading. Empty optional cells are
left out; ``last_reading`` and ``last_reading_period`` go together.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.commands import OpenAccount
from billing.models import Account, AccountStatus, MeterReading, ReadingStatus, Tariff
from billing.rules import parse_period
from core import trail
from core.db import copy_rows, refresh_statistics, reserve_ids, utcnow
from core.errors import InvalidInput, Problem
from core.identity import Unit
from core.security import keyed_hash

COLUMNS = (
    "account_no",
    "holder_name",
    "id_last4",
    "address",
    "lat",
    "lon",
    "category",
    "capacity_kva",
    "tariff_code",
    "unit_code",
    "connected_on",
    "meter_multiplier",
    "last_reading_period",
    "last_reading",
)
REQUIRED_COLUMNS = ("account_no", "holder_name", "id_last4", "category", "capacity_kva", "tariff_code", "unit_code")
BATCH = 5000
# what a batch stores of an account, in this order (the file's columns but resolved: the ID hash, the unit's id)
_ACCOUNT_COLUMNS = (
    "account_no", "holder_name", "id_last4_hash", "address", "lat", "lon", "category",
    "capacity_kva", "tariff_code", "unit_id", "status", "connected_on", "meter_multiplier", "balance", "created_at",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class GoodRow:
    """A valid row as it will be stored: ``values`` in ``_ACCOUNT_COLUMNS`` order but for ``created_at``."""

    line: int
    values: tuple[Any, ...]
    reading: tuple[str, Decimal] | None  # (period, cumulative reading)

    @property
    def account_no(self) -> str:
        return str(self.values[0])


@dataclass
class ImportPlan:
    """What validation found: rows to write, accounts already present, and every bad row (line -> problems)."""

    good: list[GoodRow] = field(default_factory=list)
    present: int = 0
    bad: dict[int, dict[str, Problem]] = field(default_factory=dict)


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, {column: text}) for every data row of a CSV (UTF-8, BOM allowed) or .xlsx file (its first sheet);
    the header is line 1. InvalidInput ``account_file_columns`` when a required column is missing."""
    rows = _xlsx_rows(path) if path.suffix.lower() == ".xlsx" else _csv_rows(path)
    header = [str(name or "").strip().lower() for name in next(rows, [])]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise InvalidInput("account_file_columns", missing=missing)
    for line, values in enumerate(rows, start=2):
        cells = [_text(v) for v in values]
        if not any(cells):
            continue
        yield line, {name: cells[i] if i < len(cells) else "" for i, name in enumerate(header) if name in COLUMNS}


def _csv_rows(path: Path) -> Iterator[Sequence[Any]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        yield from csv.reader(handle)


def _xlsx_rows(path: Path) -> Iterator[Sequence[Any]]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        yield from workbook.worksheets[0].iter_rows(values_only=True)
    finally:
        workbook.close()


def _text(value: Any) -> str:
    """A cell as the text a CSV would hold: whole numbers without ``.0``, dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def validate(session: Session, rows: Iterator[tuple[int, dict[str, str]]], *, id_hash_key: str) -> ImportPlan:
    """Check every row (fields, unit, tariff, repeats in the file, accounts that exist) before anything is written."""
    units = dict(session.execute(select(Unit.code, Unit.id)).all())
    tariffs = set(session.scalars(select(Tariff.code).distinct()))
    plan = ImportPlan()
    seen: dict[str, int] = {}
    parsed: list[GoodRow] = []
    for line, cells in rows:
        problems: dict[str, Problem] = {}
        data = {k: v for k, v in cells.items() if v != "" and k not in ("last_reading", "last_reading_period")}
        account: OpenAccount | None = None
        try:
            account = OpenAccount.parse(data)
        except InvalidInput as exc:
            problems.update(exc.problems)
        reading = _reading(cells, problems)
        if account is not None:
            if account.unit_code not in units:
                problems["unit_code"] = Problem("unknown_unit")
            if account.tariff_code not in tariffs:
                problems["tariff_code"] = Problem("unknown_tariff")
            first = seen.setdefault(account.account_no, line)
            if first != line:
                problems["account_no"] = Problem("repeated_in_file", line=first)
        if problems:
            plan.bad[line] = problems
        elif account is not None:
            parsed.append(GoodRow(line, _values(account, units[account.unit_code], id_hash_key), reading))
    existing = _existing(session, [r.account_no for r in parsed])
    for row in parsed:
        stored = existing.get(row.account_no)
        if stored is None:
            plan.good.append(row)
        elif stored == (row.values[1], row.values[2], row.values[9]):  # holder, ID hash, unit
            plan.present += 1
        else:
            plan.bad[row.line] = {"account_no": Problem("exists_differently")}
    return plan


def _values(a: OpenAccount, unit_id: int, id_hash_key: str) -> tuple[Any, ...]:
    return (
        a.account_no,
        a.holder_name,
        keyed_hash(id_hash_key, a.id_last4),
        a.address,
        a.lat,
        a.lon,
        str(a.category),
        a.capacity_kva,
        a.tariff_code,
        unit_id,
        str(AccountStatus.ACTIVE),
        a.connected_on,
        a.meter_multiplier if a.meter_multiplier is not None else Decimal(1),
        Decimal("0.00"),
    )


def _reading(row: dict[str, str], problems: dict[str, Problem]) -> tuple[str, Decimal] | None:
    period_text, value_text = row.get("last_reading_period", ""), row.get("last_reading", "")
    if not period_text and not value_text:
        return None
    period = parse_period(period_text)
    if period is None:
        problems["last_reading_period"] = Problem("not_a_period")
    try:
        value = Decimal(value_text)
        if not value.is_finite() or value < 0:
            raise InvalidOperation
    except InvalidOperation:
        problems["last_reading"] = Problem("not_a_reading")
        return None
    return (period, value) if period else None


def _existing(session: Session, numbers: list[str]) -> dict[str, tuple[Any, ...]]:
    found: dict[str, tuple[Any, ...]] = {}
    for start in range(0, len(numbers), 10_000):
        chunk = numbers[start : start + 10_000]
        stmt = select(Account.account_no, Account.holder_name, Account.id_last4_hash, Account.unit_id).where(
            Account.account_no.in_(chunk)
        )
        for number, *identity in session.execute(stmt):
            found[number] = tuple(identity)
    return found


def write(
    session_factory: Callable[[], Any],
    plan: ImportPlan,
    *,
    actor_id: int | None,
    source: str,
    progress: Callable[[int], object] | None = None,
    batch: int = BATCH,
) -> int:
    """Write the plan's good rows in batches, each in its own transaction with its readings and one trail event.

    ``session_factory()`` is a context manager giving a session committed on success (``db.transaction``). A batch
    that fails rolls back alone; the batches before it stay, and a re-run skips them as present."""
    written = 0
    for number, start in enumerate(range(0, len(plan.good), batch), start=1):
        rows = plan.good[start : start + batch]
        with session_factory() as session:
            _write_batch(session, rows)
            trail.record(
                session,
                actor_id=actor_id,
                action="accounts.imported",
                entity="account_import",
                entity_id=f"{source}#{number}",
                after={
                    "batch": number,
                    "count": len(rows),
                    "first_line": rows[0].line,
                    "last_line": rows[-1].line,
                    "account_nos": hashlib.sha256("\n".join(r.account_no for r in rows).encode()).hexdigest(),
                },
            )
        written += len(rows)
        if progress is not None:
            progress(len(rows))
    if written:
        with session_factory() as session:
            refresh_statistics(session, Account, MeterReading)
    return written


def _write_batch(session: Session, rows: list[GoodRow]) -> None:
    now = utcnow()
    ids = reserve_ids(session, Account, len(rows))
    if ids is not None:
        values = [(i, *row.values, now) for i, row in zip(ids, rows, strict=True)]
        copy_rows(session, Account, ("id", *_ACCOUNT_COLUMNS), values)
        by_number = {row.account_no: i for row, i in zip(rows, ids, strict=True)}
    else:
        copy_rows(session, Account, _ACCOUNT_COLUMNS, [(*row.values, now) for row in rows])
        numbers = [row.account_no for row in rows]
        found = session.execute(select(Account.account_no, Account.id).where(Account.account_no.in_(numbers)))
        by_number = {number: i for number, i in found}
    # a starting reading: nothing to check, no bill (COPY applies no Python defaults: every NOT NULL column given)
    readings: list[tuple[Any, ...]] = [
        (by_number[row.account_no], *row.reading, now, ReadingStatus.PASSED, [], "")
        for row in rows
        if row.reading is not None
    ]
    columns = ("account_id", "period", "reading", "recorded_at", "status", "checks", "review_note")
    copy_rows(session, MeterReading, columns, readings)
