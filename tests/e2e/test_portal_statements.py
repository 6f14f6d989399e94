"""Reading bills and payments in headless Chromium at 360 px (zh-CN, and once in English): the latest bill from
the account home, the tier and time-of-use splits, the year switcher, the usage chart and its table, and where
each payment went. Amounts are the hand-checked ones of tests/webapp/statements_data.py."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Phone, open_phone
from tests.support import PASSWORD
from tests.webapp.statements_data import add_statements, fix_today

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: Any) -> None:
    fix_today(monkeypatch)  # the live server runs in this process: the pages see the same fixed day


def _sign_in(phone: Phone, query: str = "") -> None:
    phone.go(f"/login{query}")
    phone.page.fill("#phone", "13900000001")
    phone.page.fill("#password", PASSWORD)
    phone.page.click("form button[type=submit]")
    phone.page.wait_for_url(re.compile(r"/home(\?|$)"))


def _row(page: Any, table: str, header: str) -> list[str]:
    row = page.locator(f"{table} tr", has=page.get_by_role("rowheader", name=header, exact=True))
    return [cell.strip() for cell in row.locator("th, td").all_inner_texts()]


def _fits(phone: Phone) -> None:
    """No horizontal scrolling of the page, nor inside a table's wrapper (which would hide columns)."""
    phone.assert_fits()
    wide = phone.page.evaluate(
        """() => Array.from(document.querySelectorAll('.table-wrap'))
             .filter(el => el.offsetParent !== null && el.scrollWidth > el.clientWidth)
             .map(el => el.scrollWidth + '>' + el.clientWidth)"""
    )
    assert wide == [], f"{phone.page.url}: tables scroll sideways: {wide}"


def test_read_a_bill(phone: Phone, session: Any, world: Any) -> None:
    add_statements(session, world)
    page = phone.page
    _sign_in(phone)
    page.get_by_label("户号", exact=True).select_option("1000000001")
    page.get_by_role("button", name="切换").click()
    page.get_by_role("heading", name="户号 1000000001").wait_for()
    _fits(phone)
    phone.shot("zh-20-home-latest-bill")

    page.get_by_role("link", name="2026-02 账单").click()
    page.get_by_role("heading", name="2026-02 账单").wait_for()
    assert page.get_by_role("heading", name="阶梯分档").is_visible()
    assert _row(page, "table.lines", "第一档") == ["第一档", "760", "0.538", "¥408.88"]
    assert _row(page, "table.lines", "第二档") == ["第二档", "240", "0.588", "¥141.12"]
    assert _row(page, "table.lines", "合计") == ["合计", "1,000", "", "¥550.00"]
    tier_two = page.get_by_role("progressbar", name="第二档")
    assert tier_two.get_attribute("value") == "240.00" and tier_two.get_attribute("max") == "2040.00"
    assert page.get_by_text("已用 2,760 / 2,760 千瓦时").is_visible()
    assert page.locator(".tabbar a[aria-current=page]").inner_text().strip() == "账单"
    _fits(phone)
    phone.shot("zh-21-bill-tiers")

    page.get_by_role("link", name="全部账单").click()
    page.get_by_role("heading", name="2026 年账单").wait_for()
    years = page.get_by_role("navigation", name="年份")
    expect(years.get_by_role("link", name="2026")).to_have_attribute("aria-current", "page")
    assert page.locator(".bill-row").count() == 2
    chart = page.get_by_role("img", name="用电量和电费，2025-12 至 2026-11")
    assert chart.is_visible() and chart.bounding_box()["width"] <= 360
    assert page.locator(".usage-chart rect").count() == 12
    # the chart's numbers as a table, opened with the keyboard
    page.locator(".as-table summary").focus()
    page.keyboard.press("Enter")
    table = page.locator(".as-table table")
    expect(table).to_be_visible()
    assert _row(page, ".as-table table", "2026-02") == ["2026-02", "1,000", "¥550.00"]
    assert _row(page, ".as-table table", "合计") == ["合计", "3,100", "¥1,679.80"]
    _fits(phone)
    phone.assert_labelled()
    phone.shot("zh-22-bills-2026-chart")

    years.get_by_role("link", name="2025").click()
    page.get_by_role("heading", name="2025 年账单").wait_for()
    assert page.locator(".bill-row").count() == 1
    assert "¥53.80" in page.locator(".bill-row").inner_text()
    _fits(phone)
    phone.shot("zh-23-bills-2025")

    page.get_by_label("户号", exact=True).select_option("1000000002")
    page.get_by_role("button", name="切换").click()
    page.get_by_role("heading", name="2026 年账单").wait_for()
    page.get_by_role("link", name="2026-10 账单").click()
    page.get_by_role("heading", name="峰谷分时").wait_for()
    assert _row(page, "table.lines", "峰段") == ["峰段", "100", "1.0824", "¥108.24"]
    assert _row(page, "table.lines", "平段") == ["平段", "200", "0.6544", "¥130.88"]
    assert _row(page, "table.lines", "谷段") == ["谷段", "300", "0.3064", "¥91.92"]
    assert _row(page, "table.lines", "合计") == ["合计", "600", "", "¥331.04"]
    assert page.get_by_text("未缴", exact=True).first.is_visible()
    _fits(phone)
    phone.shot("zh-24-bill-time-of-use")


