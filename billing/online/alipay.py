"""Alipay (支付宝) through python-alipay-sdk: RSA2-signed requests, verified notices and answers.

The SDK signs every request with the app's private key and verifies notices and synchronous answers with
Alipay's public key. ``gateway`` is Alipay's open API (production: ``https://openapi.alipay.com/gateway.do``);
the simulator (``billing.online.simulator``) speaks the same protocol on 127.0.0.1 with keys of its own.
"""

from __future__ import annotations

import datetime as dt
import logging
import urllib.request
from decimal import Decimal, InvalidOperation
from typing import Any

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError

from core import clock

from .alipay_bill import StatementFormatError, parse_trade_bill
from .providers import Notice, ProviderUnavailable, RefundResult, StatementRow, TradeState

log = logging.getLogger(__name__)

PRODUCTION_GATEWAY = "https://openapi.alipay.com/gateway.do"
PAID = {"TRADE_SUCCESS", "TRADE_FINISHED"}
MAX_STATEMENT_BYTES = 64 << 20


def _amount(text: Any) -> Decimal | None:
    try:
        value = Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


class AlipayProvider:
    name = "alipay"

    def __init__(self, app_id: str, app_private_key: str, alipay_public_key: str, gateway: str, timeout: float = 10):
        self.app_id = app_id
        self.gateway = gateway or PRODUCTION_GATEWAY
        self.timeout = timeout
        from alipay.utils import AliPayConfig

        self.client = AliPay(
            appid=app_id,
            app_private_key_string=app_private_key,
            alipay_public_key_string=alipay_public_key,
            sign_type="RSA2",
            config=AliPayConfig(timeout=int(timeout)),
        )
        self.client._gateway = self.gateway  # the SDK knows only production and sandbox; ours may be the simulator

    # --- the cashier ---------------------------------------------------------------------------------
    def pay_url(
        self, order_no: str, amount: Decimal, subject: str, *, return_url: str, notify_url: str, client_ip: str = ""
    ) -> str:
        query = self.client.api_alipay_trade_page_pay(
            subject=subject,
            out_trade_no=order_no,
            total_amount=f"{amount:.2f}",
            return_url=return_url,
            notify_url=notify_url,
        )
        return f"{self.gateway}?{query}"

    # --- notices -------------------------------------------------------------------------------------
    def read_notice(self, notice: Notice) -> TradeState | None:
        form = dict(notice.form)  # Alipay posts its notices form-encoded and signs the fields
        data = dict(form)
        signature = data.pop("sign", "")
        if not signature or data.get("sign_type", "RSA2") != "RSA2":
            return None
        try:
            verified = self.client.verify(data, signature)
        except (AliPayException, ValueError, TypeError):  # a bad signature's base64, another sign type
            verified = False
        if not verified:
            return None
        return self._state(form)

    def _state(self, data: dict[str, Any]) -> TradeState:
        status = str(data.get("trade_status", ""))
        paid_at = None
        if data.get("gmt_payment"):
            try:
                paid_at = clock.from_provider(str(data["gmt_payment"]))
            except ValueError:
                paid_at = None
        kind = "paid" if status in PAID else "closed" if status == "TRADE_CLOSED" else "waiting"
        if kind == "closed" and _amount(data.get("refund_fee")):
            kind = "refunded"
        return TradeState(
            order_no=str(data.get("out_trade_no", "")),
            trade_no=str(data.get("trade_no", "")),
            status=kind,
            amount=_amount(data.get("total_amount")),
            paid_at=paid_at,
            app_id=str(data.get("app_id", "")),
        )

    def acknowledge(self, accepted: bool) -> tuple[str, int, str]:
        # Alipay stops retrying on the plain word "success"; anything else is retried for a day
        return ("success" if accepted else "failure"), 200, "text/plain"

    # --- synchronous calls ---------------------------------------------------------------------------
    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            answer = fn(*args, **kwargs)
        except AliPayValidationError as exc:
            raise ProviderUnavailable("alipay answer signature did not verify") from exc
        except AliPayException as exc:
            raise ProviderUnavailable(f"alipay error {exc}") from exc
        except OSError as exc:
            raise ProviderUnavailable(f"alipay unreachable: {exc}") from exc
        return dict(answer)

    def query(self, order_no: str) -> TradeState:
        answer = self._call(self.client.api_alipay_trade_query, out_trade_no=order_no)
        if answer.get("code") != "10000":
            if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
                return TradeState(order_no=order_no, trade_no="", status="missing")
            raise ProviderUnavailable(f"alipay query {answer.get('code')} {answer.get('sub_code')}", answer)
        if answer.get("send_pay_date") and not answer.get("gmt_payment"):
            answer["gmt_payment"] = answer["send_pay_date"]
        return self._state(answer)

    def close(self, order_no: str) -> None:
        answer = self._call(self.client.api_alipay_trade_close, out_trade_no=order_no)
        if answer.get("code") != "10000" and answer.get("sub_code") != "ACQ.TRADE_NOT_EXIST":
            raise ProviderUnavailable(f"alipay close {answer.get('code')} {answer.get('sub_code')}", answer)

    def refund(self, order_no: str, amount: Decimal, refund_no: str) -> RefundResult:
        answer = self._call(
            self.client.api_alipay_trade_refund,
            refund_amount=f"{amount:.2f}",
            out_trade_no=order_no,
            out_request_no=refund_no,
        )
        if answer.get("code") != "10000":
            return RefundResult(ok=False, refunded_total=Decimal("0.00"), message=str(answer.get("sub_msg", "")))
        return RefundResult(ok=True, refunded_total=_amount(answer.get("refund_fee")) or amount)

    def statement(self, day: dt.date) -> list[StatementRow]:
        """The day's trades: the download address from ``alipay.data.dataservice.bill.downloadurl.query``, then
        the file (a zip of GBK CSV files, read by ``alipay_bill.parse_trade_bill``)."""
        answer = self._call(
            self.client.server_api,
            "alipay.data.dataservice.bill.downloadurl.query",
            {"bill_type": "trade", "bill_date": day.isoformat()},
        )
        if answer.get("code") != "10000":
            raise ProviderUnavailable(f"alipay statement {answer.get('code')}", answer)
        url = str(answer["bill_download_url"])
        if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ProviderUnavailable("alipay statement address refused")
        with urllib.request.urlopen(url, timeout=self.timeout) as response:  # noqa: S310 (checked above)
            data = response.read(MAX_STATEMENT_BYTES + 1)
        if len(data) > MAX_STATEMENT_BYTES:
            raise ProviderUnavailable("alipay statement too large")
        try:
            return parse_trade_bill(data)
        except StatementFormatError as exc:
            raise ProviderUnavailable(f"alipay statement unreadable: {exc}") from exc
