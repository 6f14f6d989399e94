"""Paying a bill online at 360 px in headless Chromium, through the Alipay simulator's cashier: the pay page
proposes what is owed, the cashier takes the money, the simulator's signed notice reaches the app over HTTP and
the order page, which only asks the app, shows the order paid."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from billing import online
from billing.invoicing.models import Invoice
from billing.models import Payment
from billing.online.simulator import AlipaySimulator
from tests.billing.support import add_tariffs, bill_with
from tests.e2e.conftest import Phone, open_phone
from tests.support import PASSWORD

pytestmark = pytest.mark.e2e


@pytest.fixture
def alipay(app: Any) -> Iterator[AlipaySimulator]:
    sim = AlipaySimulator(Path(app.config["INSTANCE_DIR"]) / "payment_simulator", delays=(0.0, 0.5, 1.0, 2.0))
    sim.start()
    saved = app.config["PAYMENT_SIMULATOR_URL"]
    app.config["PAYMENT_SIMULATOR_URL"] = sim.url
    online.configure(app.config)
    yield sim
    sim.stop()
    app.config["PAYMENT_SIMULATOR_URL"] = saved
    online.configure(app.config)


@pytest.fixture
def payer(chromium: Any, live_server: str, alipay: AlipaySimulator) -> Iterator[Phone]:
    phone = open_phone(chromium, live_server)
    origin = alipay.url.rsplit("/", 1)[0]
    phone.page.context.route(f"{origin}/**", lambda route: route.continue_())  # the cashier is the provider's
    yield phone
    phone.page.context.close()
    assert phone.errors == [], f"script errors: {phone.errors}"
    assert phone.outside == [], f"requests outside the app and the cashier: {phone.outside}"


def _taps_are_big_enough(phone: Phone) -> None:
    small = phone.page.evaluate(
        """() => Array.from(document.querySelectorAll(
                 'main button, main a.download, main label.choice, main .segmented a'))
             .filter(el => el.offsetParent !== null && el.getBoundingClientRect().height < 44)
             .map(el => el.textContent.trim())"""
    )
    assert small == [], f"{phone.page.url}: tap targets under 44 px: {small}"


def _signed_in_with_a_bill(payer: Phone, session: Any, world: Any) -> Any:
    """The customer with one unpaid bill (January's, 200 kWh), signed in on the phone; its page."""
    add_tariffs(session)
    bill_with(session, world.own_account, "2026-01", 200)
    session.commit()
    page = payer.page
    payer.go("/login")
    page.fill("#phone", "13900000001")
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/home(\?|$)"))
    return page


def test_pay_a_bill_through_the_cashier_then_download_and_verify_its_invoice(
    payer: Phone, session: Any, world: Any, alipay: AlipaySimulator
) -> None:
    page = _signed_in_with_a_bill(payer, session, world)

    page.get_by_role("link", name="缴费", exact=True).first.click()
    page.get_by_role("heading", name=re.compile("^缴费")).wait_for()
    owed = page.locator("#owed").inner_text()
    amount = page.get_by_label("金额（元）").input_value()
    assert Decimal(amount) > 0 and owed.replace(",", "").endswith(amount)
    payer.assert_fits()
    payer.assert_labelled()
    payer.shot("zh-60-pay")
    page.get_by_label("金额（元）").focus()  # the keyboard alone: Enter submits the form
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(re.escape(alipay.url)))
    assert page.locator("#amount").inner_text() == amount
    payer.assert_fits()
    payer.shot("zh-61-cashier")
    page.get_by_role("button", name=re.compile("确认付款")).click()

    page.wait_for_url(re.compile(r"/pay/orders/GD\d+"))
    page.locator("#order-status", has_text="已支付").wait_for()  # the page asked the app until the notice came
    payer.assert_fits()
    payer.shot("zh-62-paid")
    session.rollback()
    assert [(p.amount, p.channel) for p in session.scalars(select(Payment))] == [(Decimal(amount), "app")]

    # the e-invoice issued for the payment: listed in the portal, downloaded, verified by its QR code's address
    invoice_no, check_code = session.execute(select(Invoice.invoice_no, Invoice.check_code)).one()
    session.rollback()  # SQLite: the test's reading transaction holds the lock the live server needs
    payer.go("/invoices")
    page.get_by_role("heading", name="电子发票").wait_for()
    expect(page.locator(".invoices .invoice-no")).to_have_text(invoice_no)
    payer.assert_fits()
    payer.assert_labelled()
    _taps_are_big_enough(payer)
    payer.shot("zh-63-invoices")
    link = page.locator(".invoices a.download")
    reply = page.request.get(payer.base + str(link.get_attribute("href")))  # the phone's own session
    assert reply.ok and reply.headers["content-type"] == "application/pdf"
    pdf = reply.body()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert invoice_no in text and check_code in text and "不作为税务凭证" in text
    payer.go(f"/invoices/verify?invoice_no={invoice_no}&check_code={check_code}")
    expect(page.get_by_role("heading", name="查验通过：发票真实有效")).to_be_visible()
    payer.assert_fits()
    _taps_are_big_enough(payer)
    payer.shot("zh-64-verified")


@pytest.fixture
def both_offered(app: Any, alipay: AlipaySimulator) -> Iterator[AlipaySimulator]:
    saved = app.config.get("ONLINE_PAY_PROVIDERS")
    app.config["ONLINE_PAY_PROVIDERS"] = "alipay,wechat"
    online.configure(app.config)
    yield alipay
    app.config["ONLINE_PAY_PROVIDERS"] = saved
    online.configure(app.config)


def test_the_customer_chooses_wechat_pay_and_pays_at_its_h5_cashier(
    both_offered: AlipaySimulator, payer: Phone, session: Any, world: Any
) -> None:
    page = _signed_in_with_a_bill(payer, session, world)
    payer.go("/pay")
    expect(page.get_by_label("支付宝")).to_be_checked()  # both offered: the customer chooses
    page.get_by_label("微信支付").check()
    payer.assert_fits()
    payer.assert_labelled()
    _taps_are_big_enough(payer)
    amount = page.get_by_label("金额（元）").input_value()
    page.click("#pay")

    page.wait_for_url(re.compile(re.escape(both_offered.origin + "/wechat/h5")))
    assert page.locator("#amount").inner_text() == amount
    payer.assert_fits()
    page.get_by_role("button", name=re.compile("确认支付")).click()

    page.wait_for_url(re.compile(r"/pay/orders/GD\d+"))
    page.locator("#order-status", has_text="已支付").wait_for()  # the signed, encrypted notice came
    session.rollback()
    assert [(p.amount, p.channel) for p in session.scalars(select(Payment))] == [(Decimal(amount), "app")]
    assert [d.out_trade_no for d in both_offered.wechat.deliveries] == list(both_offered.wechat.trades)
