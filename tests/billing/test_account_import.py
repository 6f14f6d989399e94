"""``griddesk accounts import FILE``: CSV and .xlsx, validated in full first, idempotent, one trail event per batch."""

from __future__ import annotations

import csv
import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select, text

from billing.account_import import COLUMNS
from billing.models import Account, MeterReading
from core.trail import TrailEvent
from tests.billing.support import add_tariffs

HEADER = [name for name in COLUMNS if name not in ("lat", "lon")]


def _row(n: int, unit: str = "UA", **changes: str) -> list[str]:
    values = {
        "account_no": f"55{n:08d}",
        "holder_name": f"户主{n}",
        "id_last4": f"{n % 10000:04d}",
        "address": f"杭州市文三路{n}号",
        "category": "residential",
        "capacity_kva": "8",
        "tariff_code": "ZJ-RES-TIER",
        "unit_code": unit,
        "connected_on": "2019-05-01",
        "meter_multiplier": "",
        "last_reading_period": "2026-05",
        "last_reading": f"{1000 + n}",
    }
    values.update(changes)
    return [values[name] for name in HEADER]


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def _import(app, path: Path, *extra: str):  # type: ignore[no-untyped-def]
    from core.db import db

    db.session.rollback()  # the test's reads end their transaction before the command writes
    return app.test_cli_runner().invoke(args=["griddesk", "accounts", "import", str(path), *extra])


def _imported(session) -> int:  # type: ignore[no-untyped-def]
    session.rollback()
    return session.scalar(select(func.count()).select_from(Account).where(Account.account_no.like("55%")))


