"""``flask --app webapp griddesk billing ...`` commands: tariffs, readings, the bill run, payment files."""

from __future__ import annotations

import csv
import os
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn

import click
import yaml
from flask import Flask, current_app
from sqlalchemy import select
from tqdm import tqdm

from billing.bills import record_reading
from billing.models import Account, MeterReading, ReadingStatus
from billing.rules import parse_period
from core.db import db
from core.errors import DomainError

billing_cli = click.Group("billing", help="Billing: tariffs, readings, bill runs, payment files.")


accounts_cli = click.Group("accounts", help="Accounts: loading them from another system's export.")


def register(app: Flask) -> None:
    group = app.cli.commands.get("griddesk")
    if isinstance(group, click.Group) and "billing" not in group.commands:
        group.add_command(billing_cli)
    if isinstance(group, click.Group) and "accounts" not in group.commands:
        group.add_command(accounts_cli)


@accounts_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-bad", is_flag=True, help="Load the good rows even when some rows are bad (they are listed).")
@click.option("--batch", type=click.IntRange(min=1), default=5000, show_default=True, help="Accounts per transaction.")
def import_accounts_command(path: Path, skip_bad: bool, batch: int) -> None:
    """Load accounts from a CSV or .xlsx file (columns in docs/billing.md). The whole file is checked first: every
    bad row is listed with its line and reason and nothing is written, unless --skip-bad. Accounts that exist with
    the same details are skipped, so the file can be loaded again."""
    from billing.account_import import read_rows, validate, write

    key = str(current_app.config["ID_HASH_KEY"])
    try:
        with db.transaction() as session:
            plan = validate(session, read_rows(path), id_hash_key=key)
    except DomainError as exc:
        _fail(f"{path}: {exc}")
    for line, problems in sorted(plan.bad.items()):
        reasons = "; ".join(f"{name}: {problem}" for name, problem in problems.items())
        click.echo(f"{path.name}:{line}: {reasons}", err=True)
    if plan.bad and not skip_bad:
        _fail(f"{len(plan.bad)} bad rows; nothing was imported (fix them, or pass --skip-bad to load the rest)")
    source = f"{path.name}:{_file_digest(path)[:12]}"
    with tqdm(total=len(plan.good), unit="account", desc="importing", disable=not plan.good) as bar:
        written = write(db.transaction, plan, actor_id=None, source=source, progress=bar.update, batch=batch)
    click.echo(f"{written} accounts imported, {plan.present} already present, {len(plan.bad)} bad rows skipped")


