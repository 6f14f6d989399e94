"""Paying online (缴费): the pay page for the selected account, the way back from the cashier, the order history.

The page the provider sends the browser back to shows the order as GridDesk knows it and polls the order's
state: coming back proves nothing; only the provider's signed notice (or our query) marks an order paid.
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request
from flask_babel import lazy_gettext as _l

from billing import online
from billing.commands import CreatePaymentOrder
from billing.online.queries import account_orders, visible_order
from billing.online.services import owed
from core.db import db
from core.errors import DomainError

from ..api.payment_orders import start_order
from ..csp import allow_form_target
from ..errors import form_errors
from . import portal
from ._customer import bound_accounts, customer, customer_required, selected_account

PROVIDER_LABELS = {"alipay": _l("Alipay"), "wechat": _l("WeChat Pay")}
ORDER_STATUS_LABELS = {
    "created": _l("Waiting for payment"),
    "paying": _l("Being paid"),
    "paid": _l("Payment confirmed"),
    "closed": _l("Closed unpaid"),
    "failed": _l("Cancelled"),
    "refunded": _l("Refunded"),
    "partly_refunded": _l("Partly refunded"),
}
LABELS = {"amount": _l("Amount (yuan)"), "provider": _l("Pay with")}


@portal.context_processor
def pay_helpers() -> dict[str, Any]:
    return {"order_status_label": lambda status: str(ORDER_STATUS_LABELS.get(status, status))}


def _cashier_origins() -> None:
    """The pay form posts here and is redirected to the provider's cashier: allow its origin as a form target."""
    for name in online.offered():
        origin = online.cashier_origin(name)
        if origin:
            allow_form_target(origin)


def _page(accounts: list[Any], account: Any, errors: Any = None, form: dict[str, str] | None = None) -> Any:
    due = owed(db.session, account) if account is not None else None
    orders = account_orders(db.session, account.id, 20) if account is not None else []
    _cashier_origins()
    return render_template(
        "portal/pay.html",
        accounts=accounts,
        account=account,
        due=due,
        orders=orders,
        providers=[(name, PROVIDER_LABELS[name]) for name in online.offered()],
        errors=errors,
        form=form or {},
    )


@portal.get("/pay")
@customer_required
def pay() -> Any:
    accounts = bound_accounts()
    wanted = request.args.get("account")
    if wanted and wanted not in {a.account_no for a in accounts}:
        abort(404)
    return _page(accounts, selected_account(accounts))


@portal.post("/pay")
@customer_required
def pay_start() -> Any:
    accounts = bound_accounts()
    by_no = {a.account_no: a for a in accounts}
    account = by_no.get(request.form.get("account_no", ""))
    if account is None:
        abort(404)
    form = {k: request.form.get(k, "").strip() for k in ("amount", "provider")}
    data: dict[str, Any] = {"account_no": account.account_no, "provider": form["provider"]}
    if form["amount"]:
        data["amount"] = form["amount"]
    try:
        command = CreatePaymentOrder.parse(data)
        _order, pay_url = start_order(customer(), command)
    except DomainError as exc:
        db.session.rollback()
        return _page(accounts, account, form_errors(exc, LABELS), form), 422
    db.session.commit()
    return redirect(pay_url, code=303)


@portal.get("/pay/orders/<order_no>")
@customer_required
def payment_order(order_no: str) -> Any:
    if len(order_no) > 32:
        abort(404)
    order = visible_order(db.session, customer(), order_no)
    accounts = bound_accounts()
    account = next((a for a in accounts if a.id == order.account_id), None)
    return render_template(
        "portal/pay_order.html",
        order=order,
        account=account,
        provider_label=PROVIDER_LABELS.get(order.provider, order.provider),
    )
