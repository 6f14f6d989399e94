"""How a notice reads to its customer: system notices in the reader's language, staff-written ones as written.

Notices are stored once for all their recipients, in Chinese (what the push, e-mail and SMS carried). The events
the system writes keep their figures in ``data``, so a reader who chose English gets them in English here;
an outage notice is the staff's own text and is shown as written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from notifications.models import NoticeKind

KIND_LABELS = {
    NoticeKind.OUTAGE.value: _l("Outage"),
    NoticeKind.BILL_ISSUED.value: _l("Bill"),
    NoticeKind.PAYMENT_RECEIVED.value: _l("Payment"),
    NoticeKind.DUE_REMINDER.value: _l("Reminder"),
    NoticeKind.ARREARS_REMINDER.value: _l("Reminder"),
    NoticeKind.TICKET_UPDATE.value: _l("Service request"),
    NoticeKind.APPLICATION_UPDATE.value: _l("Application"),
    NoticeKind.DOCUMENT.value: _l("Invoices and e-bills"),
}


def _money(value: Any) -> str:
    return f"¥{float(value):,.2f}"


def _bill_issued(d: dict[str, Any]) -> tuple[str, str]:
    return (
        f"Electricity bill for {d['period']}",
        f"Account {d['account_no']}: the bill for {d['period']} is {_money(d['amount'])}, due by {d['due_date']}.",
    )


def _payment_received(d: dict[str, Any]) -> tuple[str, str]:
    return "Payment received", f"Account {d['account_no']}: we received your payment of {_money(d['amount'])}."


def _due_reminder(d: dict[str, Any]) -> tuple[str, str]:
    return (
        "Bill due soon",
        f"Account {d['account_no']}: {_money(d['amount'])} of the {d['period']} bill is still unpaid and due on "
        f"{d['due_date']}. A late fee is charged after that day.",
    )


def _arrears_reminder(d: dict[str, Any]) -> tuple[str, str]:
    return (
        "Overdue bills",
        f"Account {d['account_no']} owes {_money(d['arrears'])} ({', '.join(d['periods'])}), with late fees of "
        f"{_money(d['late_fee'])} so far. Please pay soon to keep your supply uninterrupted.",
    )


def _ticket_update(d: dict[str, Any]) -> tuple[str, str]:
    return f"Ticket {d['ticket_no']}", f"Your 95598 ticket {d['ticket_no']} is now: {d['status']}."


def _application_update(d: dict[str, Any]) -> tuple[str, str]:
    return f"Application {d['application_no']}", f"Your application {d['application_no']} is now: {d['status']}."


def _document(d: dict[str, Any]) -> tuple[str, str]:
    if d["document"] == "invoice":
        return (
            "E-invoice issued",
            f"Account {d['account_no']}: e-invoice {d['ref']} is issued; download it in the portal.",
        )
    return f"E-bill for {d['ref']}", f"Account {d['account_no']}: the e-bill for {d['ref']} is ready to download."


ENGLISH: dict[str, Callable[[dict[str, Any]], tuple[str, str]]] = {
    NoticeKind.BILL_ISSUED.value: _bill_issued,
    NoticeKind.PAYMENT_RECEIVED.value: _payment_received,
    NoticeKind.DUE_REMINDER.value: _due_reminder,
    NoticeKind.ARREARS_REMINDER.value: _arrears_reminder,
    NoticeKind.TICKET_UPDATE.value: _ticket_update,
    NoticeKind.APPLICATION_UPDATE.value: _application_update,
    NoticeKind.DOCUMENT.value: _document,
}


def for_reader(item: dict[str, Any]) -> dict[str, Any]:
    """The inbox item with its title and body in the reader's language where the system wrote them."""
    locale = get_locale()
    render = ENGLISH.get(item["kind"])
    if render is None or locale is None or locale.language != "en":
        return item
    try:
        title, body = render(item.get("data") or {})
    except (KeyError, TypeError, ValueError):  # a notice from before its data carried these figures
        return item
    return {**item, "title": title, "body": body}
