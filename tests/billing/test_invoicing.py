"""E-invoices and e-bills: issued once per payment (or monthly), verified by number and check code, drawn as
PDFs with Chinese text that extracts, e-mailed with the PDF to the accounts that subscribe."""

from __future__ import annotations

import datetime as dt
import io
import urllib.request
from decimal import Decimal
from typing import Any

from pypdf import PdfReader
from sqlalchemy import select

from billing.invoicing.documents import amount_in_words, verify_url
from billing.invoicing.models import Invoice
from billing.invoicing.services import _issue, issue_monthly, issue_red_invoice, split_tax
from billing.invoicing.tasks import issue_monthly_invoices
from tests.billing.support import add_tariffs, bill_with
from tests.notifications.smtp_server import channels_with_smtp, smtp_server
from tests.support import fix_now

ACCOUNT = "1000000001"


def plant_invoice(session: Any, account: Any, invoice_no: str) -> Invoice:
    """An invoice for ``account`` with a chosen number (the permission matrix's own and foreign ones)."""
    invoice = _issue(
        session, account, Decimal("100.00"), source=f"planted:{invoice_no}", kind="per_payment", payment_ids=[]
    )
    assert invoice is not None
    invoice.invoice_no = invoice_no
    session.flush()
    return invoice


def _pay(api: Any, world: Any, amount: str = "100.00", key: str = "k-1", **extra: Any) -> Any:
    clerk = api.as_token(world.token("clerk"))
    body = {"account_no": ACCOUNT, "amount": amount, "channel": "bank", "reference": f"ICBC-{key}", **extra}
    reply = clerk.post("/api/v1/payments", body, headers={"Idempotency-Key": key})
    assert reply.status_code in {200, 201}, reply.get_json()
    return reply.get_json()


def _invoices(api: Any, world: Any) -> list[dict[str, Any]]:
    reply = api.as_token(world.token("customer")).get(f"/api/v1/accounts/{ACCOUNT}/invoices")
    assert reply.status_code == 200
    return list(reply.get_json())


def _text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_amounts_in_capital_digits() -> None:
    assert amount_in_words(Decimal("1234.50")) == "壹仟贰佰叁拾肆元伍角整"
    assert amount_in_words(Decimal("1001.01")) == "壹仟零壹元零壹分"
    assert amount_in_words(Decimal("100010.20")) == "壹拾万零壹拾元贰角整"
    assert amount_in_words(Decimal("0.05")) == "伍分"
    assert amount_in_words(Decimal("-120.00")) == "负壹佰贰拾元整"  # a red invoice


def test_the_tax_split_adds_up_to_what_was_paid() -> None:
    for amount in ("100.00", "0.01", "1626.00", "33.33"):
        net, tax = split_tax(Decimal(amount), Decimal("0.13"))
        assert net + tax == Decimal(amount) and tax >= 0
    assert split_tax(Decimal("113.00"), Decimal("0.13")) == (Decimal("100.00"), Decimal("13.00"))