def test_read_payments(phone: Phone, session: Any, world: Any) -> None:
    add_statements(session, world)
    page = phone.page
    _sign_in(phone, "?next=/home%3Faccount%3D1000000001")
    page.get_by_role("link", name="缴费记录").click()
    page.get_by_role("heading", name="缴费记录 户号 1000000001").wait_for()
    payments = page.locator("li.payment")
    assert payments.count() == 2
    later, earlier = payments.nth(0), payments.nth(1)
    assert later.get_by_role("heading").inner_text() == "2026-03-20 10:30"
    assert "¥700.00" in later.inner_text() and "银行代扣 · 流水号 B-0002" in later.inner_text()
    applied = later.get_by_role("list", name="冲抵明细").locator("li").all_inner_texts()
    assert [" ".join(a.split()) for a in applied] == [
        "2026-01 账单 本金 ¥129.80 违约金 ¥4.28",
        "2026-02 账单 本金 ¥550.00 违约金 ¥2.75",
    ]
    assert later.get_by_text("¥13.17 转为预存余额。").is_visible()
    applied = earlier.get_by_role("list", name="冲抵明细").locator("li").all_inner_texts()
    assert [" ".join(a.split()) for a in applied] == ["2025-12 账单 本金 ¥53.80", "2026-01 账单 本金 ¥946.20"]
    assert "柜台 · 流水号 C-0001" in earlier.inner_text()
    _fits(phone)
    phone.assert_labelled()
    phone.shot("zh-25-payments")

    later.get_by_role("link", name="2026-01 账单").click()
    page.get_by_role("heading", name="2026-01 账单").wait_for()
    paid = [" ".join(t.split()) for t in page.locator("#paid-title + ul li").all_inner_texts()]
    assert paid == ["2026-01-10 本金 ¥946.20", "2026-03-20 本金 ¥129.80, 违约金 ¥4.28"]
    _fits(phone)
    phone.shot("zh-26-bill-paid-in-two")

    phone.go("/payments?account=1000000003")
    assert page.get_by_text("暂无缴费记录。").is_visible()
    _fits(phone)
    phone.shot("zh-27-payments-empty")


def test_bills_and_payments_in_english(chromium: Any, live_server: str, session: Any, world: Any) -> None:
    add_statements(session, world)
    phone = open_phone(chromium, live_server, locale="en-GB")
    try:
        page = phone.page
        _sign_in(phone, "?lang=en&next=/home%3Faccount%3D1000000001")
        assert page.locator("html").get_attribute("lang") == "en"
        page.get_by_role("link", name="Bill 2026-02").click()
        page.get_by_role("heading", name="Tier split").wait_for()
        assert _row(page, "table.lines", "Tier 1") == ["Tier 1", "760", "0.538", "¥408.88"]
        assert _row(page, "table.lines", "Tier 2") == ["Tier 2", "240", "0.588", "¥141.12"]
        assert page.get_by_text("used 240 of 2,040 kWh").is_visible()
        _fits(phone)
        phone.shot("en-20-bill")
        page.locator(".tabbar").get_by_role("link", name="Bills", exact=True).click()
        page.get_by_role("heading", name="Bills of 2026").wait_for()
        assert page.get_by_role("img", name="Usage and amount, 2025-12 to 2026-11").is_visible()
        _fits(phone)
        phone.assert_labelled()
        phone.shot("en-21-bills")
        page.get_by_role("navigation", name="Bills, payments or invoices").get_by_role("link", name="Payments").click()
        page.get_by_text("¥13.17 kept as balance.").wait_for()
        assert "Bank withholding · ref. B-0002" in page.locator("li.payment").first.inner_text()
        _fits(phone)
        phone.shot("en-22-payments")
        assert phone.errors == [] and phone.outside == []
    finally:
        phone.page.context.close()
