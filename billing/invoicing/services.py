"""Issuing e-invoices, the accounts' choices, verification, and what a monthly e-bill shows.

Rules:

- An account chooses one invoice per payment (the default) or one a month for the payments of the month before;
  it may also subscribe to have its e-invoices and monthly e-bills e-mailed (default: not).
- Every payment recorded (any channel) is invoiced once: per payment right after it is recorded, or in the
  monthly invoice of the local month it was paid in. ``Invoice.source`` is unique, so a payment announced twice,
  or two workers, never make a second invoice.
- The invoice's amount is what was paid (价税合计); 金额 and 税额 are split with ``INVOICE_TAX_RATE``. The buyer is
  the account holder, the seller the account's supply unit.
- Verifying needs the invoice number and its check code (both printed, both in the QR code); a wrong pair says
  only "not valid".
- A payment refunded through its provider (``billing.online.refunds``, confirmed by the provider) that was
  invoiced gets a red-letter invoice (红字发票, kind ``red``) for the amount refunded: negative amounts, the same
  split of tax, ``original_id`` naming the invoice it cancels (per payment, or the month's that covers the
  payment), at most what is left of that invoice after earlier red ones; ``source`` ``refund:<refund id>`` makes
  it once. A payment not invoiced yet (a monthly account before the 1st) gets none: the month's invoice is for
  what was paid.
- An issued invoice or a bill of a subscribed account is announced (``billing.documents_issued``) in the same
  transaction; notifications e-mails it with the PDF attached.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hmac
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.ledger import account_position
from billing.models import Account, Bill, Payment
from billing.topics import DOCUMENTS_ISSUED
from core import clock, outbox
from core.db import utcnow
from core.errors import NotFound

from . import issuer_name, tax_rate
from .issuers import InvoiceDraft, issuer
from .models import RED, Invoice, InvoiceMode, InvoicePreference

CENT = Decimal("0.01")


def preference(session: Session, account_id: int) -> InvoicePreference:
    """The account's choice (an unsaved default row when it never chose)."""
    found = session.get(InvoicePreference, account_id)
    return found or InvoicePreference(account_id=account_id, mode=InvoiceMode.PER_PAYMENT.value, email=False)


def set_preference(
    session: Session, account: Account, mode: str, email: bool, actor_id: int | None
) -> InvoicePreference:
    found = session.get(InvoicePreference, account.id)
    if found is None:
        found = InvoicePreference(account_id=account.id)
        session.add(found)
    found.mode, found.email, found.updated_by, found.updated_at = mode, email, actor_id, utcnow()
    session.flush()
    return found


