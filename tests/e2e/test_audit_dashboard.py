"""The supervisor's audit dashboard in Chromium at 360 px: charts, a run watched to the end, drill-down, CSV."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from audit.models import Finding
from tests.support import PASSWORD

pytestmark = pytest.mark.e2e


def _sign_in(phone, username: str) -> None:  # type: ignore[no-untyped-def]
    phone.go("/staff/login")
    phone.page.fill("input[name=username]", username)
    phone.page.fill("input[name=password]", PASSWORD)
    phone.page.keyboard.press("Enter")  # the keyboard alone is enough
    phone.page.wait_for_url(f"{phone.base}/staff/")


def test_supervisor_reads_the_dashboard_and_watches_a_run(phone, session, world) -> None:
    session.add(Finding(rule="T-TEST", severity="high", subject="doc:1", account_id=world.own_account.id, evidence={}))
    session.commit()
    _sign_in(phone, "supervisor-a")
    phone.go("/staff/audit")
    page = phone.page
    assert page.locator("svg.chart").count() >= 2
    assert "T-TEST" in page.inner_text("main")
    phone.assert_fits()
    phone.assert_labelled()
    phone.shot("audit-dashboard")
    page.click("text=开始稽查")
    page.wait_for_selector("#run-status")
    expect(page.locator("#run-percent")).to_have_text(
        "100", timeout=30_000
    )  # a string predicate would be eval'd: the CSP refuses it
    assert page.inner_text("#run-status") == "已完成"
    phone.assert_fits()
    phone.go("/staff/audit/findings?status=all")
    phone.shot("audit-findings")
    page.click("table a >> nth=0")
    assert "证据" in page.inner_text("main")
    phone.assert_fits()
    phone.assert_labelled()
    page.go_back()
    with page.expect_download() as download:
        page.click("text=导出 CSV")
    assert download.value.suggested_filename == "findings.csv"


@pytest.mark.parametrize("width", [360, 1280])
def test_the_findings_filter_boxes_never_overlap(chromium, live_server, world, width: int) -> None:
    from tests.e2e.conftest import open_phone

    screen = open_phone(chromium, live_server, width=width)
    _sign_in(screen, "supervisor-a")
    screen.go("/staff/audit/findings")
    screen.page.wait_for_load_state("load")
    boxes = [screen.page.locator(f"#{name}").bounding_box() for name in ("f-status", "f-rule", "f-account", "f-unit")]
    card = screen.page.locator("form.filters").bounding_box()
    for i, a in enumerate(boxes):
        assert a["x"] >= card["x"] and a["x"] + a["width"] <= card["x"] + card["width"] + 0.5
        for b in boxes[i + 1 :]:
            apart = a["x"] + a["width"] <= b["x"] + 0.5 or b["x"] + b["width"] <= a["x"] + 0.5
            assert apart or a["y"] + a["height"] <= b["y"] + 0.5 or b["y"] + b["height"] <= a["y"] + 0.5
    screen.page.context.close()
