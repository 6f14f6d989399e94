"""Payment files from banks and third-party channels, and their reconciliation report.

File format (UTF-8 CSV, optional BOM, header row required, columns in any order):

    account_no,amount,paid_at,channel,reference
    3301000001,107.60,2026-02-10T09:30:00+08:00,bank,ICBC-20260210-0001

``channel`` is ``bank`` or ``third_party``; ``reference`` is the channel's own transaction id and must be
unique per channel. A file with any malformed row imports nothing (every row problem is reported). Each good
row is recorded with the idempotency key ``import:<channel>:<reference>``, so a re-run imports nothing twice.

Report outcomes per row: ``matched`` (recorded; amount equals what the account owed that day), ``amount_mismatch``
(recorded; the amount differs from what was owed, the difference stays arrears or becomes balance),
``duplicate`` (reference already recorded, not recorded again), ``unknown_account`` (not recorded).
"""

from __future__ import annotations

import csv
import hashlib
import io
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.accounts import visible_accounts
from billing.bills import lock_accounts
from billing.commands import PaymentFileRow
from billing.ledger import account_position
from billing.models import Account, Payment, PaymentImport
from billing.payments import earlier_with_reference, record_payment, request_hash
from billing.rules import Rules, current_rules
from core import clock, trail
from core.errors import InvalidInput, Problem
from core.identity import User

COLUMNS = ("account_no", "amount", "paid_at", "channel", "reference")
MAX_ROWS = 50_000
MAX_FILE_BYTES = 5 * 1024 * 1024


def read_upload(stream: IO[bytes] | None) -> bytes:
    """A payment file's bytes from an upload (the API's and the page's alike), or InvalidInput: no file, or one
    larger than MAX_FILE_BYTES."""
    if stream is None:
        raise InvalidInput.fields({"file": Problem("required")})
    content = stream.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        max_mib = MAX_FILE_BYTES // (1024 * 1024)
        raise InvalidInput.fields(
            {"file": Problem("file_too_large", max_mib=max_mib)}, "file_too_large", max_mib=max_mib
        )
    return content


def parse_file(content: bytes) -> list[dict[str, Any]]:
    """Every row parsed, or InvalidInput listing every bad row (``rows``: line -> field -> problem)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput.fields({"file": Problem("not_utf8")}, "payment_file_invalid") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InvalidInput.fields(
            {"file": Problem("missing_columns", missing=missing)}, "payment_file_invalid", columns=list(COLUMNS)
        )
    rows: list[dict[str, Any]] = []
    problems: dict[str, dict[str, Problem]] = {}
    for line_no, raw in enumerate(reader, start=2):
        raw = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        if not any(raw.values()):
            continue
        if len(rows) >= MAX_ROWS:
            raise InvalidInput("payment_file_too_large", max_rows=MAX_ROWS)
        try:
            command = PaymentFileRow.parse({c: raw.get(c) for c in COLUMNS})
        except InvalidInput as exc:
            problems[str(line_no)] = dict(exc.problems)
        else:
            rows.append({**command.fields(), "line": line_no})
    if problems:
        raise InvalidInput.in_rows(problems, "payment_file_invalid")
    if not rows:
        raise InvalidInput("payment_file_empty")
    return rows


def import_payments(
    session: Session, filename: str, content: bytes, *, actor: User, rules: Rules | None = None
) -> PaymentImport:
    """Import a payment file in one transaction and build its reconciliation report."""
    rules = rules or current_rules()
    rows = parse_file(content)
    batch = PaymentImport(filename=filename[:255], sha256=hashlib.sha256(content).hexdigest(), imported_by=actor.id)
    session.add(batch)
    session.flush()
    report: list[dict[str, Any]] = []
    counts = {"matched": 0, "unknown_account": 0, "duplicate": 0, "amount_mismatch": 0}
    visible = visible_accounts(actor)
    known = dict(
        session.execute(
            visible.with_only_columns(Account.account_no, Account.id).where(
                Account.account_no.in_({row["account_no"] for row in rows})
            )
        ).all()
    )
    # every account the file pays, then every trail chain it appends to, before the first payment: a concurrent
    # counter payment holding one of these accounts then never waits for a chain this import holds
    lock_accounts(session, known.values())
    trail.lock_chains(session, [*known, None])
    for row in rows:
        entry = {
            "line": row["line"],
            "account_no": row["account_no"],
            "amount": str(row["amount"]),
            "reference": row["reference"],
        }
        account = session.scalar(visible.where(Account.account_no == row["account_no"]))
        key = f"import:{row['channel']}:{row['reference']}"
        if account is None:
            outcome = "unknown_account"
        elif (
            session.scalar(select(Payment.id).where(Payment.idempotency_key == key)) is not None
            or earlier_with_reference(session, account, row["channel"], row["reference"], key) is not None
        ):
            outcome = "duplicate"
        else:
            paid_on = clock.local(row["paid_at"]).date()
            position = account_position(session, account, paid_on, rules)
            owed = position.arrears + position.late_fee_today - position.balance
            payment, _created = record_payment(
                session,
                account,
                row,
                idempotency_key=key,
                digest=request_hash(row, True),
                actor_id=actor.id,
                import_id=batch.id,
                rules=rules,
            )
            entry["payment_id"] = payment.id
            entry["owed"] = str(max(owed, 0))
            outcome = "matched" if row["amount"] == owed else "amount_mismatch"
        entry["outcome"] = outcome
        counts[outcome] += 1
        report.append(entry)
    batch.matched = counts["matched"]
    batch.unknown_account = counts["unknown_account"]
    batch.duplicate = counts["duplicate"]
    batch.amount_mismatch = counts["amount_mismatch"]
    batch.report = report
    session.flush()
    trail.record(
        session,
        actor_id=actor.id,
        action="payment_file.imported",
        entity="payment_import",
        entity_id=batch.id,
        after={"filename": batch.filename, "sha256": batch.sha256, **counts},
    )
    return batch


def import_dict(batch: PaymentImport, with_rows: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": batch.id,
        "filename": batch.filename,
        "sha256": batch.sha256,
        "imported_at": batch.imported_at,
        "imported_by": batch.imported_by,
        "counts": {
            "matched": batch.matched,
            "unknown_account": batch.unknown_account,
            "duplicate": batch.duplicate,
            "amount_mismatch": batch.amount_mismatch,
        },
    }
    if with_rows:
        data["rows"] = batch.report
    return data
