"""billing's CLI: readings loaded from a file go through the checks like any other."""

from __future__ import annotations

from sqlalchemy import func, select

from billing.models import Bill, MeterReading
from tests.billing.support import add_tariffs


def test_loaded_readings_are_checked_and_a_held_one_is_not_billed_by_the_run(app, session, world, tmp_path) -> None:
    add_tariffs(session)
    session.commit()
    rows = ["account_no,period,reading"]
    rows += [f"1000000001,2026-0{m},{m * 300}" for m in range(1, 6)]  # 300 kWh a month
    rows += ["1000000001,2026-06,99999", "2000000001,2026-05,10", "2000000001,2026-06,310"]
    path = tmp_path / "readings.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    runner = app.test_cli_runner()
    session.rollback()
    loaded = runner.invoke(args=["griddesk", "billing", "load-readings", str(path)])
    assert loaded.exit_code == 0, loaded.output
    assert "8 readings loaded" in loaded.output and "1 readings held for review" in loaded.output
    statuses = dict(
        session.execute(
            select(MeterReading.period, MeterReading.status).where(MeterReading.account_id == world.own_account.id)
        ).all()
    )
    assert statuses["2026-06"] == "held" and statuses["2026-05"] == "passed"
    session.rollback()
    run = runner.invoke(args=["griddesk", "billing", "run", "--period", "2026-06"])
    assert run.exit_code == 0, run.output
    billed = set(session.scalars(select(Bill.account_id).where(Bill.period == "2026-06")))
    assert billed == {world.foreign_account.id}
    assert session.scalar(select(func.count()).select_from(Bill).where(Bill.period == "2026-06")) == 1
