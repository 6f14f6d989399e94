"""Reading books (抄表段) and entering many readings at once: a book's sheet, and a handheld reader's CSV file.

Each reading goes through ``billing.bills.record_reading`` (checked, billed or held); a row that cannot be taken
(bad input, an unknown account, a reading that exists already, an earlier one held) is refused and reported with
its code, and the other rows are entered all the same.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from billing.accounts import visible_accounts
from billing.bills import lock_account, previous_reading, reading_refusal, record_reading
from billing.commands import BANDS, RecordReading
from billing.models import Account, MeterReading, ReadingBook, ReadingImport, ReadingStatus
from billing.topics import READING_IMPORT_REQUESTED
from core import outbox, trail
from core.db import utcnow
from core.errors import DomainError, InvalidInput, NotFound, Problem
from core.identity import User
from core.scope import in_scope, of_unit

COLUMNS = ("account_no", "period", "reading")  # and, for time-of-use meters, peak, flat and valley
MAX_ROWS = 20_000


def visible_books(user: User) -> Select[Any]:
    """The reading books of the user's unit subtree, by code."""
    return select(ReadingBook).where(in_scope(user, ReadingBook.unit_id)).order_by(ReadingBook.code)


def book_sizes(session: Session, book_ids: Iterable[int]) -> dict[int, int]:
    ids = list(book_ids)
    if not ids:
        return {}
    return dict(
        session.execute(  # type: ignore[arg-type]
            select(Account.reading_book_id, func.count())
            .where(Account.reading_book_id.in_(ids))
            .group_by(Account.reading_book_id)
        ).all()
    )


def place_on_a_book(session: Session, account: Account) -> ReadingBook | None:
    """Put a newly connected account at the end of its unit's least loaded reading book (None: the unit has no
    book yet, and the account is read once someone puts it on one)."""
    sizes = (
        select(ReadingBook, func.count(Account.id).label("size"))
        .outerjoin(Account, Account.reading_book_id == ReadingBook.id)
        .where(of_unit(account.unit_id, ReadingBook.unit_id))
        .group_by(ReadingBook.id)
        .order_by(func.count(Account.id), ReadingBook.code)
        .limit(1)
    )
    book = session.scalars(sizes).first()
    if book is None:
        return None
    last = session.scalar(select(func.max(Account.book_seq)).where(Account.reading_book_id == book.id))
    account.reading_book_id, account.book_seq = book.id, (last or 0) + 1
    return book


def book_sheet(session: Session, book: ReadingBook, period: str) -> list[dict[str, Any]]:
    """The book's accounts in route order, each with its last reading before ``period`` and the period's own
    reading when entered (``status``, ``checks``)."""
    accounts = list(
        session.scalars(
            select(Account).where(Account.reading_book_id == book.id).order_by(Account.book_seq, Account.account_no)
        )
    )
    ids = [a.id for a in accounts]
    current = {
        r.account_id: r
        for r in session.scalars(
            select(MeterReading).where(MeterReading.account_id.in_(ids), MeterReading.period == period)
        )
    }
    rows = []
    for account in accounts:
        last = previous_reading(session, account.id, period)
        now = current.get(account.id)
        rows.append(
            {
                "account_no": account.account_no,
                "holder_name": account.holder_name,
                "address": account.address,
                "seq": account.book_seq,
                "multiplier": account.meter_multiplier,
                "last_period": last.period if last else None,
                "last_reading": last.reading if last else None,
                "reading_id": now.id if now else None,
                "reading": now.reading if now else None,
                "status": now.status if now else None,
                "checks": list(now.checks or []) if now else [],
            }
        )
    return rows


def enter_readings(
    session: Session, user: User, rows: Iterable[Mapping[str, Any]], *, actor_id: int | None
) -> dict[str, Any]:
    """Enter each row (``account_no``, ``period``, ``reading`` or the bands; ``line`` to report by) in the caller's
    transaction. Returns ``{"billed", "held", "refused": counts, "rows": [{line, account_no, period, outcome,
    reading_id?, checks?, code?, error?}]}``; outcome ``billed``, ``held`` or ``refused`` (with the error's code
    and the error itself, for the page to say why)."""
    report: list[dict[str, Any]] = []
    counts = {"billed": 0, "held": 0, "refused": 0}
    visible = visible_accounts(user)
    for index, raw in enumerate(rows, start=1):
        entry: dict[str, Any] = {
            "line": raw.get("line", index),
            "account_no": str(raw.get("account_no") or ""),
            "period": str(raw.get("period") or ""),
        }
        try:
            command = RecordReading.parse({k: v for k, v in raw.items() if k != "line" and v not in ("", None)})
            account = session.scalar(visible.where(Account.account_no == command.account_no))
            if account is None:
                raise InvalidInput.fields({"account_no": Problem("unknown_account")})
            lock_account(session, account.id)
            refusal = reading_refusal(session, account.id, command.period)
            if refusal is not None:
                raise refusal
            reading, _bill = record_reading(session, account, command, actor_id=actor_id)
        except DomainError as exc:
            entry.update(outcome="refused", code=exc.code, error=exc)
        else:
            held = reading.status == ReadingStatus.HELD
            entry.update(outcome="held" if held else "billed", reading_id=reading.id, checks=list(reading.checks))
        counts[entry["outcome"]] += 1
        report.append(entry)
    return {**counts, "rows": report}


