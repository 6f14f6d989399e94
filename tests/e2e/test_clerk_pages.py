"""The clerk's pages in Chromium at 360 px, by keyboard: find an account, record a counter payment, print view."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from billing.models import Payment
from tests.billing.support import add_tariffs, bill_with
from tests.support import PASSWORD

pytestmark = pytest.mark.e2e


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
    phone.assert_fits()
    phone.assert_labelled()
    phone.shot("clerk-ledger")
    page.focus("#pay-amount")
    page.keyboard.type("120.00")
    page.keyboard.press("Tab")
    page.keyboard.type("柜-1")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{phone.base}/staff/billing/payments/*/receipt")
    assert "电费缴费收据" in page.inner_text("main")
    phone.assert_fits()
    phone.shot("clerk-receipt")
    page.emulate_media(media="print")
    assert page.locator(".topbar").is_hidden()
    page.emulate_media(media="screen")
    session.rollback()
    assert session.scalar(select(func.count(Payment.id))) == 1
    session.rollback()  # SQLite: every transaction holds the write lock (BEGIN IMMEDIATE)
    for path in ("/staff/billing/imports", "/staff/billing/approvals", "/staff/billing"):
        phone.go(path)
        phone.assert_fits()
        phone.assert_labelled()
        phone.shot("clerk-" + path.strip("/").replace("/", "-"))
