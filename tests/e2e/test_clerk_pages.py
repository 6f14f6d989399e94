"""The clerk's pages in Chromium at 360 px, by keyboard: find an account, record a counter payment, print view."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from billing.models import Payment
from core.identity import Role, create_user
from tests.billing.support import add_tariffs, bill_with
from tests.support import PASSWORD

pytestmark = pytest.mark.e2e


def _fits(phone) -> None:  # type: ignore[no-untyped-def]
    phone.assert_fits()


def _sign_in(phone, username: str) -> None:  # type: ignore[no-untyped-def]
    phone.go("/staff/login")
    phone.page.fill("input[name=username]", username)
    phone.page.fill("input[name=password]", PASSWORD)
    phone.page.keyboard.press("Enter")
    phone.page.wait_for_url(f"{phone.base}/staff/")


def test_clerk_finds_an_account_and_records_a_counter_payment_by_keyboard(phone, session, world) -> None:
    add_tariffs(session)
    bill_with(session, world.own_account, "2026-01", 200)
    session.commit()
    _sign_in(phone, "clerk-a")
    page = phone.page
    page.click("nav >> text=收费")
    page.fill("#q", "1000000001")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{phone.base}/staff/billing/accounts/1000000001")
    assert "¥107.60" in page.inner_text("main")
    _fits(phone)
    phone.assert_labelled()
    phone.shot("clerk-ledger")
    page.focus("#pay-amount")
    page.keyboard.type("120.00")
    page.keyboard.press("Tab")
    page.keyboard.type("柜-1")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{phone.base}/staff/billing/payments/*/receipt")
    assert "电费缴费收据" in page.inner_text("main")
    _fits(phone)
    phone.shot("clerk-receipt")
    page.emulate_media(media="print")
    assert page.locator(".topbar").is_hidden()
    page.emulate_media(media="screen")
    session.rollback()
    assert session.scalar(select(func.count(Payment.id))) == 1
    session.rollback()  # SQLite: every transaction holds the write lock (BEGIN IMMEDIATE)
    for path in ("/staff/billing/imports", "/staff/billing/approvals", "/staff/billing"):
        phone.go(path)
        _fits(phone)
        phone.assert_labelled()
        phone.shot("clerk-" + path.strip("/").replace("/", "-"))


def test_a_request_filed_from_the_ledger_is_approved_by_a_second_clerk(phone, session, world) -> None:
    add_tariffs(session)
    bill_with(session, world.own_account, "2026-01", 200)
    create_user(session, "clerk-a2", PASSWORD, Role.CLERK, world.unit_a, name="clerk A2")
    session.commit()
    _sign_in(phone, "clerk-a")
    page = phone.page
    phone.go("/staff/billing/accounts/1000000001")
    page.select_option("#req-kind", "correction")
    page.select_option("#req-period", "2026-01")
    page.fill("#req-amount", "-7.60")
    page.fill("#req-reason", "抄表错误")
    page.click("text=提交申请")
    page.wait_for_url("**/staff/billing/accounts/1000000001#requests")
    phone.go("/staff/billing/approvals")
    assert page.locator("button[value=approve]").count() == 0  # one's own request
    page.click("text=退出登录")
    _sign_in(phone, "clerk-a2")
    phone.go("/staff/billing/approvals")
    _fits(phone)
    phone.assert_labelled()
    phone.shot("clerk-approvals")
    page.fill("textarea[name=note]", "核实无误")
    page.click("button[value=approve]")
    page.wait_for_url("**/staff/billing/approvals")
    assert "已批准申请" in page.inner_text("main")
    phone.go("/staff/billing/accounts/1000000001")
    assert "¥100.00" in page.inner_text("main")  # 107.60 - 7.60
