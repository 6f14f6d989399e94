"""Who gives an e-invoice its number and check code.

``LocalIssuer`` is GridDesk itself: numbers in the shape of China's fully digital e-invoices (20 digits, the year
first) and a 20-digit check code, verifiable on GridDesk only, so the PDF says it is not a tax document. A real
invoicing service (a tax-control platform or a provider of 全电发票 issuing) is one class with ``name``,
``tax_document = True`` and ``issue``, named in ``ISSUERS`` and chosen by ``INVOICE_ISSUER``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from core import clock


@dataclass(frozen=True)
class InvoiceDraft:
    account_no: str
    buyer_name: str
    seller_name: str
    amount: Decimal
    net_amount: Decimal
    tax_amount: Decimal
    tax_rate: Decimal
    original_invoice_no: str = ""  # a red invoice: the number of the invoice it cancels (amounts negative)


@dataclass(frozen=True)
class IssuedNumbers:
    invoice_no: str
    check_code: str


class InvoiceIssuer(Protocol):
    name: str
    tax_document: bool

    def issue(self, draft: InvoiceDraft) -> IssuedNumbers: ...


def _digits(n: int) -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(n))


class LocalIssuer:
    """GridDesk's own numbers (not a tax document)."""

    name = "local"
    tax_document = False

    def issue(self, draft: InvoiceDraft) -> IssuedNumbers:
        return IssuedNumbers(invoice_no=clock.today_local().strftime("%y") + _digits(18), check_code=_digits(20))


ISSUERS: dict[str, type] = {"local": LocalIssuer}


def issuer(name: str) -> InvoiceIssuer:
    if name not in ISSUERS:
        raise ValueError(f"unknown INVOICE_ISSUER {name!r}")
    made: InvoiceIssuer = ISSUERS[name]()
    return made
