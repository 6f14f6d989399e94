"""The one interface every online payment provider is used through, and the registry chosen by configuration.

A provider turns an order into a cashier address, reads its own notices (returning nothing unless the
signature verifies), answers a query about a trade, closes and refunds trades and hands over a day's
statement. Adding UnionPay or a bank means one more class with these methods and one more name in
``PROVIDERS``; nothing else changes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Protocol

PROVIDERS = ("alipay", "wechat")
NOTICE_FIELDS_MAX = 64  # fields of a notice kept in the log


@dataclasses.dataclass(frozen=True)
class Notice:
    """An asynchronous notice as it arrived: the raw body, the request's headers and (for a form-encoded body,
    as Alipay sends) its fields. Alipay signs the form's fields; WeChat Pay signs the raw JSON body with the
    ``Wechatpay-Timestamp`` and ``Wechatpay-Nonce`` headers, so a provider reads whichever its protocol uses."""

    body: bytes = b""
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    form: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def of_form(cls, form: Mapping[str, str]) -> Notice:
        return cls(form=dict(form))

    def header(self, name: str) -> str:
        """A header by name, whatever its case."""
        wanted = name.lower()
        return next((str(v) for k, v in self.headers.items() if k.lower() == wanted), "")

    def logged(self) -> dict[str, str]:
        """What the notice log keeps: the form's fields, or a JSON body's top-level plain fields and the
        signature headers (an encrypted resource is not kept)."""
        if self.form:
            fields = {str(k): str(v) for k, v in self.form.items()}
        else:
            import json

            try:
                data = json.loads(self.body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                data = None
            fields = (
                {str(k): str(v) for k, v in data.items() if isinstance(v, str | int | float | bool)}
                if isinstance(data, dict)
                else {"body": self.body[:256].decode("utf-8", "replace")}
            )
            for name in ("Wechatpay-Serial", "Wechatpay-Timestamp", "Wechatpay-Nonce"):
                if self.header(name):
                    fields[name] = self.header(name)
        return {k[:64]: v[:512] for k, v in list(fields.items())[:NOTICE_FIELDS_MAX]}


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
    """The provider's answer to a refund: ``ok`` (done), ``pending`` (accepted, still being processed: asked
    again later with the same refund number), or neither (refused, with its message)."""

    ok: bool
    refunded_total: Decimal
    message: str = ""
    pending: bool = False


@dataclasses.dataclass(frozen=True)
class StatementRow:
    order_no: str
    trade_no: str
    amount: Decimal
    paid_at: dt.datetime


class Provider(Protocol):
    name: str

    def pay_url(
        self, order_no: str, amount: Decimal, subject: str, *, return_url: str, notify_url: str, client_ip: str = ""
    ) -> str:
        """The cashier address the customer's browser is sent to (``client_ip``: the customer's address, which
        WeChat Pay's H5 order asks for)."""
        ...

    def read_notice(self, notice: Notice) -> TradeState | None:
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
