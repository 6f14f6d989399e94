"""The clerk's view of the providers' daily statements matched against the online payments (对账): the days
reconciled, one day's report, and the same as CSV. The morning task makes them (``billing.online.services``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, render_template
from flask_babel import lazy_gettext as _l

from billing.online.queries import find_reconciliation, recent_reconciliations, reconciliation_items
from core.db import db
from core.identity import Role
from webapp.templating import STAFF_NAV

from ..exports import csv_response
from . import staff
from .access import staff_required, staff_user

READERS = (Role.CLERK, Role.SUPERVISOR, Role.ADMIN)
PROVIDERS = ("alipay", "wechat")
# Codes shown as ``_(code)`` in the templates, listed so that the extractor finds them.
LABELS = {
    "Statements": _l("Statements"),
    "missing_here": _l("missing_here"),
    "missing_there": _l("missing_there"),
    "amount_differs": _l("amount_differs"),
    "alipay": _l("alipay"),
    "wechat": _l("wechat"),
}
CSV_COLUMNS = ("provider", "date", "kind", "account_no", "order_no", "trade_no", "ours", "theirs", "recorded")

STAFF_NAV.append(("staff.billing_reconciliations", "Statements", frozenset(READERS)))


def _report(provider: str, day: str) -> Any:
    if provider not in PROVIDERS:
        abort(404)
    try:
        on = dt.date.fromisoformat(day)
    except ValueError:
        abort(404)
    return find_reconciliation(db.session, provider, on)


@staff.get("/billing/reconciliations")
@staff_required(*READERS)
def billing_reconciliations() -> Any:
    return render_template("billing/reconciliations.html", reports=recent_reconciliations(db.session, 60))


@staff.get("/billing/reconciliations/<provider>/<day>")
@staff_required(*READERS)
def billing_reconciliation(provider: str, day: str) -> Any:
    report = _report(provider, day)
    return render_template(
        "billing/reconciliation.html", report=report, items=reconciliation_items(db.session, report, staff_user())
    )


@staff.get("/billing/reconciliations/<provider>/<day>.csv")
@staff_required(*READERS)
def billing_reconciliation_csv(provider: str, day: str) -> Any:
    report = _report(provider, day)
    rows = [
        (report.provider, report.day.isoformat(), i["kind"], i["account_no"], i["order_no"], i["trade_no"],
         i["ours"], i["theirs"], i["recorded"])
        for i in reconciliation_items(db.session, report, staff_user())
    ]  # fmt: skip
    return csv_response(CSV_COLUMNS, rows, f"reconciliation-{report.provider}-{report.day.isoformat()}.csv")
