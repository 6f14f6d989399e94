"""Bills and payments: the bills of a year with the usage chart and annual tiers, one bill's lines, and the
payment records with where each payment went. Only the customer's bound accounts; anything else is 404."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import abort, render_template, request

from billing.models import Account
from billing.services import (
    bill_detail,
    bills_for_year,
    payment_count,
    payments_with_applications,
    tier_progress,
    usage_series,
)
from billing.statements import bill_years, latest_period
from core import clock
from core.db import db
from core.errors import NotFound

from . import portal
from ._billing import account_status_label, channel_label, kwh, line_label, price, status_label, unit_price, usage_chart
from ._customer import bound_accounts, customer_required, selected_account

PAGE = 20
PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _accounts_and_selected() -> tuple[list[Account], Account | None]:
    """The bound accounts and the one shown; ``?account=`` naming an account not bound to the customer is 404."""
    accounts = bound_accounts()
    wanted = request.args.get("account")
    if wanted and wanted not in {a.account_no for a in accounts}:
        abort(404)
    return accounts, selected_account(accounts)


def _int_arg(name: str, default: int | None, low: int, high: int) -> int | None:
    try:
        value = int(request.args.get(name, ""))
    except ValueError:
        return default
    return value if low <= value <= high else default


@portal.context_processor
def billing_helpers() -> dict[str, Any]:
    """Wording of bills and payments for every portal page (the account home shows the latest bill)."""
    return {
        "status_label": status_label,
        "account_status_label": account_status_label,
        "channel_label": channel_label,
        "line_label": line_label,
        "kwh": kwh,
        "price": price,
        "unit_price": unit_price,
        "local_day": _local_day,
    }


@portal.get("/bills")
@customer_required
def bills() -> Any:
    accounts, account = _accounts_and_selected()
    if account is None:
        return render_template("portal/bills.html", accounts=accounts, account=None)
    today = clock.today_local()
    years = bill_years(db.session, account)
    year = _int_arg("year", None, 2000, 2100) or (years[0] if years else today.year)
    if year not in years:
        years = sorted({*years, year}, reverse=True)
    return render_template(
        "portal/bills.html",
        accounts=accounts,
        account=account,
        year=year,
        years=years,
        items=bills_for_year(db.session, account, year, today),
        tiers=tier_progress(db.session, account, year),
        # the twelve months up to the last bill: months not billed yet are no 0 kWh months
        chart=usage_chart(usage_series(db.session, account, 12, today, through=latest_period(db.session, account))),
    )


@portal.get("/bills/<period>")
@customer_required
def bill(period: str) -> Any:
    _accounts, account = _accounts_and_selected()
    if account is None or not PERIOD.fullmatch(period):
        abort(404)
    try:
        found = bill_detail(db.session, account, period, clock.today_local())
    except NotFound:
        abort(404)
    return render_template(
        "portal/bill.html",
        account=account,
        bill=found,
        tiers=tier_progress(db.session, account, int(period[:4]), through=period),
    )


@portal.get("/payments")
@customer_required
def payments() -> Any:
    accounts, account = _accounts_and_selected()
    if account is None:
        return render_template("portal/payments.html", accounts=accounts, account=None)
    page = _int_arg("page", 1, 1, 10_000) or 1
    items = payments_with_applications(db.session, account, PAGE, (page - 1) * PAGE)
    return render_template(
        "portal/payments.html",
        accounts=accounts,
        account=account,
        items=items,
        page=page,
        more=payment_count(db.session, account) > page * PAGE,
    )


def _local_day(value: dt.datetime | None) -> dt.date | None:
    moment = clock.local(value) if value else None
    return moment.date() if moment else None