def split_tax(amount: Decimal, rate: Decimal) -> tuple[Decimal, Decimal]:
    """(金额, 税额) of a tax-inclusive amount, rounded half up to the cent; they add up to ``amount``."""
    net = (amount / (1 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)
    return net, amount - net


def _issue(
    session: Session,
    account: Account,
    amount: Decimal,
    *,
    source: str,
    kind: str,
    payment_ids: list[int],
    period: str | None = None,
    original: Invoice | None = None,
) -> Invoice | None:
    """Issue one invoice for ``source`` unless it exists (None then); a red one (``original`` given) for
    ``-amount``."""
    if session.scalar(select(exists().where(Invoice.source == source))):
        return None
    rate = original.tax_rate if original is not None else tax_rate()
    net, tax = split_tax(amount, rate)
    if original is not None:
        amount, net, tax = -amount, -net, -tax
    chosen = issuer(issuer_name())
    seller = account.unit.name if account.unit is not None else ""
    draft = InvoiceDraft(
        account.account_no,
        account.holder_name,
        seller,
        amount,
        net,
        tax,
        rate,
        original_invoice_no=original.invoice_no if original is not None else "",
    )
    numbers = chosen.issue(draft)
    invoice = Invoice(
        invoice_no=numbers.invoice_no,
        check_code=numbers.check_code,
        source=source,
        kind=kind,
        account_id=account.id,
        period=period,
        amount=amount,
        net_amount=net,
        tax_amount=tax,
        tax_rate=rate,
        buyer_name=account.holder_name,
        seller_name=seller,
        payment_ids=payment_ids,
        issuer=chosen.name,
        tax_document=chosen.tax_document,
        issued_at=utcnow(),
        original_id=original.id if original is not None else None,
    )
    try:
        with session.begin_nested():
            session.add(invoice)
    except IntegrityError:  # another worker issued it first
        return None
    if preference(session, account.id).email:
        outbox.put(
            session,
            DOCUMENTS_ISSUED,
            {"kind": "invoice", "account_no": account.account_no, "invoice_id": invoice.id, "ref": invoice.invoice_no},
        )
    return invoice


def issue_for_payments(session: Session, payment_ids: list[int]) -> list[Invoice]:
    """One invoice for each payment of an account that wants one per payment (the others wait for the month)."""
    rows = session.execute(
        select(Payment, Account)
        .join(Account, Account.id == Payment.account_id)
        .outerjoin(InvoicePreference, InvoicePreference.account_id == Account.id)
        .where(
            Payment.id.in_(payment_ids),
            func.coalesce(InvoicePreference.mode, InvoiceMode.PER_PAYMENT.value) == InvoiceMode.PER_PAYMENT.value,
        )
        .order_by(Payment.id)
    ).all()
    issued = []
    for payment, account in rows:
        invoice = _issue(
            session,
            account,
            payment.amount,
            source=f"payment:{payment.id}",
            kind="per_payment",
            payment_ids=[payment.id],
        )
        if invoice is not None:
            issued.append(invoice)
    return issued


def invoice_of_payment(session: Session, payment: Payment) -> Invoice | None:
    """The invoice (not a red one) that covers the payment: its own, or its month's."""
    own = session.scalar(select(Invoice).where(Invoice.source == f"payment:{payment.id}"))
    if own is not None:
        return own
    monthly = session.scalars(
        select(Invoice).where(Invoice.account_id == payment.account_id, Invoice.kind == InvoiceMode.MONTHLY.value)
    )
    return next((i for i in monthly if payment.id in (i.payment_ids or [])), None)


def issue_red_invoice(session: Session, payment_id: int, amount: Decimal, *, source: str) -> Invoice | None:
    """The red invoice for ``amount`` of the payment refunded (``source``: what refunded it), cancelling its
    invoice as far as that invoice is not cancelled yet; None when the payment has no invoice, nothing of it is
    left, or ``source`` was issued already."""
    payment = session.get(Payment, payment_id)
    if payment is None or amount <= 0:
        return None
    original = invoice_of_payment(session, payment)
    if original is None:
        return None
    cancelled = session.scalar(
        select(func.coalesce(func.sum(Invoice.amount), 0)).where(Invoice.original_id == original.id)
    )
    part = min(amount, original.amount + Decimal(cancelled or 0))
    if part <= 0:
        return None
    account = session.get(Account, payment.account_id)
    assert account is not None
    return _issue(
        session,
        account,
        part,
        source=source,
        kind=RED,
        payment_ids=[payment.id],
        period=original.period,
        original=original,
    )


def original_invoice_no(session: Session, invoice: Invoice) -> str:
    """The number of the invoice a red one cancels ("" for others)."""
    if invoice.original_id is None:
        return ""
    return str(session.scalar(select(Invoice.invoice_no).where(Invoice.id == invoice.original_id)) or "")


def month_bounds(period: str) -> tuple[dt.datetime, dt.datetime]:
    """The local month ``YYYY-MM`` as [start, end) instants."""
    year, month = (int(x) for x in period.split("-"))
    first = dt.date(year, month, 1)
    after = first + dt.timedelta(days=calendar.monthrange(year, month)[1])
    return clock.at_local(first, dt.time()), clock.at_local(after, dt.time())


def issue_monthly(session: Session, period: str) -> list[Invoice]:
    """One invoice per monthly account for its payments paid in the local month ``period`` (none without)."""
    start, end = month_bounds(period)
    rows = session.execute(
        select(Account, func.sum(Payment.amount), func.min(Payment.id))
        .join(Payment, Payment.account_id == Account.id)
        .join(InvoicePreference, InvoicePreference.account_id == Account.id)
        .where(InvoicePreference.mode == InvoiceMode.MONTHLY.value, Payment.paid_at >= start, Payment.paid_at < end)
        .group_by(Account.id)
        .order_by(Account.id)
    ).all()
    issued = []
    for account, total, _first in rows:
        ids = list(
            session.scalars(
                select(Payment.id)
                .where(Payment.account_id == account.id, Payment.paid_at >= start, Payment.paid_at < end)
                .order_by(Payment.id)
            )
        )
        invoice = _issue(
            session,
            account,
            Decimal(total),
            source=f"month:{account.id}:{period}",
            kind="monthly",
            payment_ids=ids,
            period=period,
        )
        if invoice is not None:
            issued.append(invoice)
    return issued


def account_invoices(session: Session, account_id: int) -> list[Invoice]:
    return list(session.scalars(select(Invoice).where(Invoice.account_id == account_id).order_by(Invoice.id.desc())))


def find_account_invoice(session: Session, account_id: int, invoice_no: str) -> Invoice | None:
    return session.scalar(select(Invoice).where(Invoice.account_id == account_id, Invoice.invoice_no == invoice_no))


def find_invoice(session: Session, invoice_no: str) -> Invoice:
    invoice = session.scalar(select(Invoice).where(Invoice.invoice_no == invoice_no))
    if invoice is None:
        raise NotFound("invoice_not_found")
    return invoice


def verify(session: Session, invoice_no: str, check_code: str) -> Invoice | None:
    """The invoice when number and check code belong together, else None."""
    invoice = session.scalar(select(Invoice).where(Invoice.invoice_no == invoice_no.strip()))
    if invoice is None or not hmac.compare_digest(invoice.check_code.encode(), check_code.strip().encode()):
        return None
    return invoice


def announce_bills(session: Session, bill_ids: list[int]) -> int:
    """Announce the e-bill of each bill whose account subscribed to e-mail (billing's subscriber of
    ``BILLS_ISSUED``); notifications keys the notice by bill, so a bill announced twice is mailed once."""
    rows = session.execute(
        select(Bill.id, Bill.period, Account.account_no)
        .join(Account, Account.id == Bill.account_id)
        .join(InvoicePreference, InvoicePreference.account_id == Account.id)
        .where(Bill.id.in_(bill_ids), InvoicePreference.email.is_(True))
        .order_by(Bill.id)
    ).all()
    for bill_id, period, account_no in rows:
        outbox.put(
            session, DOCUMENTS_ISSUED, {"kind": "ebill", "account_no": account_no, "bill_id": bill_id, "ref": period}
        )
    return len(rows)


def ebill(session: Session, account: Account, period: str) -> dict[str, Any]:
    """What the e-bill of ``period`` shows: the bill (readings, lines, amount, due date), the payments paid in
    that local month, and the account's position today. NotFound when the account has no bill for it."""
    bill = session.scalar(select(Bill).where(Bill.account_id == account.id, Bill.period == period))
    if bill is None:
        raise NotFound("bill_not_found")
    start, end = month_bounds(period)
    payments = list(
        session.scalars(
            select(Payment)
            .where(Payment.account_id == account.id, Payment.paid_at >= start, Payment.paid_at < end)
            .order_by(Payment.paid_at, Payment.id)
        )
    )
    today = clock.today_local()
    return {
        "account": account,
        "bill": bill,
        "lines": list(bill.lines),
        "payments": payments,
        "position": account_position(session, account, today),
        "on": today,
    }


def ebill_periods(session: Session, account_id: int) -> list[str]:
    return list(session.scalars(select(Bill.period).where(Bill.account_id == account_id).order_by(Bill.period.desc())))
