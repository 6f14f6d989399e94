"""The one interface every online payment provider is used through, and the registry chosen by configuration.

A provider turns an order into a cashier address, reads its own notices (returning nothing unless the
signature verifies), answers a query about a trade, closes and refunds trades and hands over a day's
statement. Adding UnionPay or a bank means one more class with these methods and one more name in
``PROVIDERS``; nothing else changes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any, Protocol

PROVIDERS = ("alipay", "wechat")


@dataclasses.dataclass(frozen=True)
class TradeState:
    """What the provider says of one trade (from a verified notice or a query)."""

    order_no: str
    trade_no: str
    status: str  # paid | waiting | closed | missing | refunded
    amount: Decimal | None = None
    paid_at: dt.datetime | None = None
    app_id: str = ""


@dataclasses.dataclass(frozen=True)
class RefundResult:
    ok: bool
    refunded_total: Decimal
    message: str = ""


@dataclasses.dataclass(frozen=True)
class StatementRow:
    order_no: str
    trade_no: str
    amount: Decimal
    paid_at: dt.datetime


class Provider(Protocol):
    name: str

    def pay_url(self, order_no: str, amount: Decimal, subject: str, *, return_url: str, notify_url: str) -> str:
        """The cashier address the customer's browser is sent to."""
        ...

    def read_notice(self, form: dict[str, str]) -> TradeState | None:
        """The notice's trade state if its signature verifies, else None."""
        ...

    def acknowledge(self, accepted: bool) -> tuple[str, int, str]:
        """The body, HTTP status and content type the provider expects in answer to a notice."""
        ...

    def query(self, order_no: str) -> TradeState: ...

    def close(self, order_no: str) -> None: ...

    def refund(self, order_no: str, amount: Decimal, refund_no: str) -> RefundResult: ...

    def statement(self, day: dt.date) -> list[StatementRow]: ...


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered with an error (the caller retries later)."""

    def __init__(self, message: str, details: Any = None):
        super().__init__(message)
        self.details = details
