"""E-invoices and e-bills (电子发票与账单): the account's invoices and monthly e-bills to download, its invoice
choice, and the public page the invoice's QR code leads to."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from billing.commands import SetInvoicePreference
from billing.invoicing import public_url
from billing.invoicing.documents import ebill_pdf, invoice_pdf
from billing.invoicing.services import (
    account_invoices,
    ebill,
    ebill_periods,
    find_account_invoice,
    original_invoice_no,
    preference,
    set_preference,
    verify,
)
from billing.rules import parse_period
from core.db import db
from core.errors import DomainError

from ..errors import form_errors
from . import portal
from ._customer import bound_accounts, customer, customer_required, selected_account

LABELS = {"mode": _l("Invoices"), "email": _l("E-mail them to me")}
FIELD_MAX = 32


def _pdf(data: bytes, filename: str) -> Response:
    return Response(
        data, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


def _page(accounts: list[Any], account: Any, errors: Any = None, status: int = 200) -> Any:
    chosen = preference(db.session, account.id) if account is not None else None
    return (
        render_template(
            "portal/invoices.html",
            accounts=accounts,
            account=account,
            invoices=account_invoices(db.session, account.id) if account is not None else [],
            periods=ebill_periods(db.session, account.id)[:24] if account is not None else [],
            preference=chosen,
            errors=errors,
        ),
        status,
    )


@portal.get("/invoices")
@customer_required
def invoices() -> Any:
    accounts = bound_accounts()
    return _page(accounts, selected_account(accounts))


@portal.post("/invoices")
@customer_required
def invoice_preferences() -> Any:
    accounts = bound_accounts()
    account = {a.account_no: a for a in accounts}.get(request.form.get("account_no", ""))
    if account is None:
        abort(404)
    data = {"mode": request.form.get("mode", ""), "email": request.form.get("email") == "on"}
    try:
        command = SetInvoicePreference.parse(data)
    except DomainError as exc:
        return _page(accounts, account, form_errors(exc, LABELS), 422)
    set_preference(db.session, account, command.mode, command.email, customer().id)
    db.session.commit()
    return redirect(url_for("portal.invoices", account=account.account_no, saved=1), code=303)


def _own_account(account_no: str) -> Any:
    account = {a.account_no: a for a in bound_accounts()}.get(account_no)
    if account is None:
        abort(404)
    return account


@portal.get("/invoices/<account_no>/<invoice_no>.pdf")
@customer_required
def invoice_download(account_no: str, invoice_no: str) -> Any:
    account = _own_account(account_no)
    invoice = find_account_invoice(db.session, account.id, invoice_no[:FIELD_MAX])
    if invoice is None:
        abort(404)
    return _pdf(
        invoice_pdf(
            invoice, account.account_no, public_url(request.host_url), original_invoice_no(db.session, invoice)
        ),
        f"einvoice-{invoice.invoice_no}.pdf",
    )


@portal.get("/ebills/<account_no>/<period>.pdf")
@customer_required
def ebill_download(account_no: str, period: str) -> Any:
    account = _own_account(account_no)
    month = parse_period(period)
    if month is None:
        abort(404)
    return _pdf(ebill_pdf(ebill(db.session, account, month)), f"ebill-{account.account_no}-{month}.pdf")


@portal.get("/invoices/verify")
def invoice_verify() -> Any:
    """Public: the invoice's QR code leads here with its number and check code; anyone may type them in."""
    invoice_no = request.args.get("invoice_no", "").strip()[:FIELD_MAX]
    check_code = request.args.get("check_code", "").strip()[:FIELD_MAX]
    asked = bool(invoice_no or check_code)
    found = verify(db.session, invoice_no, check_code) if invoice_no and check_code else None
    return render_template(
        "portal/invoice_verify.html", invoice_no=invoice_no, check_code=check_code, asked=asked, invoice=found
    )
