"""E-invoices and e-bills: an account's invoices and e-bills as PDFs, its invoice choice, public verification."""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for
from sqlalchemy.orm import Session

from billing.accounts import get_visible_account
from billing.commands import SetInvoicePreference
from billing.invoicing import public_url
from billing.invoicing.documents import ebill_pdf, invoice_pdf
from billing.invoicing.models import Invoice
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
from billing.models import Account
from billing.rules import parse_period
from core.db import db
from core.errors import NotFound
from core.identity import ALL_ROLES, Role, User

from . import api
from .framework import PUBLIC, ApiModel, allow, caller, endpoint, register_resource, resolved

ACCOUNT_READER = allow(*ALL_ROLES, resource="account")
INVOICE_NO_MAX = 32


def verify_base() -> str:
    return public_url(request.host_url)


def invoice_dict(invoice: Invoice, account_no: str) -> dict[str, Any]:
    return {
        "invoice_no": invoice.invoice_no,
        "check_code": invoice.check_code,
        "issued_at": invoice.issued_at,
        "amount": invoice.amount,
        "kind": invoice.kind,
        "period": invoice.period,
        "tax_document": invoice.tax_document,
        "original_invoice_no": original_invoice_no(db.session, invoice) or None,  # a red invoice: what it cancels
        "pdf_url": url_for("api.get_invoice_pdf", account_no=account_no, invoice_no=invoice.invoice_no),
    }


def pdf_response(data: bytes, filename: str) -> Response:
    return Response(data, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{filename}"'})


def _resolve_invoice(session: Session, user: User, path: dict[str, Any]) -> tuple[Account, Invoice]:
    """One of the account's invoices (the account within the caller's scope); NotFound otherwise."""
    account = get_visible_account(session, user, str(path["account_no"]))
    found = find_account_invoice(session, account.id, str(path["invoice_no"])[:INVOICE_NO_MAX])
    if found is None:
        raise NotFound("invoice_not_found")
    return account, found


register_resource("invoice", _resolve_invoice)


@endpoint(
    api, "/accounts/<account_no>/invoices", access=ACCOUNT_READER, summary="The account's e-invoices, newest first"
)
def list_invoices(account_no: str) -> Any:
    account = resolved()
    return [invoice_dict(i, account.account_no) for i in account_invoices(db.session, account.id)]


@endpoint(
    api,
    "/accounts/<account_no>/invoices/<invoice_no>.pdf",
    access=allow(*ALL_ROLES, resource="invoice"),
    summary="One e-invoice as PDF, with the QR code that verifies it",
    content_type="application/pdf",
)
def get_invoice_pdf(account_no: str, invoice_no: str) -> Any:
    account, invoice = resolved()
    return pdf_response(
        invoice_pdf(invoice, account.account_no, verify_base(), original_invoice_no(db.session, invoice)),
        f"einvoice-{invoice.invoice_no}.pdf",
    )


@endpoint(api, "/accounts/<account_no>/ebills", access=ACCOUNT_READER, summary="The account's monthly e-bills")
def list_ebills(account_no: str) -> Any:
    account = resolved()
    return [
        {"period": p, "pdf_url": url_for("api.get_ebill_pdf", account_no=account.account_no, period=p)}
        for p in ebill_periods(db.session, account.id)
    ]


@endpoint(
    api,
    "/accounts/<account_no>/ebills/<period>.pdf",
    access=allow(*ALL_ROLES, resource="bill"),
    summary="The e-bill of one month as PDF: readings, tier lines, amounts, the month's payments, the balance",
    content_type="application/pdf",
)
def get_ebill_pdf(account_no: str, period: str) -> Any:
    account = get_visible_account(db.session, caller(), account_no)  # the bill resolver checked it already
    month = parse_period(period)
    if month is None:
        raise NotFound("bill_not_found")
    return pdf_response(ebill_pdf(ebill(db.session, account, month)), f"ebill-{account.account_no}-{month}.pdf")


def preference_dict(account_id: int) -> dict[str, Any]:
    found = preference(db.session, account_id)
    return {"mode": found.mode, "email": found.email}


@endpoint(
    api,
    "/accounts/<account_no>/invoice-preferences",
    access=ACCOUNT_READER,
    summary="How the account wants its e-invoices, and whether they and its e-bills are e-mailed",
)
def get_invoice_preferences(account_no: str) -> Any:
    return preference_dict(resolved().id)


@endpoint(
    api,
    "/accounts/<account_no>/invoice-preferences",
    methods=["PUT"],
    access=allow(Role.CUSTOMER, resource="account"),
    body=SetInvoicePreference,
    summary="Choose one invoice per payment or one a month, and e-mailed documents",
)
def put_invoice_preferences(account_no: str, body: SetInvoicePreference) -> Any:
    account = resolved()
    set_preference(db.session, account, body.mode, body.email, caller().id)
    return preference_dict(account.id)


class VerifyQuery(ApiModel):
    invoice_no: str
    check_code: str


@endpoint(
    api,
    "/invoices/verify",
    access=PUBLIC,
    query=VerifyQuery,
    summary="Whether an invoice number and check code belong to an e-invoice GridDesk issued (public)",
)
def verify_invoice(query: VerifyQuery) -> Any:
    invoice = verify(db.session, query.invoice_no[:INVOICE_NO_MAX], query.check_code[:INVOICE_NO_MAX])
    if invoice is None:
        return {"valid": False, "amount": None, "issued_at": None}
    return {
        "valid": True,
        "amount": invoice.amount,
        "issued_at": invoice.issued_at,
        "tax_document": invoice.tax_document,
        "seller_name": invoice.seller_name,
    }
