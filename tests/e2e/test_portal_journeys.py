"""Customer journeys in headless Chromium at 360 px: sign up, bind, account home, switch, unbind, English,
keyboard-only sign-in. Every page is checked for horizontal scrolling and unlabelled controls."""

from __future__ import annotations

from typing import Any

import pytest

from notifications import runtime
from tests.e2e.conftest import Phone, open_phone
from tests.support import PASSWORD, make_account

pytestmark = pytest.mark.e2e


def _sign_in(phone: Phone, username: str, password: str = PASSWORD, query: str = "") -> None:
    phone.go(f"/login{query}")
    phone.page.fill("#phone", username)
    phone.page.fill("#password", password)
    phone.page.click("form button[type=submit]")


def test_sign_up_bind_two_accounts_switch_and_unbind(phone: Phone, session: Any, world: Any) -> None:
    make_account(
        session, "3301000123", world.unit_a, holder_name="王芳", id_last4="88X1", address="杭州市西湖区文三路90号"
    )
    make_account(
        session, "3301000456", world.unit_a, holder_name="王芳", id_last4="88X1", address="杭州市上城区解放路8号"
    )
    session.commit()
    page = phone.page

    phone.go("/")
    phone.assert_fits()
    phone.shot("zh-01-welcome")
    page.get_by_role("link", name="注册账号").first.click()
    page.get_by_label("手机号码").press_sequentially("13712345678")
    page.get_by_label("手机号码").press("Enter")  # step one: the code goes to the number
    page.get_by_role("status").wait_for()  # "a 6-digit code is on its way"; the demo gateway logs it
    page.get_by_label("短信验证码").fill(runtime.current().sms.last_code("13712345678"))
    page.get_by_label("姓名").fill("王芳")
    page.get_by_label("密码（至少10个字符，不能是常见密码）").fill("a-good-password")
    page.get_by_label("再次输入密码").fill("another-password")
    page.get_by_role("button", name="注册账号").click()
    assert page.get_by_text("两次输入的密码不一致").is_visible()  # the form keeps what was typed
    assert page.get_by_label("手机号码").input_value() == "13712345678"
    phone.assert_labelled()
    phone.assert_fits()
    phone.shot("zh-02-signup-error")
    page.get_by_label("密码（至少10个字符，不能是常见密码）").fill("a-good-password")
    page.get_by_label("再次输入密码").fill("a-good-password")
    page.get_by_role("button", name="注册账号").click()

    page.get_by_role("heading", name="绑定您的第一个户号").wait_for()
    phone.assert_fits()
    phone.shot("zh-03-home-empty")
    page.get_by_role("link", name="绑定户号").first.click()
    page.get_by_label("户号", exact=True).fill("3301000123")
    page.get_by_label("户主姓名").fill("王芳")
    page.get_by_label("身份证号码后4位").fill("0000")
    page.get_by_role("button", name="绑定").click()
    assert page.get_by_role("alert").inner_text() == "户号信息不匹配。"
    phone.assert_labelled()
    page.get_by_label("身份证号码后4位").fill("88X1")
    page.get_by_role("button", name="绑定").click()

    page.get_by_role("heading", name="户号 3301000123").wait_for()
    assert "户号 3301000123 已绑定" in page.get_by_role("status").first.inner_text()
    assert page.get_by_text("目前无需缴费。").is_visible()
    assert page.locator(".tabbar a[aria-current=page]").inner_text().strip() == "首页"
    phone.assert_fits()
    phone.shot("zh-04-home")

    page.get_by_role("link", name="我的").click()
    page.get_by_role("link", name="绑定其他户号").click()
    page.get_by_label("户号", exact=True).fill("3301000456")
    page.get_by_label("户主姓名").fill("王芳")
    page.get_by_label("身份证号码后4位").fill("88X1")
    page.get_by_role("button", name="绑定").click()
    page.get_by_role("heading", name="户号 3301000456").wait_for()

    page.get_by_label("户号", exact=True).select_option("3301000123")
    page.get_by_role("button", name="切换").click()
    page.get_by_role("heading", name="户号 3301000123").wait_for()
    phone.assert_labelled()
    phone.shot("zh-05-home-two-accounts")

    page.get_by_role("link", name="我的").click()
    page.wait_for_url(f"{phone.base}/me")
    phone.assert_fits()
    phone.shot("zh-06-me")
    page.get_by_role("link", name="解绑户号 3301000456").click()  # asks first: nothing is unbound yet
    page.get_by_role("heading", name="解绑户号 3301000456？").wait_for()
    phone.assert_fits()
    page.get_by_role("link", name="继续绑定").click()
    page.wait_for_url(f"{phone.base}/me")
    assert "3301000456" in page.locator("ul.plain-list").first.inner_text()
    page.get_by_role("link", name="解绑户号 3301000456").click()
    page.get_by_role("button", name="解绑此户号").click()
    assert "户号 3301000456 已解绑" in page.get_by_role("status").first.inner_text()
    assert "3301000456" not in page.locator("ul.plain-list").first.inner_text()
    page.get_by_role("button", name="退出登录").click()
    page.get_by_role("heading", name="掌上电力，随时随地").wait_for()


def test_english_pages_fit_a_phone(chromium: Any, live_server: str, session: Any, world: Any) -> None:
    phone = open_phone(chromium, live_server, locale="en-GB")
    try:
        page = phone.page
        phone.go("/?lang=en")
        assert page.locator("html").get_attribute("lang") == "en"
        phone.shot("en-01-welcome")
        _sign_in(phone, "13900000001")
        page.get_by_role("heading", name="Account 1000000001").wait_for()
        assert page.get_by_text("Nothing to pay now.").is_visible()
        phone.assert_fits()
        phone.shot("en-02-home")
        for tab, path in [("Me", "/me"), ("Nearby", "/nearby"), ("Messages", "/inbox")]:
            page.locator(".tabbar").get_by_role("link", name=tab, exact=True).click()
            page.wait_for_url(f"**{path}")
            phone.assert_fits()
            phone.assert_labelled()
            phone.shot(f"en-03-{tab.lower()}")
        page.get_by_role("link", name="中文").click()
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert phone.errors == [] and phone.outside == []
    finally:
        phone.page.context.close()


def test_signing_in_with_the_keyboard_alone(phone: Phone, session: Any, world: Any) -> None:
    page = phone.page
    phone.go("/login")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    order = []
    for _ in range(8):
        page.keyboard.press("Tab")
        order.append(
            page.evaluate(
                "document.activeElement.id || document.activeElement.name || document.activeElement.textContent.trim()"
            )
        )
    assert order.index("phone") < order.index("password") < order.index("remember")
    page.focus("#phone")
    page.keyboard.type("13900000001")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="户号 1000000001").wait_for()
    # the tab bar is reachable by keyboard, and the current tab says so
    focused = []
    for _ in range(16):  # past the home page's own links (bills, payments, the 95598 service) to the tab bar
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.getAttribute('href')"))
    assert "/inbox" in focused and "/me" in focused