def test_a_payment_is_invoiced_once_and_its_pdf_carries_number_check_code_and_the_warning(world, session, api) -> None:
    _pay(api, world)
    _pay(api, world)  # the same payment replayed: still one invoice
    invoices = _invoices(api, world)
    assert [(i["amount"], i["kind"], i["tax_document"]) for i in invoices] == [("100.00", "per_payment", False)]
    invoice = invoices[0]
    assert len(invoice["invoice_no"]) == 20 and invoice["invoice_no"].isdigit()
    assert len(invoice["check_code"]) == 20 and invoice["check_code"].isdigit()
    stored = session.scalar(select(Invoice))
    assert (stored.net_amount, stored.tax_amount) == (Decimal("88.50"), Decimal("11.50"))
    pdf = api.as_token(world.token("customer")).get(invoice["pdf_url"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = _text(pdf.get_data())
    assert invoice["invoice_no"] in text and invoice["check_code"] in text
    assert "电子发票" in text and "不作为税务凭证" in text and "壹佰元整" in text and "*供电*电费" in text
    assert "/invoices/verify" in text


def test_the_qr_code_leads_to_the_verify_address_with_number_and_check_code(world, session, api, monkeypatch) -> None:
    from billing.invoicing import documents

    drawn: list[str] = []
    real = documents._qr
    monkeypatch.setattr(documents, "_qr", lambda text, *a: drawn.append(text) or real(text, *a))
    _pay(api, world)
    invoice = _invoices(api, world)[0]
    api.as_token(world.token("customer")).get(invoice["pdf_url"])
    stored = session.scalar(select(Invoice))
    assert drawn == [verify_url("http://localhost", stored)]
    assert f"invoice_no={invoice['invoice_no']}&check_code={invoice['check_code']}" in drawn[0]


def test_verifying_needs_the_number_and_its_check_code(world, session, api, client) -> None:
    _pay(api, world)
    invoice = _invoices(api, world)[0]
    good = client.get(f"/api/v1/invoices/verify?invoice_no={invoice['invoice_no']}&check_code={invoice['check_code']}")
    assert good.status_code == 200
    assert (good.get_json()["valid"], good.get_json()["amount"]) == (True, "100.00")
    wrong = "0" * 20 if invoice["check_code"] != "0" * 20 else "1" * 20
    for query in (f"invoice_no={invoice['invoice_no']}&check_code={wrong}", f"invoice_no=1&check_code={wrong}"):
        reply = client.get(f"/api/v1/invoices/verify?{query}")
        assert reply.status_code == 200 and reply.get_json() == {"valid": False, "amount": None, "issued_at": None}
    page = client.get(f"/invoices/verify?invoice_no={invoice['invoice_no']}&check_code={invoice['check_code']}")
    assert page.status_code == 200 and "100.00" in page.get_data(as_text=True)


def _pay_at(api: Any, world: Any, monkeypatch: Any, amount: str, key: str, day: dt.datetime) -> None:
    fix_now(monkeypatch, day)
    _pay(api, world, amount, key, paid_at=day.isoformat())


def test_a_monthly_account_gets_one_invoice_for_the_month(world, session, api, monkeypatch) -> None:
    customer = api.as_token(world.token("customer"))
    reply = customer.put(f"/api/v1/accounts/{ACCOUNT}/invoice-preferences", {"mode": "monthly", "email": False})
    assert reply.status_code == 200 and reply.get_json() == {"mode": "monthly", "email": False}
    _pay_at(api, world, monkeypatch, "100.00", "k-1", dt.datetime(2026, 3, 5, 2, tzinfo=dt.UTC))
    _pay_at(api, world, monkeypatch, "50.50", "k-2", dt.datetime(2026, 3, 20, 2, tzinfo=dt.UTC))
    _pay_at(api, world, monkeypatch, "7.00", "k-3", dt.datetime(2026, 4, 2, 2, tzinfo=dt.UTC))
    assert _invoices(api, world) == []
    session.rollback()  # the request's reading transaction (SQLite: the write lock) ends before the task writes
    assert issue_monthly_invoices.run(period="2026-03") == {"issued": 1}
    assert issue_monthly_invoices.run(period="2026-03") == {"issued": 0}
    session.rollback()
    assert [(i["amount"], i["kind"], i["period"]) for i in _invoices(api, world)] == [("150.50", "monthly", "2026-03")]
    assert issue_monthly(session, "2026-02") == []


def test_the_ebill_shows_readings_tier_lines_payments_and_balance(world, session, api, monkeypatch) -> None:
    add_tariffs(session)
    bill_with(session, world.own_account, "2026-03", 3000)
    session.commit()
    _pay_at(api, world, monkeypatch, "200.00", "k-1", dt.datetime(2026, 3, 15, 2, tzinfo=dt.UTC))
    customer = api.as_token(world.token("customer"))
    listing = customer.get(f"/api/v1/accounts/{ACCOUNT}/ebills").get_json()
    assert [e["period"] for e in listing] == ["2026-03"]
    pdf = customer.get(listing[0]["pdf_url"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = _text(pdf.get_data())
    assert "电费电子账单" in text and "2026-03" in text
    assert "上期示数" in text and "3000" in text and "第一档" in text and "第二档" in text
    assert "200.00" in text and "预存余额" in text and "欠费本金" in text
    assert customer.get(f"/api/v1/accounts/{ACCOUNT}/ebills/2026-01.pdf").status_code == 404


def test_markup_in_names_is_printed_as_written(world, session, api) -> None:
    world.own_account.holder_name = '<img src="/etc/passwd"/> <b>张'
    session.commit()
    _pay(api, world)
    invoice = _invoices(api, world)[0]
    pdf = api.as_token(world.token("customer")).get(invoice["pdf_url"])
    assert pdf.status_code == 200
    assert '<img src="/etc/passwd"/> <b>张' in _text(pdf.get_data())


def test_a_subscribed_account_gets_its_invoice_and_ebill_by_email_with_the_pdf(app, world, session, api) -> None:
    world.users["customer"].email = "zhang@example.test"
    session.commit()
    customer = api.as_token(world.token("customer"))
    assert (
        customer.put(
            f"/api/v1/accounts/{ACCOUNT}/invoice-preferences", {"mode": "per_payment", "email": True}
        ).status_code
        == 200
    )
    with smtp_server() as box, channels_with_smtp(app, box):
        add_tariffs(session)
        bill_with(session, world.own_account, "2026-03", 100)
        session.commit()
        _pay(api, world)
        invoice = _invoices(api, world)[0]
    letters = {m["Subject"]: m for m in box.messages}
    assert "电子发票已开具" in letters and "2026-03 电子账单" in letters
    attached = next(letters["电子发票已开具"].iter_attachments())
    assert attached.get_filename() == f"einvoice-{invoice['invoice_no']}.pdf"
    assert invoice["check_code"] in _text(attached.get_content())
    bill_pdf = next(letters["2026-03 电子账单"].iter_attachments())
    assert "电费电子账单" in _text(bill_pdf.get_content())


def test_an_unsubscribed_account_gets_no_document_email(app, world, session, api) -> None:
    world.users["customer"].email = "zhang@example.test"
    session.commit()
    with smtp_server() as box, channels_with_smtp(app, box):
        _pay(api, world)
    assert len(_invoices(api, world)) == 1
    # the payment's own notice, no invoice mail
    assert [m["Subject"] for m in box.messages] == [f"户号 {world.own_account.account_no} 缴费 ¥100.00 已到账"]


def test_only_the_customer_chooses_and_the_choice_is_checked(world, session, api) -> None:
    customer = api.as_token(world.token("customer"))
    bad = customer.put(f"/api/v1/accounts/{ACCOUNT}/invoice-preferences", {"mode": "weekly"})
    assert bad.status_code == 422
    assert customer.get(f"/api/v1/accounts/{ACCOUNT}/invoice-preferences").get_json() == {
        "mode": "per_payment",
        "email": False,
    }


def test_a_refund_through_the_provider_issues_red_invoices_against_the_original(
    world, session, api, client, alipay
) -> None:
    customer = api.as_token(world.token("customer"))
    order = customer.post("/api/v1/payment-orders", {"account_no": ACCOUNT, "provider": "alipay", "amount": "300.00"})
    assert order.status_code == 201, order.get_json()
    order_no = order.get_json()["order_no"]
    with urllib.request.urlopen(order.get_json()["pay_url"], timeout=10):  # noqa: S310 (the local simulator)
        pass
    alipay.pay(order_no, notify=False)
    notice = alipay.notice(order_no)
    assert client.post("/api/v1/payment-providers/alipay/notify", data=notice).get_data(as_text=True) == "success"
    [blue] = _invoices(api, world)
    assert (blue["amount"], blue["kind"], blue["original_invoice_no"]) == ("300.00", "per_payment", None)
    clerk, admin = api.as_token(world.token("clerk")), api.as_token(world.token("admin"))

    def refund(amount: str) -> None:
        body = {"kind": "refund", "account_no": ACCOUNT, "amount": amount, "reason": "moving away"}
        request = clerk.post("/api/v1/billing/adjustments", body)
        assert request.status_code == 201, request.get_json()
        decided = admin.post(f"/api/v1/billing/adjustments/{request.get_json()['id']}/decision", {"approve": True})
        assert decided.status_code == 200, decided.get_json()

    refund("120.00")  # partly: a red invoice for what went back
    red = _invoices(api, world)[0]
    assert (red["amount"], red["kind"], red["original_invoice_no"]) == ("-120.00", "red", blue["invoice_no"])
    session.rollback()
    stored = session.scalar(select(Invoice).where(Invoice.invoice_no == red["invoice_no"]))
    assert stored.net_amount + stored.tax_amount == Decimal("-120.00") and stored.tax_amount < 0
    text = _text(customer.get(red["pdf_url"]).get_data())
    assert "红字" in text and blue["invoice_no"] in text and "负壹佰贰拾元整" in text
    verified = api.get(f"/api/v1/invoices/verify?invoice_no={red['invoice_no']}&check_code={red['check_code']}")
    assert verified.get_json()["valid"] is True and verified.get_json()["amount"] == "-120.00"
    refund("180.00")  # the rest: the original is cancelled in full
    assert [(i["amount"], i["kind"]) for i in _invoices(api, world)] == [
        ("-180.00", "red"),
        ("-120.00", "red"),
        ("300.00", "per_payment"),
    ]
    # a refund number announced again, or more than is left of the original, issues nothing more
    session.rollback()
    payment_id = stored.payment_ids[0]
    source = session.scalar(select(Invoice.source).where(Invoice.invoice_no == red["invoice_no"]))
    assert issue_red_invoice(session, payment_id, Decimal("120.00"), source=source) is None
    assert issue_red_invoice(session, payment_id, Decimal("1.00"), source="refund:999999") is None
    session.rollback()
    portal = _portal_page(client)
    assert "红字发票（退款冲红）" in portal and "-300" not in portal


def _portal_page(client: Any) -> str:
    from tests.webapp.test_portal_pages import _sign_in

    _sign_in(client)
    return str(client.get("/invoices").get_data(as_text=True))