def _file_digest(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(1)


@billing_cli.command("load-tariffs")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_tariffs_command(path: Path) -> None:
    """Load tariff tables from a YAML file: a list of API-shaped tariffs (see docs/billing.md).

    Tables whose code and valid_from exist already are skipped, so the file can be loaded again.
    """
    from billing.demo_billing import load_tariffs

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        _fail(f"{path}: not valid YAML: {exc}")
    if not isinstance(data, list):
        _fail(f"{path}: expected a list of tariffs")
    try:
        with db.transaction() as session:
            created = load_tariffs(session, data)
    except DomainError as exc:
        _fail(f"{path}: {exc}")
    click.echo(f"{created} tariff tables loaded, {len(data) - created} already present")


@billing_cli.command("load-readings")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_readings_command(path: Path) -> None:
    """Store cumulative readings from a CSV file (account_no,period,reading[,peak,flat,valley]) without
    billing them; ``billing run --period`` issues the bills. Readings that exist are skipped; any bad row
    loads nothing."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with db.transaction() as session:
        loaded, present = _load_readings(session, rows)
    click.echo(f"{loaded} readings loaded, {present} already present")


def _load_readings(session: Any, rows: list[dict[str, str]]) -> tuple[int, int]:
    accounts = dict(session.execute(select(Account.account_no, Account.id)).all())
    problems: list[str] = []
    values: list[dict[str, Any]] = []
    for line_no, row in enumerate(rows, start=2):
        period = parse_period(row.get("period") or "")
        account_id = accounts.get((row.get("account_no") or "").strip())
        try:
            reading = Decimal(row.get("reading") or "")
            bands = [Decimal(row[b]) if row.get(b) else None for b in ("peak", "flat", "valley")]
        except InvalidOperation:
            reading, bands = Decimal(-1), [None, None, None]
        if period is None or account_id is None or reading < 0:
            problems.append(f"line {line_no}: needs a known account_no, a period YYYY-MM and a reading >= 0")
            continue
        values.append(
            {
                "account_id": account_id,
                "period": period,
                "reading": reading,
                "peak": bands[0],
                "flat": bands[1],
                "valley": bands[2],
            }
        )
    if problems:
        _fail("\n".join(problems[:50]) + "\nnothing loaded")
    existing = set(session.execute(select(MeterReading.account_id, MeterReading.period)))
    fresh = [v for v in values if (v["account_id"], v["period"]) not in existing]
    fresh.sort(key=lambda v: (v["account_id"], v["period"]))
    # each through the checks, in period order per account: a suspicious one is held, and the run will not bill it
    held = 0
    for value in tqdm(fresh, desc="readings", unit="reading", disable=len(fresh) < 5000):
        account = session.get(Account, value["account_id"])
        fields = {"period": value["period"], "reading": value["reading"]}
        if value["peak"] is not None:
            fields.update(peak=value["peak"], flat=value["flat"] or 0, valley=value["valley"] or 0)
            del fields["reading"]
        try:
            stored, _bill = record_reading(session, account, fields, actor_id=None, issue=False)
        except DomainError as exc:
            _fail(f"{account.account_no} {value['period']}: {exc.code} {dict(exc.params)}\nnothing loaded")
        held += stored.status == ReadingStatus.HELD
    if held:
        click.echo(f"{held} readings held for review")
    return len(fresh), len(values) - len(fresh)


@billing_cli.command("run")
@click.option("--period", required=True, help="Billing period YYYY-MM.")
@click.option("--chunk", default=2000, show_default=True, help="Accounts per transaction.")
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=0,
    help="Processes billing at once (PostgreSQL); 0 = one per CPU core, up to 4. SQLite always uses one.",
)
def run_command(period: str, chunk: int, workers: int) -> None:
    """Issue the period's bill for every account with a reading and no bill yet (resumable, idempotent)."""
    from billing.run import pending_count, run_period_in_processes

    normalised = parse_period(period)
    if normalised is None:
        _fail("--period must be YYYY-MM")
    assert normalised is not None
    with db.transaction() as session:
        total = pending_count(session, normalised)
    with tqdm(total=total, desc=f"bills {normalised}", unit="acct") as bar:

        def advance(n: int) -> None:
            bar.update(n)

        url = current_app.config["DATABASE_URL"]
        if not url.startswith("postgresql"):
            workers = 1  # SQLite has one writer at a time: a second process would only wait
        elif workers == 0:
            workers = min(4, os.cpu_count() or 1)
        result = run_period_in_processes(url, normalised, workers=workers, chunk=chunk, progress=advance)
    click.echo(
        f"{result.issued} bills issued for {normalised}; {result.skipped_no_tariff} without a valid tariff;"
        f" {result.remaining} still pending"
    )


@billing_cli.command("import-payments")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "username", required=True, help="The clerk or admin who imports the file.")
def import_payments_command(path: Path, username: str) -> None:
    """Import a bank / third-party payment CSV and print its reconciliation counts."""
    from billing.imports import import_payments
    from core.identity import User

    with db.transaction() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            _fail(f"no user {username}")
        assert user is not None
        try:
            batch = import_payments(session, path.name, path.read_bytes(), actor=user)
        except DomainError as exc:
            _fail(str(exc))
        click.echo(
            f"import {batch.id}: matched {batch.matched}, amount mismatch {batch.amount_mismatch},"
            f" duplicate {batch.duplicate}, unknown account {batch.unknown_account}"
        )