def test_a_csv_file_loads_accounts_with_their_last_readings_and_a_rerun_loads_nothing(
    app, world, session, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    add_tariffs(session)
    session.commit()
    path = _csv(tmp_path / "accounts.csv", [_row(n) for n in range(1, 8)])
    result = _import(app, path, "--batch", "3")
    assert result.exit_code == 0, result.output
    assert "7 accounts imported, 0 already present" in result.output
    assert _imported(session) == 7
    account = session.scalar(select(Account).where(Account.account_no == "5500000003"))
    assert (account.holder_name, account.unit_id, account.capacity_kva) == ("户主3", world.unit_a.id, Decimal("8.00"))
    assert account.connected_on == dt.date(2019, 5, 1) and account.meter_multiplier == Decimal(1)
    reading = session.scalar(select(MeterReading).where(MeterReading.account_id == account.id))
    assert (reading.period, reading.reading) == ("2026-05", Decimal("1003.00"))
    events = list(
        session.scalars(select(TrailEvent).where(TrailEvent.action == "accounts.imported").order_by(TrailEvent.id))
    )
    assert [e.after["count"] for e in events] == [3, 3, 1]  # one event per batch
    assert [e.after["first_line"] for e in events] == [2, 5, 8]

    again = _import(app, path)
    assert again.exit_code == 0, again.output
    assert "0 accounts imported, 7 already present" in again.output
    assert _imported(session) == 7
    assert session.scalar(select(func.count()).select_from(MeterReading)) == 7


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"), reason="the planner's statistics"
)
def test_an_import_leaves_the_planner_statistics_of_what_it_loaded(app, world, session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With autovacuum off or behind, a re-run's repeated look-up got a generic plan made for an empty table and
    scanned a million accounts per chunk; the import analyzes the tables it loaded."""
    add_tariffs(session)
    session.commit()
    query = text("SELECT reltuples FROM pg_class WHERE relname = :name")
    assert _import(app, _csv(tmp_path / "a.csv", [_row(n) for n in range(1, 6)])).exit_code == 0
    session.rollback()
    accounts = session.scalar(select(func.count()).select_from(Account))
    assert session.scalar(query, {"name": "accounts"}) == accounts
    assert session.scalar(query, {"name": "meter_readings"}) == 5


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_written(app, world, session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    add_tariffs(session)
    session.commit()
    rows = [
        _row(1),
        _row(2, capacity_kva="lots"),
        _row(3, unit="NOPE"),
        _row(4),
        _row(1, holder_name="别人"),
        _row(6, tariff_code="NO-SUCH", last_reading_period="2026-13"),
    ]
    result = _import(app, _csv(tmp_path / "bad.csv", rows))
    assert result.exit_code != 0
    assert "bad.csv:3: capacity_kva:" in result.output
    assert "bad.csv:4: unit_code: unknown_unit" in result.output
    assert "bad.csv:6: account_no: repeated_in_file(line=2)" in result.output
    assert "bad.csv:7: last_reading_period: not_a_period; tariff_code: unknown_tariff" in result.output
    assert "4 bad rows; nothing was imported" in result.output
    assert "bad.csv:2:" not in result.output and "bad.csv:5:" not in result.output
    assert _imported(session) == 0

    skipped = _import(app, _csv(tmp_path / "bad.csv", rows), "--skip-bad")
    assert skipped.exit_code == 0, skipped.output
    assert "2 accounts imported, 0 already present, 4 bad rows skipped" in skipped.output
    assert _imported(session) == 2


def test_an_existing_account_with_other_details_is_a_bad_row(app, world, session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    add_tariffs(session)
    session.commit()
    assert _import(app, _csv(tmp_path / "a.csv", [_row(1)])).exit_code == 0
    result = _import(app, _csv(tmp_path / "b.csv", [_row(1, holder_name="另一人"), _row(2)]))
    assert result.exit_code != 0
    assert "b.csv:2: account_no: exists_differently" in result.output
    assert _imported(session) == 1


def test_a_file_without_a_required_column_imports_nothing(app, world, session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "short.csv"
    path.write_text("account_no,holder_name\n5500000001,张三\n", encoding="utf-8")
    result = _import(app, path)
    assert result.exit_code != 0
    assert "account_file_columns" in result.output and "id_last4" in result.output
    assert _imported(session) == 0


def test_an_xlsx_file_loads_like_the_csv(app, world, session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    add_tariffs(session)
    session.commit()
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for n in range(1, 4):
        row: list[object] = list(_row(n))
        row[0] = int(row[0])  # a number cell, as spreadsheets keep account numbers
        row[5] = 8.0
        row[8] = dt.datetime(2019, 5, 1)  # a date cell
        sheet.append(row)
    path = tmp_path / "accounts.xlsx"
    workbook.save(path)
    result = _import(app, path)
    assert result.exit_code == 0, result.output
    assert "3 accounts imported" in result.output
    account = session.scalar(select(Account).where(Account.account_no == "5500000002"))
    assert account is not None and account.connected_on == dt.date(2019, 5, 1)
    assert account.capacity_kva == Decimal("8.00")


def test_the_staff_account_list_exports_csv_and_xlsx_within_the_scope(app, client, world, session) -> None:  # type: ignore[no-untyped-def]
    from io import BytesIO

    from openpyxl import load_workbook

    from tests.support import staff_sign_in

    world.own_account.holder_name = "=HYPERLINK(1)"  # a formula must reach the file as text
    session.commit()
    staff_sign_in(client, "clerk-a")
    text = client.get("/staff/accounts.csv").get_data(as_text=True)
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("account_no,holder_name,category,capacity_kva,tariff_code,unit_code")
    assert lines[1].startswith("1000000001,'=HYPERLINK(1),residential,8.00,ZJ-RES-TIER,UA,")
    assert len(lines) == 2  # the foreign unit's account is not exported

    response = client.get("/staff/accounts.xlsx?q=1000")
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(BytesIO(response.get_data())).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][:3] == ["account_no", "holder_name", "category"]
    assert rows[1][:4] == ["1000000001", "=HYPERLINK(1)", "residential", 8.0]
    assert sheet.cell(2, 2).data_type == "s"
    assert len(rows) == 2
    assert client.get("/staff/accounts.xlsx?q=nothing-like-this").status_code == 200
