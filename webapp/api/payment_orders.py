"""Paying online: a customer's payment orders and the providers' notices (public, trusted only by signature)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from flask import Response, request, url_for
from sqlalchemy.orm import Session

from billing import online
from billing.accounts import get_visible_account
from billing.commands import CreatePaymentOrder
from billing.online.providers import Notice
from billing.online.queries import find_reconciliation, order_dict, reconciliation_items, visible_order
from billing.online.services import create_order, handle_notice
from core.db import db
from core.identity import ALL_ROLES, Role, User

from . import api
from .framework import PUBLIC, ApiModel, allow, caller, endpoint, register_resource, resolved


def _resolve_order(session: Session, user: User, path: dict[str, Any]) -> Any:
    return visible_order(session, user, str(path["order_no"]))


register_resource("payment_order", _resolve_order)


def base_url() -> str:
    """Where the provider reaches GridDesk: ``ONLINE_PAY_PUBLIC_URL``, else this request's own address."""
    return (online.public_url() or request.host_url).rstrip("/")


def start_order(user: User, command: CreatePaymentOrder) -> tuple[Any, str]:
    """Create the order for one of the customer's accounts: (the order, its cashier address). Shared with the
    portal's pay page."""
    account = get_visible_account(db.session, user, command.account_no)
    provider = online.for_new_order(command.provider)
    base = base_url()
    order, pay_url = create_order(
        db.session,
        account,
        command.amount,
        provider,
        actor_id=user.id,
        cap=online.prepay_cap(),
        ttl=dt.timedelta(minutes=online.order_minutes()),
        return_url=lambda no: base + url_for("portal.payment_order", order_no=no),
        notify_url=online.notify_url(provider.name) or base + url_for("api.provider_notify", provider=provider.name),
        client_ip=request.remote_addr or "",
    )
    return order, pay_url


@endpoint(
    api,
    "/payment-orders",
    methods=["POST"],
    access=allow(Role.CUSTOMER),
    body=CreatePaymentOrder,
    status=201,
    summary="Pay one of the caller's accounts online: the order and the provider's cashier address",
    extra_responses={404: "not one of the caller's accounts", 409: "nothing owed, or the provider is not offered"},
)
def create_payment_order(body: CreatePaymentOrder) -> Any:
    order, pay_url = start_order(caller(), body)
    data = order_dict(db.session, order)
    return {
        "order_no": data["order_no"],
        "account_no": data["account_no"],
        "amount": data["amount"],
        "provider": data["provider"],
        "status": data["status"],
        "expires_at": data["expires_at"],
        "pay_url": pay_url,
    }, 201


@endpoint(
    api,
    "/payment-orders/<order_no>",
    access=allow(*ALL_ROLES, resource="payment_order"),
    summary="One payment order and its state (paid only on the provider's signed word)",
)
def get_payment_order(order_no: str) -> Any:
    return order_dict(db.session, resolved())


@endpoint(
    api,
    "/payment-providers/<provider>/notify",
    methods=["POST"],
    access=PUBLIC,
    summary="A provider's asynchronous payment notice, in its own format; trusted only when its signature verifies",
    content_type="text/plain",
    extra_responses={
        400: "WeChat Pay's notice refused (its signature did not verify): the error and WeChat's code and message",
        404: "no such provider here",
    },
)
def provider_notify(provider: str) -> Any:
    chosen = online.provider(provider)
    if request.mimetype == "application/x-www-form-urlencoded":  # Alipay: signed form fields
        notice = Notice(headers=dict(request.headers), form={k: v for k, v in request.form.items()})
    else:  # WeChat Pay: a signed JSON body, the signature in the Wechatpay-* headers
        notice = Notice(body=request.get_data(cache=False), headers=dict(request.headers))
    accepted, _outcome = handle_notice(db.session, chosen, online.expected_app_id(provider), notice)
    db.session.commit()
    body, status, content_type = chosen.acknowledge(accepted)
    return Response(body, status=status, content_type=content_type)


class ReconciliationQuery(ApiModel):
    provider: Literal["alipay", "wechat"]
    date: dt.date


@endpoint(
    api,
    "/billing/reconciliations",
    access=allow(Role.CLERK, Role.SUPERVISOR, Role.ADMIN),
    query=ReconciliationQuery,
    summary="A provider's daily statement matched against the orders: matched, missing here or there, amount differs",
    extra_responses={404: "that day has not been reconciled"},
)
def get_reconciliation(query: ReconciliationQuery) -> Any:
    report = find_reconciliation(db.session, query.provider, query.date)
    return {
        "provider": report.provider,
        "date": report.day,
        "made_at": report.made_at,
        "matched": report.matched,
        "missing_here": report.missing_here,
        "missing_there": report.missing_there,
        "amount_differs": report.amount_differs,
        "items": reconciliation_items(db.session, report, caller()),
    }
