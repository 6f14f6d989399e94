"""Billing endpoints: tariffs, readings, bills, usage, payments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import g, request
from pydantic import Field

from billing import payments
from billing.accounts import get_visible_account
from billing.bills import record_reading
from billing.commands import RecordPayment, RecordReading
from billing.models import Account, Bill, MeterReading, ReadingStatus
from billing.payments import request_hash
from billing.services import (
    bill_detail,
    billed_periods,
    bills_for_year,
    payment_count,
    payment_dict,
    payments_with_applications,
    tier_progress,
    usage_series,
)
from billing.tariffs import create_tariff, tariff_dict
from core import clock
from core.db import db
from core.identity import ALL_ROLES, Role

from . import api
from .accounts import card_and_ledger
from .framework import ApiModel, PageQuery, allow, caller, endpoint, register_resource, resolved

ACCOUNT_READER = allow(*ALL_ROLES, resource="account")


class TierIn(ApiModel):
    up_to_kwh: Decimal | None = None
    price: Decimal


class TouIn(ApiModel):
    peak: Decimal
    flat: Decimal
    valley: Decimal


class TariffIn(ApiModel):
    code: str = Field(min_length=1, max_length=32)
    category: str
    valid_from: str
    valid_to: str | None = None
    kind: str
    price: Decimal | None = None
    tiers: list[TierIn] | None = None
    tou: TouIn | None = None


@endpoint(
    api,
    "/billing/tariffs",
    methods=["POST"],
    access=allow(Role.ADMIN),
    body=TariffIn,
    status=201,
    summary="Create a tariff table (tiered, time-of-use or flat) with validity dates",
    extra_responses={409: "a table of that code is valid in an overlapping range"},
)
def post_tariff(body: TariffIn) -> Any:
    tariff = create_tariff(db.session, body.model_dump(), actor_id=caller().id)
    return tariff_dict(tariff), 201


@endpoint(
    api,
    "/billing/readings",
    methods=["POST"],
    access=allow(Role.CLERK, Role.ADMIN),
    body=RecordReading,
    status=201,
    summary="Record a cumulative meter reading: checked, then billed at once, or held for a second person's review",
    extra_responses={409: "a reading for that period (or a later one) exists, or an earlier one is held"},
)
def post_reading(body: RecordReading) -> Any:
    user = caller()
    account = get_visible_account(db.session, user, body.account_no)
    reading, bill = record_reading(db.session, account, body, actor_id=user.id)
    return entered_reading_dict(account, reading, bill), 201


def entered_reading_dict(account: Account, reading: MeterReading, bill: Bill | None) -> dict[str, Any]:
    """A reading as entered or reviewed: ``status`` "held" (waits for review, no bill) or "billed" (passed its
    checks or was reviewed; ``bill`` is null for an account's starting reading), with the ``checks`` it failed."""
    result: dict[str, Any] = {
        "id": reading.id,
        "account_no": account.account_no,
        "period": reading.period,
        "reading": reading.reading,
        "peak": reading.peak,
        "flat": reading.flat,
        "valley": reading.valley,
        "status": "held" if reading.status == ReadingStatus.HELD else "billed",
        "checks": list(reading.checks or []),
        "bill": None,
    }
    if bill is not None:
        result["bill"] = bill_detail(db.session, account, bill.period, clock.today_local())
    return result


class BillsQuery(PageQuery):
    year: int | None = Field(None, ge=2000, le=2100)


def _account(account_no: str) -> Account:
    """The path's account, which the endpoint's ``account`` resource already loaded within the caller's scope."""
    account: Account = resolved()
    assert account.account_no == account_no
    return account


@endpoint(
    api,
    "/accounts/<account_no>/bills",
    access=allow(*ALL_ROLES, resource="account_card"),
    query=BillsQuery,
    summary="An account's bills",
)
def get_bills(account_no: str, query: BillsQuery) -> Any:
    source = resolved()  # the account's card, read with its ledger where the caller's statement could
    card, states = card_and_ledger(source)
    items = bills_for_year(db.session, card, query.year, clock.today_local(), states)
    start = (query.page - 1) * query.per_page
    return {
        "items": items[start : start + query.per_page],
        "page": query.page,
        "per_page": query.per_page,
        "total": len(items),
    }


def _resolve_bill(session: Any, user: Any, path: dict[str, Any]) -> Any:
    account = get_visible_account(session, user, str(path["account_no"]))
    return bill_detail(session, account, str(path["period"]), clock.today_local())


register_resource("bill", _resolve_bill)


@endpoint(
    api,
    "/accounts/<account_no>/bills/<period>",
    access=allow(*ALL_ROLES, resource="bill"),
    summary="One bill with its tier / time-of-use lines and today's late fee",
)
def get_bill(account_no: str, period: str) -> Any:
    return g.resource


class UsageQuery(ApiModel):
    months: int = Field(12, ge=1, le=120)


@endpoint(
    api,
    "/accounts/<account_no>/usage",
    access=allow(*ALL_ROLES, resource="account_card"),
    query=UsageQuery,
    summary="Monthly kWh and amounts",
)
def get_usage(account_no: str, query: UsageQuery) -> Any:
    source = resolved()  # as for the bills: the card, with its bills where the caller's statement read them
    card, states = card_and_ledger(source)
    today = clock.today_local()
    billed = (  # both read the same bills
        {s.bill.period: (s.bill.kwh, s.bill.amount) for s in states}
        if states is not None
        else billed_periods(db.session, card)
    )
    return {
        "series": usage_series(db.session, card, query.months, today, billed=billed),
        "tier_progress": tier_progress(db.session, card, today.year, billed=billed),
    }


@endpoint(
    api,
    "/accounts/<account_no>/payments",
    access=ACCOUNT_READER,
    query=PageQuery,
    summary="Payments and how they were applied",
)
def get_payments(account_no: str, query: PageQuery) -> Any:
    account = _account(account_no)
    items = payments_with_applications(db.session, account, query.per_page, (query.page - 1) * query.per_page)
    return {"items": items, "page": query.page, "per_page": query.per_page, "total": payment_count(db.session, account)}


@endpoint(
    api,
    "/payments",
    methods=["POST"],
    access=allow(Role.CLERK, Role.ADMIN),
    body=RecordPayment,
    status=201,
    summary="Record a payment received at the counter or from a bank or third party, once per Idempotency-Key "
    "(staff; paid_at, when given, is now: past times come only from a payment file; online payments are "
    "recorded only from the provider's confirmation)",
    extra_responses={200: "a replay: the first payment", 409: "the key was used with another body"},
)
def post_payment(body: RecordPayment) -> Any:
    user = caller()
    body.check_recorder(user.role)
    fields = body.fields()
    account = get_visible_account(db.session, user, body.account_no)
    digest = request_hash(fields, explicit_paid_at=body.paid_at is not None)
    payment, created = payments.post_payment(
        db.session,
        account,
        fields,
        idempotency_key=request.headers.get("Idempotency-Key", ""),
        digest=digest,
        actor_id=user.id,
    )
    from billing.services import applications_by_payment

    payment_apps = applications_by_payment(db.session, [payment.id]).get(payment.id, [])
    periods = {a.bill_id: a.bill.period for a in payment_apps}
    data = payment_dict(payment, periods)
    data["account_no"] = account.account_no
    return data, 201 if created else 200
