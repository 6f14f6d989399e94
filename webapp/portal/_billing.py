"""The portal's view of billing records (bills, usage, payments): labels, the latest bill, the usage chart.

The numbers come from the billing domain's read functions (``billing.services``, ``billing.statements``);
this module only words and draws them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from billing.models import Account
from billing.services import bill_detail
from billing.statements import latest_period
from core import clock
from core.db import db

from ..templating import money

ACCOUNT_STATUS_LABELS = {"active": _l("Active"), "suspended": _l("Suspended"), "closed": _l("Closed")}
STATUS_LABELS = {"unpaid": _l("Unpaid"), "partial": _l("Partly paid"), "paid": _l("Paid in full")}
CHANNEL_LABELS = {
    "counter": _l("At the counter"),
    "bank": _l("Bank withholding"),
    "app": _l("Online"),
    "third_party": _l("Third party"),
}
LINE_LABELS = {
    "tier_1": _l("Tier 1"),
    "tier_2": _l("Tier 2"),
    "tier_3": _l("Tier 3"),
    "peak": _l("Peak"),
    "flat": _l("Flat"),
    "valley": _l("Valley"),
    "energy": _l("Energy"),
}


def account_status_label(status: str) -> str:
    """An account's state in words (正常 / 报停 / 销户), never the stored code."""
    return str(ACCOUNT_STATUS_LABELS.get(str(status), status))


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def channel_label(channel: str) -> str:
    return str(CHANNEL_LABELS.get(channel, channel))


def line_label(item: str) -> str:
    if item in LINE_LABELS:
        return str(LINE_LABELS[item])
    if item.startswith("tier_"):
        return _("Tier %(n)s", n=item.removeprefix("tier_"))
    return item


def kwh(value: Decimal | None) -> str:
    """kWh as shown: thousands separated, no decimals when whole (``2,760`` or ``12.50``)."""
    if value is None:
        return ""
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


def unit_price(value: Decimal | None) -> str:
    """A price per kWh as a number: the stored 4 places without trailing zeros, at least 2 (``0.538``)."""
    if value is None:
        return ""
    text = f"{value:.4f}".rstrip("0")
    return text if len(text.split(".")[1]) >= 2 else f"{value:.2f}"


def price(value: Decimal | None) -> str:
    """A price per kWh with its unit: ``¥0.538/kWh``."""
    return "" if value is None else _("¥%(price)s/kWh", price=unit_price(value))


def latest_bill(account: Account) -> dict[str, Any] | None:
    """The newest bill of the account as ``{period, amount, due_date, status, ...}`` (``bill_detail``), or None."""
    period = latest_period(db.session, account)
    if period is None:
        return None
    return bill_detail(db.session, account, period, clock.today_local())


# --- the 12-month usage chart: geometry computed here, drawn as inline SVG by the template -----------

WIDTH, HEIGHT = 340, 196
LEFT, RIGHT, TOP, BOTTOM = 4, 336, 26, 158


@dataclass(frozen=True)
class Bar:
    period: str
    kwh: Decimal
    amount: Decimal
    x: float
    y: float
    width: float
    height: float
    cx: float
    ay: float  # the amount dot's y
    month: str
    year: str  # shown under January and the first month
    year_x: float
    year_anchor: str


@dataclass(frozen=True)
class UsageChart:
    bars: list[Bar]
    max_kwh: Decimal
    max_amount: Decimal
    total_kwh: Decimal
    total_amount: Decimal
    line: str  # polyline points of the amount
    title: str
    desc: str
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = RIGHT
    top: int = TOP
    bottom: int = BOTTOM


def usage_chart(series: list[dict[str, Any]]) -> UsageChart | None:
    """Bars for kWh and a line for the amount, one slot per month; None when the series is empty."""
    if not series:
        return None
    max_kwh = max((row["kwh"] for row in series), default=Decimal(0))
    max_amount = max((row["amount"] for row in series), default=Decimal(0))
    slot = (RIGHT - LEFT) / len(series)
    bar_width = round(slot * 0.6, 1)
    span = BOTTOM - TOP
    january_near = any(row["period"].endswith("-01") for row in series[1:4])
    bars = []
    for index, row in enumerate(series):
        x0 = LEFT + index * slot
        h = float(row["kwh"] / max_kwh) * span if max_kwh else 0.0
        ay = BOTTOM - (float(row["amount"] / max_amount) * span if max_amount else 0.0)
        month = row["period"][5:]
        bars.append(
            Bar(
                period=row["period"],
                kwh=row["kwh"],
                amount=row["amount"],
                x=round(x0 + (slot - bar_width) / 2, 1),
                y=round(BOTTOM - h, 1),
                width=bar_width,
                height=round(h, 1),
                cx=round(x0 + slot / 2, 1),
                ay=round(ay, 1),
                month=str(int(month)),
                # under each January, and under the first month unless a January close by has it (they'd overlap)
                year=row["period"][:4] if month == "01" or (index == 0 and not january_near) else "",
                year_x=LEFT if index == 0 else round(x0 + slot / 2, 1),
                year_anchor="start" if index == 0 else "middle",
            )
        )
    total_kwh = sum((row["kwh"] for row in series), Decimal(0))
    total_amount = sum((row["amount"] for row in series), Decimal(0))
    top = max(series, key=lambda row: row["kwh"])
    title = _("Usage and amount, %(first)s to %(last)s", first=series[0]["period"], last=series[-1]["period"])
    desc = _(
        "Bars show kWh per month, the line the amount billed. Total %(kwh)s kWh, %(amount)s. "
        "Highest month %(period)s: %(top)s kWh, %(top_amount)s.",
        kwh=kwh(total_kwh),
        amount=money(total_amount),
        period=top["period"],
        top=kwh(top["kwh"]),
        top_amount=money(top["amount"]),
    )
    return UsageChart(
        bars=bars,
        max_kwh=max_kwh,
        max_amount=max_amount,
        total_kwh=total_kwh,
        total_amount=total_amount,
        line=" ".join(f"{b.cx},{b.ay}" for b in bars),
        title=title,
        desc=desc,
    )