def parse_reading_file(content: bytes) -> list[dict[str, Any]]:
    """A handheld reader's CSV file as rows (``line`` numbered from the header's 1), or InvalidInput for a file
    that is not one (not UTF-8, no header with account_no, period and reading, too many rows, no rows)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput.fields({"file": Problem("not_utf8")}, "reading_file_invalid") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [(h or "").strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InvalidInput.fields({"file": Problem("missing_columns", missing=missing)}, "reading_file_invalid")
    rows: list[dict[str, Any]] = []
    for line_no, raw in enumerate(reader, start=2):
        values = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if isinstance(v, str | type(None))}
        if not any(values.values()):
            continue
        if len(rows) >= MAX_ROWS:
            raise InvalidInput("reading_file_too_large", max_rows=MAX_ROWS)
        rows.append({"line": line_no, **{c: values.get(c, "") for c in (*COLUMNS, *BANDS)}})
    if not rows:
        raise InvalidInput("reading_file_empty")
    return rows


CHUNK = 200  # rows entered per transaction by a background import


def _plain(value: Any) -> Any:
    """A parameter as JSON stores it (Decimals and dates as text)."""
    return value if isinstance(value, str | int | float | bool | type(None) | list) else str(value)


def _report_row(entry: dict[str, Any]) -> dict[str, Any]:
    """A held or refused row of ``enter_readings`` as the import's report stores it (plain JSON)."""
    row = {k: entry[k] for k in ("line", "account_no", "period", "outcome")}
    if entry["outcome"] == "held":
        row.update(reading_id=entry["reading_id"], checks=entry["checks"])
    else:
        error: DomainError = entry["error"]
        row.update(
            code=error.code,
            params={k: _plain(v) for k, v in error.params.items()},
            fields={name: [p.code, {k: _plain(v) for k, v in p.params.items()}] for name, p in error.problems.items()},
        )
    return row


def create_reading_import(session: Session, filename: str, content: bytes, *, actor: User) -> ReadingImport:
    """Store a reader file for import (InvalidInput at once when it is not one) and announce it; a task enters
    its rows (``run_reading_import``) after the commit."""
    rows = parse_reading_file(content)
    batch = ReadingImport(
        filename=filename[:255] or "readings.csv",
        sha256=hashlib.sha256(content).hexdigest(),
        imported_by=actor.id,
        unit_id=actor.unit_id,
        status="queued",
        rows=rows,
        total=len(rows),
        report=[],
    )
    session.add(batch)
    session.flush()
    outbox.put(session, READING_IMPORT_REQUESTED, {"import_id": batch.id})
    return batch


def run_reading_import(session: Session, import_id: int) -> ReadingImport:
    """Enter the file's rows from where the import stands, ``CHUNK`` rows per commit (its counts and report move
    with them, so the page's progress is real and a redelivered task never enters a row twice)."""
    batch = session.get(ReadingImport, import_id)
    if batch is None:
        raise NotFound("reading_import_not_found")
    if batch.status in ("done", "failed"):
        return batch
    actor = session.get(User, batch.imported_by) if batch.imported_by is not None else None
    if actor is None:
        batch.status, batch.error, batch.finished_at = "failed", "the importer no longer exists", utcnow()
        session.commit()
        return batch
    batch.status = "running"
    session.commit()
    while batch.done < batch.total:
        chunk = list(batch.rows[batch.done : batch.done + CHUNK])
        result = enter_readings(session, actor, chunk, actor_id=actor.id)
        batch.billed += result["billed"]
        batch.held += result["held"]
        batch.refused += result["refused"]
        batch.report = [*batch.report, *(_report_row(e) for e in result["rows"] if e["outcome"] != "billed")]
        batch.done += len(chunk)
        session.commit()
    batch.status = "done"
    batch.finished_at = utcnow()
    trail.record(
        session,
        actor_id=actor.id,
        action="reading_file.imported",
        entity="reading_import",
        entity_id=batch.id,
        after={
            "filename": batch.filename,
            "sha256": batch.sha256,
            "total": batch.total,
            "billed": batch.billed,
            "held": batch.held,
            "refused": batch.refused,
        },
    )
    session.commit()
    return batch


def visible_reading_imports(user: User) -> Select[Any]:
    """Reader files imported by the user's unit subtree, newest first (read afresh: a task moves them on)."""
    return (
        select(ReadingImport)
        .where(in_scope(user, ReadingImport.unit_id))
        .order_by(ReadingImport.id.desc())
        .execution_options(populate_existing=True)
    )


def reading_import_dict(batch: ReadingImport, with_report: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": batch.id,
        "filename": batch.filename,
        "status": batch.status,
        "total": batch.total,
        "done": batch.done,
        "progress": 1.0 if batch.status == "done" else (batch.done / batch.total if batch.total else 0.0),
        "billed": batch.billed,
        "held": batch.held,
        "refused": batch.refused,
        "created_at": batch.created_at,
        "finished_at": batch.finished_at,
    }
    if with_report:
        data["report"] = list(batch.report or [])
    return data
