"""The filing rate and completeness targets: one setting (AUDIT_TARGET_RATE) held to by the dashboard, the API's
summary and the CLI's report alike."""

from __future__ import annotations

import json
import re

import pytest

from audit import dashboard, settings
from audit.dashboard import UnitRate
from tests.support import staff_sign_in


@pytest.mark.parametrize(("target", "held", "met"), [(0.98, 4899, False), (0.98, 4900, True), (0.95, 4800, True)])
def test_the_api_and_the_cli_report_each_rate_with_the_target_and_whether_it_is_met(
    app, client, api, world, session, monkeypatch, target: float, held: int, met: bool
) -> None:
    monkeypatch.setitem(settings._current, "AUDIT_TARGET_RATE", target)
    rate = UnitRate("UA", "单位甲", accounts=5000, required=5000, filed=held, complete=held)
    monkeypatch.setattr(dashboard, "unit_rates", lambda *_args: [rate])
    expected = {"value": round(held / 5000, 4), "target": target, "met": met}

    reply = api.as_token(world.tokens["supervisor"]).get("/api/v1/audit/summary")
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert body["target"] == target and body["unit"] == "UA"
    assert body["units"] == [
        {"unit": "UA", "name": "单位甲", "accounts": 5000, "filing_rate": expected, "completeness": expected}
    ]
    assert body["overall"] == {"accounts": 5000, "filing_rate": expected, "completeness": expected}

    session.rollback()  # on SQLite an open transaction holds the write lock the command's session waits for
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["griddesk", "audit", "report", "--unit", "UA", "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["units"] == body["units"]
    text = runner.invoke(args=["griddesk", "audit", "report", "--unit", "UA"]).output
    assert f"target {target:.0%}" in text
    assert re.search(r"^UA\s+5000\s+[\d.]+%\s+" + ("met" if met else "BELOW TARGET"), text, re.M), text

    staff_sign_in(client, "supervisor-a")  # the dashboard outlines the same rates below the same target
    page = client.get("/staff/audit").get_data(as_text=True)
    assert len(re.findall(rf'<td class="below">[\d.]+% \({held}/5000\)</td>', page)) == (0 if met else 2)


def test_the_summary_is_the_callers_scope(api, world) -> None:
    supervisor = api.as_token(world.tokens["supervisor"])
    assert supervisor.get("/api/v1/audit/summary?unit=UB").status_code == 404  # another unit's tree
    assert supervisor.get("/api/v1/audit/summary?unit=UA").get_json()["unit"] == "UA"
