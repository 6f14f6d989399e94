"""Billing requests needing a second person (refunds, corrections, waivers) and payment file imports."""

from __future__ import annotations

from typing import Any, Literal

from flask import g, request
from sqlalchemy.orm import Session

from billing.accounts import get_visible_account
from billing.adjustments import (
    adjustment_dict,
    decide_adjustment,
    get_visible_adjustment,
    request_adjustment,
    visible_adjustments,
)
from billing.commands import DecideAdjustment, RequestAdjustment
from billing.imports import import_dict, import_payments, read_upload
from billing.models import Adjustment, PaymentImport
from billing.queries import visible_imports
from core import clock
from core.db import db
from core.errors import NotFound
from core.identity import Role, User

from ..inputs import path_id
from . import api
from .framework import PageQuery, allow, caller, endpoint, paginate, register_resource

WRITERS = (Role.CLERK, Role.ADMIN)
READERS = (Role.CLERK, Role.SUPERVISOR, Role.ADMIN)


@endpoint(
    api,
    "/billing/adjustments",
    methods=["POST"],
    access=allow(*WRITERS),
    body=RequestAdjustment,
    status=201,
    summary="Request a refund, a bill correction or a late-fee waiver (a second person approves)",
)
def post_adjustment(body: RequestAdjustment) -> Any:
    user = caller()
    account = get_visible_account(db.session, user, body.account_no)
    adj = request_adjustment(db.session, account, body, actor=user, on=clock.today_local())
    return adjustment_dict(adj), 201


class AdjustmentQuery(PageQuery):
    status: Literal["pending", "approved", "rejected"] | None = None


@endpoint(
    api,
    "/billing/adjustments",
    access=allow(*READERS),
    query=AdjustmentQuery,
    summary="Requests in the caller's unit subtree (newest first)",
)
def list_adjustments(query: AdjustmentQuery) -> Any:
    stmt = visible_adjustments(caller()).order_by(Adjustment.id.desc())
    if query.status:
        stmt = stmt.where(Adjustment.status == query.status)
    return paginate(db.session, stmt, query, adjustment_dict)


def _resolve_adjustment(session: Session, user: User, path: dict[str, Any]) -> Adjustment:
    adjustment_id = path_id(path["adjustment_id"])
    if adjustment_id is None:
        raise NotFound("adjustment_not_found")
    return get_visible_adjustment(session, user, adjustment_id)


register_resource("adjustment", _resolve_adjustment)


@endpoint(
    api,
    "/billing/adjustments/<adjustment_id>/decision",
    methods=["POST"],
    access=allow(*WRITERS, resource="adjustment"),
    body=DecideAdjustment,
    summary="Approve or reject a request (never the requester's own)",
    extra_responses={409: "already decided, or the caller requested it"},
)
def post_decision(adjustment_id: str, body: DecideAdjustment) -> Any:
    adj = decide_adjustment(db.session, g.resource, body, actor=caller(), on=clock.today_local())
    return adjustment_dict(adj)


@endpoint(
    api,
    "/billing/payment-imports",
    methods=["POST"],
    access=allow(*WRITERS),
    status=201,
    summary="Import a bank / third-party payment CSV file; returns its reconciliation report",
    multipart={"file": "CSV: account_no,amount,paid_at,channel,reference (see docs/billing.md)"},
)
def post_payment_import() -> Any:
    upload = request.files.get("file")
    content = read_upload(upload.stream if upload is not None else None)
    name = (upload.filename if upload is not None else None) or "payments.csv"
    batch = import_payments(db.session, name, content, actor=caller())
    return import_dict(batch), 201


def _resolve_import(session: Session, user: User, path: dict[str, Any]) -> PaymentImport:
    import_id = path_id(path["import_id"])
    if import_id is None:
        raise NotFound("payment_import_not_found")
    batch = session.scalar(visible_imports(user).where(PaymentImport.id == import_id))
    if batch is None:
        raise NotFound("payment_import_not_found")
    return batch


register_resource("payment_import", _resolve_import)


@endpoint(
    api,
    "/billing/payment-imports",
    access=allow(*READERS),
    query=PageQuery,
    summary="Payment files imported by the caller's unit subtree, newest first",
)
def list_payment_imports(query: PageQuery) -> Any:
    stmt = visible_imports(caller()).order_by(PaymentImport.id.desc())
    return paginate(db.session, stmt, query, lambda b: import_dict(b, with_rows=False))


@endpoint(
    api,
    "/billing/payment-imports/<import_id>",
    access=allow(*READERS, resource="payment_import"),
    summary="One payment file's reconciliation report",
)
def get_payment_import(import_id: str) -> Any:
    return import_dict(g.resource)
