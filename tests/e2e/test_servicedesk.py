"""The 95598 pages in headless Chromium at 360 px: a customer reports a fault from the phone's position and follows
it to restoration and a rating; a passer-by sets the place by tapping the map; the complaint form by keyboard."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Phone, open_phone
from tests.servicedesk.helpers import move
from tests.support import PASSWORD

pytestmark = pytest.mark.e2e

HERE = {"latitude": 30.2702, "longitude": 120.1601}  # beside the world's accounts


def _sign_in(phone: Phone) -> None:
    phone.go("/login")
    phone.page.fill("#phone", "13900000001")
    phone.page.fill("#password", PASSWORD)
    phone.page.click("form button[type=submit]")
    phone.page.wait_for_url("**/home")


def _taps_are_big_enough(phone: Phone) -> None:
    small = phone.page.evaluate(
        """() => Array.from(document.querySelectorAll('main button, main input, main select, main textarea'))
             .filter(el => el.type !== 'hidden' && el.offsetParent !== null && el.type !== 'radio')
             .filter(el => el.getBoundingClientRect().height < 44)
             .map(el => el.name || el.id || el.textContent.trim())"""
    )
    assert small == [], f"{phone.page.url}: tap targets under 44 px: {small}"


def test_the_customer_reports_from_the_phones_position_and_follows_it_to_restoration(
    app: Any, chromium: Any, live_server: str, client: Any, world: Any, monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "MAP_TILE_URL", "/static/no-tiles/{z}/{x}/{y}.png")
    phone = open_phone(chromium, live_server, geolocation=HERE, permissions=["geolocation"])
    page = phone.page
    _sign_in(phone)
    phone.go("/repair")
    page.wait_for_load_state("load")
    phone.assert_fits()
    phone.assert_labelled()
    _taps_are_big_enough(phone)
    page.get_by_role("button", name="使用我的位置").click()
    expect(page.locator("#lat")).not_to_have_value(
        "", timeout=30_000
    )  # a string predicate would be eval'd: the CSP refuses it
    assert page.input_value("#lat") == "30.270200" and page.input_value("#lon") == "120.160100"
    page.select_option("#account_no", "")
    page.fill("#description", "楼下变压器冒烟，整栋楼停电")
    page.get_by_role("button", name="提交报修").click()
    page.wait_for_url("**/service/*")
    ticket_no = page.url.rsplit("/", 1)[-1]
    assert page.locator("[data-status]").inner_text() == "已受理"
    for step, extra in [("dispatched", {"crew": "抢修一班"}), ("on_site", {}), ("restored", {"cause": "变压器故障"})]:
        assert move(client, world, ticket_no, to=step, **extra).status_code == 200
    assert move(client, world, ticket_no, to="closed").status_code == 200
    page.reload()
    actions = page.locator(".timeline li").evaluate_all("items => items.map(i => i.dataset.action)")
    assert actions == ["received", "dispatched", "on_site", "restored", "closed"]
    phone.assert_fits()
    # rate by keyboard: the first star is reached with Tab, the arrow keys choose, Enter sends
    page.locator("input[name=score]").first.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    page.keyboard.type("很快")
    page.get_by_role("button", name="提交评价").press("Enter")
    page.wait_for_load_state()
    page.get_by_text("您的评价：4 分（满分 5 分）").wait_for()
    phone.shot("zh-servicedesk-rated")
    assert phone.errors == []


def test_a_passer_by_sets_the_place_by_tapping_the_map(
    app: Any, chromium: Any, live_server: str, world: Any, monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "MAP_TILE_URL", "/static/no-tiles/{z}/{x}/{y}.png")
    monkeypatch.setitem(app.config, "MAP_CENTRE", "30.2702,120.1601")
    phone = open_phone(chromium, live_server)
    page = phone.page
    phone.go("/repair")
    page.wait_for_load_state("load")
    page.locator(".map-frame .folium-map").click()
    expect(page.locator("#lat")).not_to_have_value(
        "", timeout=30_000
    )  # a string predicate would be eval'd: the CSP refuses it
    assert abs(float(page.input_value("#lat")) - 30.2702) < 0.01
    page.fill("#description", "路边电线掉落")
    page.fill("#contact_phone", "13912345678")
    page.get_by_role("button", name="提交报修").click()
    page.get_by_role("heading", name="报修已受理").wait_for()
    assert page.locator("[data-ticket-no]").inner_text().isdigit()
    phone.assert_fits()
    assert phone.errors == []


def test_the_complaint_form_is_sent_by_keyboard_alone(chromium: Any, live_server: str, world: Any) -> None:
    phone = open_phone(chromium, live_server)
    page = phone.page
    _sign_in(phone)
    phone.go("/service/new")
    page.wait_for_load_state("load")
    phone.assert_fits()
    phone.assert_labelled()
    page.locator("#kind").focus()
    page.keyboard.press("Tab")  # the account: its first choice is none
    page.keyboard.press("Tab")
    page.keyboard.type("抄表员态度不好")
    page.keyboard.press("Tab")
    page.keyboard.type("13912345678")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/service/*")
    assert page.locator("[data-status]").inner_text() == "已受理"
