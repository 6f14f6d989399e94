"""Bills and payments pages through the Flask test client: scoping, empty states, the year filter, amounts.

The data and its hand-checked amounts are described in tests/webapp/statements_data.py.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from core.identity import Role, create_user
from tests.support import PASSWORD
from tests.webapp.statements_data import add_statements, fix_today
from tests.webapp.test_portal_pages import _sign_in
from webapp.portal._billing import kwh, price, unit_price, usage_chart


@pytest.fixture
def statements(session: Any, world: Any, monkeypatch: Any) -> dict[str, Any]:
    fix_today(monkeypatch)
    return add_statements(session, world)


def _text(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_statement_pages_send_visitors_to_sign_in(client, world) -> None:
    for path in ["/bills", "/bills/2026-01", "/payments"]:
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"] == f"/login?next={path}"


def test_a_customer_without_accounts_is_asked_to_bind_one(client, session, world) -> None:
    create_user(session, "13900000009", PASSWORD, Role.CUSTOMER, None, name="新用户")
    session.commit()
    _sign_in(client, "13900000009")
    for path in ["/bills", "/payments"]:
        html = client.get(path).get_data(as_text=True)
        assert "绑定账单上的户号，即可查看账单和缴费记录。" in html and 'href="/bind"' in html
    assert client.get("/bills/2026-01").status_code == 404


def test_bills_default_to_the_latest_year_and_filter_by_year(client, statements) -> None:
    _sign_in(client)
    page = _text(client.get("/bills"))
    assert "2026 年账单" in page
    assert "2026-02 账单" in page and "2026-01 账单" in page and "2025-12 账单" not in page
    assert "¥550.00" in page and "¥1,076.00" in page and "已缴清" in page
    html = client.get("/bills").get_data(as_text=True)
    assert 'href="/bills?account=1000000001&amp;year=2025"' in html
    assert re.search(r'year=2026"\s+aria-current="page"', html)

    page = _text(client.get("/bills?year=2025"))
    assert "2025-12 账单" in page and "¥53.80" in page and "2026-02 账单" not in page
    assert "2025 年阶梯用电" in page and "已用 100 / 2,760 千瓦时" in page

    assert "2019 年没有账单。" in _text(client.get("/bills?year=2019"))
    assert "2026 年账单" in _text(client.get("/bills?year=not-a-year"))


def test_tier_progress_shows_how_far_into_each_annual_tier(client, statements) -> None:
    _sign_in(client)
    page = _text(client.get("/bills?year=2026"))
    assert "2026 年账单累计用电 3,000 千瓦时" in page
    assert "已用 2,760 / 2,760 千瓦时" in page  # tier 1 full
    assert "已用 240 / 2,040 千瓦时" in page  # tier 2 from 2,760 to 4,800
    assert "第一档 0–2,760 千瓦时 · ¥0.538/千瓦时" in page
    assert "第三档 4,800 千瓦时以上 · ¥0.838/千瓦时 已用 0 千瓦时" in page
    html = client.get("/bills?year=2026").get_data(as_text=True)
    assert '<progress aria-labelledby="tier-2" max="2040.00" value="240.00">' in html


def test_bill_detail_splits_a_bill_across_tiers(client, statements) -> None:
    _sign_in(client)
    page = _text(client.get("/bills/2026-02"))
    assert "阶梯分档" in page
    assert "第一档 760 0.538 ¥408.88" in page
    assert "第二档 240 0.588 ¥141.12" in page
    assert "合计 1,000 ¥550.00" in page
    assert "2026-03-20 本金 ¥550.00，违约金 ¥2.75" in page
    assert "已缴违约金：¥2.75。" in page and "已用 240 / 2,040 千瓦时" in page


def test_bill_detail_of_a_time_of_use_bill(client, statements) -> None:
    _sign_in(client)
    page = _text(client.get("/bills/2026-10?account=1000000002"))
    assert "峰谷分时" in page
    assert "峰段 100 1.0824 ¥108.24" in page
    assert "平段 200 0.6544 ¥130.88" in page
    assert "谷段 300 0.3064 ¥91.92" in page
    assert "合计 600 ¥331.04" in page and "未缴" in page and "尚未缴费。" in page
    assert "阶梯用电" not in page  # no annual tiers on a time-of-use tariff


def test_another_customers_bills_and_payments_are_not_found(client, statements) -> None:
    _sign_in(client)
    for path in [
        "/bills/2026-01?account=2000000001",
        "/bills?account=2000000001",
        "/payments?account=2000000001",
        "/bills/2026-01?account=9999999999",
        "/bills/2026-03",  # no bill for that period
        "/bills/2026-13",
        "/bills/latest",
    ]:
        assert client.get(path).status_code == 404, path
    for path in ["/bills", "/bills?year=2026", "/payments", "/home"]:
        assert "¥269.00" not in _text(client.get(path))  # the foreign account's 500 kWh bill


def test_payments_show_where_each_payment_went(client, statements) -> None:
    _sign_in(client)
    page = _text(client.get("/payments"))
    newest, oldest = page.index("2026-03-20 10:30"), page.index("2026-01-10 10:30")
    assert newest < oldest
    later = page[newest:oldest]
    assert "¥700.00 银行代扣 · 流水号 B-0002" in later
    assert "2026-01 账单 本金 ¥129.80 违约金 ¥4.28" in later
    assert "2026-02 账单 本金 ¥550.00 违约金 ¥2.75" in later
    assert "¥13.17 转为预存余额。" in later
    earlier = page[oldest:]
    assert "¥1,000.00 柜台 · 流水号 C-0001" in earlier
    assert "2025-12 账单 本金 ¥53.80" in earlier and "2026-01 账单 本金 ¥946.20" in earlier
    assert "转为预存余额" not in earlier
    html = client.get("/payments").get_data(as_text=True)
    assert 'href="/bills/2026-01?account=1000000001"' in html


def test_empty_states_for_an_account_without_bills(client, statements) -> None:
    _sign_in(client)
    assert "暂无缴费记录。" in _text(client.get("/payments?account=1000000003"))
    page = _text(client.get("/bills?account=1000000003"))
    assert "2026 年没有账单。" in page and "已用 0 / 2,760 千瓦时" in page
    assert "暂无账单。" in _text(client.get("/home?account=1000000003"))


def test_home_links_the_latest_bill_all_bills_and_payments(client, statements) -> None:
    _sign_in(client)
    html = client.get("/home?account=1000000001").get_data(as_text=True)
    assert 'href="/bills/2026-02?account=1000000001"' in html
    assert 'href="/bills?account=1000000001"' in html and 'href="/payments?account=1000000001"' in html
    page = _text(client.get("/home?account=1000000001"))
    assert "2026-02 账单 ： ¥550.00" in page and "已缴清" in page and "¥13.17" in page
    page = _text(client.get("/home?account=1000000002"))
    assert "2026-10 账单 ： ¥331.04" in page and "未缴" in page


def test_usage_chart_is_inline_svg_with_text_and_a_table(client, statements) -> None:
    _sign_in(client)
    html = client.get("/bills").get_data(as_text=True)
    svg = html[html.index('<svg class="usage-chart"') : html.index("</svg>", html.index("usage-chart"))]
    assert 'role="img"' in svg and 'aria-labelledby="usage-svg-title usage-svg-desc"' in svg
    # the twelve months up to the last bill (2026-02), not up to today's month (2026-11, nothing billed after 02)
    assert '<title id="usage-svg-title">用电量和电费，2025-03 至 2026-02</title>' in svg
    assert "合计 3,100 千瓦时，¥1,679.80" in svg and "用电最多的月份 2026-01：2,000 千瓦时，¥1,076.00" in svg
    assert svg.count("<rect") == 12
    table = html[html.index('<details class="as-table">') :]
    assert table.count('<th scope="row">20') == 12
    assert '<td class="num">1,000</td><td class="num">¥550.00</td>' in table


def test_chart_geometry_scales_to_the_largest_month() -> None:
    assert usage_chart([]) is None
    series = [
        {"period": "2025-12", "kwh": Decimal("100.00"), "amount": Decimal("53.80")},
        {"period": "2026-01", "kwh": Decimal("200.00"), "amount": Decimal("107.60")},
        {"period": "2026-02", "kwh": Decimal("0.00"), "amount": Decimal("0.00")},
    ]
    chart = usage_chart(series)
    assert chart is not None
    tall, zero = chart.bars[1], chart.bars[2]
    assert tall.y == chart.top and tall.height == chart.bottom - chart.top
    assert chart.bars[0].height == pytest.approx(tall.height / 2, abs=0.1)
    assert zero.height == 0 and zero.ay == chart.bottom
    assert [b.year for b in chart.bars] == ["", "2026", ""]  # no "2025" crowding January's "2026"
    later = usage_chart(
        [{**row, "period": p} for row, p in zip(series, ["2026-05", "2026-06", "2026-07"], strict=True)]
    )
    assert later is not None and [b.year for b in later.bars] == ["2026", "", ""]
    assert (later.bars[0].year_x, later.bars[0].year_anchor) == (later.left, "start")
    assert all(chart.left <= b.x and b.x + b.width <= chart.right for b in chart.bars)
    flat = usage_chart([{"period": "2026-03", "kwh": Decimal(0), "amount": Decimal(0)}])
    assert flat is not None and flat.bars[0].height == 0


def test_number_formats(app) -> None:
    with app.test_request_context("/?lang=en"):
        assert kwh(Decimal("2760.00")) == "2,760" and kwh(Decimal("12.50")) == "12.50"
        assert price(Decimal("0.5380")) == "¥0.538/kWh" and price(Decimal("0.5000")) == "¥0.50/kWh"
        assert price(Decimal("1.0824")) == "¥1.0824/kWh" and unit_price(Decimal("0.3064")) == "0.3064"


def test_bill_detail_shows_the_annual_tiers_as_of_that_bill(client, statements) -> None:
    _sign_in(client)
    page = _text(client.get("/bills/2026-01"))  # the February bill (1,000 kWh) came later
    assert "2026 年账单累计用电 2,000 千瓦时" in page
    assert "已用 2,000 / 2,760 千瓦时" in page and "已用 0 / 2,040 千瓦时" in page


def test_bill_detail_shows_its_readings_and_multiplier(client, statements) -> None:
    _sign_in(client)
    page = _text(client.get("/bills/2026-02"))
    assert "电表读数 起码 2,100 止码 3,100 倍率 1 用电量 =（止码 − 起码）× 倍率。" in page
