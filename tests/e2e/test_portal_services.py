"""The installable app (manifest, service worker, offline page), service points near me and the inbox,
in headless Chromium at 360 px."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from mapping.demo import seed_service_points
from notifications.models import Message, Notice
from tests.e2e.conftest import Phone, open_phone
from tests.support import PASSWORD

pytestmark = pytest.mark.e2e

HERE = {"latitude": 30.2600, "longitude": 120.1650}  # near West Lake, among the demo service points


def _sign_in(phone: Phone, username: str = "13900000001") -> None:
    phone.go("/login")
    phone.page.fill("#phone", username)
    phone.page.fill("#password", PASSWORD)
    phone.page.click("form button[type=submit]")
    phone.page.wait_for_url("**/home")


def test_installable_with_an_offline_page(phone: Phone, session: Any, world: Any) -> None:
    page = phone.page
    phone.go("/")
    manifest_url = page.locator("link[rel=manifest]").get_attribute("href")
    manifest = json.loads(page.request.get(phone.base + manifest_url).text())
    assert manifest["display"] == "standalone" and manifest["lang"] == "zh-CN"
    assert {i["sizes"] for i in manifest["icons"]} >= {"192x192", "512x512"}
    for icon in manifest["icons"]:
        response = page.request.get(phone.base + icon["src"])
        assert response.ok and response.headers["content-type"] == "image/png"
    assert page.evaluate("navigator.serviceWorker.ready.then(r => r.active.scriptURL)").endswith("/sw.js")
    page.reload()
    assert page.evaluate("!!navigator.serviceWorker.controller")

    page.context.set_offline(True)
    phone.go("/home")
    page.get_by_role("heading", name="您已离线").wait_for()
    phone.assert_fits()
    phone.shot("zh-10-offline")
    page.context.set_offline(False)
    page.get_by_role("button", name="重试").click()
    page.wait_for_url("**/login?next=/home")  # back online: the real page (sign-in first) again


def test_service_points_near_my_location_with_navigation_links(
    chromium: Any, live_server: str, session: Any, world: Any
) -> None:
    seed_service_points(session)
    session.commit()
    phone = open_phone(chromium, live_server, geolocation=HERE, permissions=["geolocation"])
    page = phone.page
    try:
        _sign_in(phone)
        page.locator(".tabbar").get_by_role("link", name="网点").click()
        page.get_by_role("heading", name="离户号 1000000001 的用电地址最近").wait_for()
        page.wait_for_load_state()  # the button's handler comes with the deferred script
        page.get_by_role("button", name="使用我的位置").click()
        page.get_by_role("heading", name="离您的当前位置最近").wait_for()
        assert "lat=30.260000" in page.url
        cards = page.locator(".sp-card")
        assert cards.count() >= 5
        distances = [_metres(t) for t in cards.locator(".distance").all_inner_texts()]
        assert distances == sorted(distances)
        first = cards.first
        assert re.search("营业中|休息中", first.locator(".open-state").inner_text())
        amap = first.get_by_role("link", name=re.compile("高德地图"))
        assert amap.get_attribute("href").startswith("https://uri.amap.com/navigation?")
        phone.assert_fits()
        phone.assert_labelled()
        phone.shot("zh-11-nearby")

        page.get_by_role("link", name="地图", exact=True).click()
        page.wait_for_url("**/map?lat=30.26000&lon=120.16500*")
        page.wait_for_selector("path.leaflet-interactive")
        phone.assert_fits()
        phone.outside = [u for u in phone.outside if "tile" not in u]  # map tiles come from the tile server
        assert phone.errors == [] and phone.outside == []
    finally:
        page.context.close()


def _metres(text: str) -> float:
    number = float(re.sub(r"[^0-9.]", "", text))
    return number * 1000 if "公里" in text else number


def test_without_location_a_district_finds_service_points(phone: Phone, session: Any, world: Any) -> None:
    seed_service_points(session)
    session.commit()
    page = phone.page
    _sign_in(phone)
    phone.go("/nearby")
    page.wait_for_load_state()  # the button's handler comes with the deferred script
    page.get_by_role("button", name="使用我的位置").click()
    page.get_by_text("无法获取位置。请选择城区或输入地址。").wait_for()
    assert page.evaluate("document.activeElement.id") == "district"
    page.get_by_label("城区").select_option("西湖区")
    page.get_by_role("button", name="搜索").click()
    page.get_by_role("heading", name="离西湖区中心最近").wait_for()
    assert page.locator(".sp-card").count() >= 3


def test_reading_a_notice_clears_the_unread_count(phone: Phone, session: Any, world: Any) -> None:
    customer = world.users["customer"]
    for title, kind in [("明日9:00-12:00计划停电", "outage"), ("11月电费账单已出", "bill")]:
        notice = Notice(kind=kind, title=title, body=f"{title}。详情请见通知。", data={})
        session.add(notice)
        session.flush()
        session.add(Message(notice_id=notice.id, user_id=customer.id))
    session.commit()
    page = phone.page
    _sign_in(phone)
    badge = page.locator(".tabbar .badge")
    assert badge.inner_text() == "2"
    page.locator(".tabbar").get_by_role("link", name=re.compile("消息")).click()
    unread = page.locator(".inbox-item.unread")
    expect(unread).to_have_count(2)  # waits for the inbox page (count() would read the page being left)
    phone.assert_fits()
    phone.shot("zh-12-inbox")
    page.get_by_role("link", name=re.compile("计划停电")).click()
    page.get_by_role("heading", name="明日9:00-12:00计划停电").wait_for()
    assert "详情请见通知" in page.locator(".message-body").inner_text()
    assert badge.inner_text() == "1"
    page.get_by_role("link", name="全部消息").click()
    expect(unread).to_have_count(1)
    page.get_by_role("button", name="全部标为已读").click()
    expect(unread).to_have_count(0)
    assert badge.count() == 0

    # Web Push opt-in goes through the notifications service worker; headless Chromium has no push service,
    # so the page must say it could not (or was not allowed to), never fail silently.
    enable = page.get_by_role("button", name="开启通知")
    enable.click()
    expect(page.locator("[data-push-status]")).to_have_text(re.compile("未能开启通知|通知已被阻止"), timeout=15_000)
