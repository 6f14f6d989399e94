"""The portal's invoices page: the account's e-invoices and e-bills to download, the customer's choice, and the
public page an invoice's QR code leads to."""

from __future__ import annotations

import re
from typing import Any

from tests.billing.support import add_tariffs, bill_with
from tests.billing.test_invoicing import plant_invoice
from tests.webapp.test_portal_pages import _sign_in


def _form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_the_page_lists_invoices_and_ebills_to_download_in_chinese(client, session, world) -> None:
    add_tariffs(session)
    bill_with(session, world.own_account, "2026-03", 100)
    invoice = plant_invoice(session, world.own_account, "26000000000000000001")
    plant_invoice(session, world.foreign_account, "26000000000000000002")
    session.commit()
    _sign_in(client)
    html = client.get("/invoices").get_data(as_text=True)
    assert "发票与电子账单" in html and "26000000000000000001" in html and "26000000000000000002" not in html
    assert "2026-03 电子账单" in html
    pdf = client.get(f"/invoices/1000000001/{invoice.invoice_no}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert client.get("/ebills/1000000001/2026-03.pdf").mimetype == "application/pdf"
    assert client.get("/invoices/2000000001/26000000000000000002.pdf").status_code == 404  # not one of theirs
    assert client.get("/ebills/1000000001/2026-13.pdf").status_code == 404


def test_the_customer_chooses_monthly_invoices_by_email(client, session, world) -> None:
    _sign_in(client)
    html = client.get("/invoices").get_data(as_text=True)
    form = {"csrf_token": _form_token(html), "account_no": "1000000001", "mode": "monthly", "email": "on"}
    done = client.post("/invoices", data=form)
    assert done.status_code == 303
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert re.search(r'value="monthly" checked', page) and re.search(r'name="email" checked', page)
    bad = client.post("/invoices", data={**form, "mode": "weekly"})
    assert bad.status_code == 422 and "发票" in bad.get_data(as_text=True)
    assert client.post("/invoices", data={**form, "account_no": "2000000001"}).status_code == 404


def test_anyone_verifies_an_invoice_by_number_and_check_code(client, session, world) -> None:
    invoice = plant_invoice(session, world.own_account, "26000000000000000001")
    session.commit()
    good = client.get(f"/invoices/verify?invoice_no={invoice.invoice_no}&check_code={invoice.check_code}")
    assert good.status_code == 200
    text = good.get_data(as_text=True)
    assert "查验通过" in text and "¥100.00" in text and "不作为税务凭证" in text
    wrong = client.get(f"/invoices/verify?invoice_no={invoice.invoice_no}&check_code=1").get_data(as_text=True)
    assert "未找到" in wrong and "查验通过" not in wrong
    empty: Any = client.get("/invoices/verify").get_data(as_text=True)
    assert "发票查验" in empty and "未找到" not in empty
