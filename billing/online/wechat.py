"""WeChat Pay API v3 (微信支付) through the maintained SDK ``wechatpayv3``.

The SDK signs every request with the merchant's RSA private key (``Authorization: WECHATPAY2-SHA256-RSA2048``
with the merchant certificate's serial number), verifies every answer and notice with WeChat Pay's platform
certificate (``Wechatpay-Signature``/``-Timestamp``/``-Nonce``/``-Serial``) and decrypts a notice's
``resource`` (AEAD_AES_256_GCM with the APIv3 key). Platform certificates are read from ``cert_dir`` (the SDK
downloads them there from ``/v3/certificates`` when a serial it does not know appears), or WeChat Pay's public key
and its id are given instead.

The SDK's gateway is fixed on ``_core._gate_way`` (``https://api.mch.weixin.qq.com``): for the simulator it is set
after the client is made, and the simulator's platform certificate is placed in ``cert_dir`` beforehand (the
client reads it when made, so that it never calls the real gateway).

GridDesk uses the H5 order (a mobile web portal): ``/v3/pay/transactions/h5`` answers an ``h5_url`` to which the
browser is sent, with ``redirect_url`` (the order's page) appended. Amounts are in fen (integers). Times are
RFC 3339 in Beijing time.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import logging
import urllib.parse
from decimal import Decimal, InvalidOperation
from typing import Any

from core import clock

from .providers import Notice, ProviderUnavailable, RefundResult, StatementRow, TradeState
from .wechat_bill import StatementFormatError, parse_trade_bill

log = logging.getLogger(__name__)

PRODUCTION_GATEWAY = "https://api.mch.weixin.qq.com"
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
NOTICE_SKEW = 300  # seconds a notice's Wechatpay-Timestamp may differ from our clock (replays are refused)
NOTICE_MAX_BYTES = 64 << 10
CERT_REFRESH_SECONDS = 60  # a notice naming an unknown certificate makes the SDK download them: at most this often
MAX_STATEMENT_BYTES = 64 << 20
STATES = {
    "SUCCESS": "paid",
    "REFUND": "refunded",
    "NOTPAY": "waiting",
    "USERPAYING": "waiting",
    "CLOSED": "closed",
    "REVOKED": "closed",
    "PAYERROR": "closed",
}
HEADERS = (
    "Wechatpay-Signature",
    "Wechatpay-Timestamp",
    "Wechatpay-Nonce",
    "Wechatpay-Serial",
    "Wechatpay-Signature-Type",
)


def fen(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def yuan(value: Any) -> Decimal | None:
    try:
        return (Decimal(int(value)) / 100).quantize(Decimal("0.01"))
    except (TypeError, ValueError, InvalidOperation):
        return None


def parse_time(text: Any) -> dt.datetime | None:
    """WeChat Pay's RFC 3339 time (``2026-03-02T10:00:00+08:00``)."""
    try:
        moment = dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=clock.PROVIDER_OFFSET)


class WechatProvider:
    name = "wechat"

    def __init__(
        self,
        mchid: str,
        appid: str,
        cert_serial_no: str,
        private_key: str,
        apiv3_key: str,
        cert_dir: str,
        gateway: str = "",
        public_key: str | None = None,
        public_key_id: str | None = None,
        timeout: float = 10,
    ):
        self.mchid = mchid
        self.gateway = (gateway or PRODUCTION_GATEWAY).rstrip("/")
        self._args: dict[str, Any] = {
            "mchid": mchid,
            "appid": appid,
            "cert_serial_no": cert_serial_no,
            "private_key": private_key,
            "apiv3_key": apiv3_key,
            "cert_dir": cert_dir or None,
            "timeout": timeout,
            "public_key": public_key or None,
            "public_key_id": public_key_id or None,
        }
        self._client: Any = None
        self._refreshed = 0.0  # when a notice last made the SDK download the platform certificates

    @property
    def client(self) -> Any:
        """The SDK's client, made on first use (making it reads, or downloads, the platform certificates)."""
        if self._client is None:
            from wechatpayv3 import WeChatPay, WeChatPayType

            try:
                client = WeChatPay(wechatpay_type=WeChatPayType.H5, **self._args)
            except Exception as exc:  # the SDK raises bare Exceptions (no certificate, a bad key)
                raise ProviderUnavailable(f"wechat pay client: {exc}") from exc
            client._core._gate_way = self.gateway  # fixed in the SDK; ours may be the simulator
            self._client = client
        return self._client

    def _call(self, fn: str, *args: Any, **kwargs: Any) -> tuple[int, Any]:
        try:
            code, message = getattr(self.client, fn)(*args, **kwargs)
        except ProviderUnavailable:
            raise
        except Exception as exc:  # requests' errors, and the SDK's bare "failed to verify the signature"
            raise ProviderUnavailable(f"wechat pay {fn}: {exc}") from exc
        return int(code), message

    @staticmethod
    def _json(message: Any) -> dict[str, Any]:
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        try:
            data = json.loads(message) if message else {}
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    # --- the cashier ---------------------------------------------------------------------------------
    def pay_url(
        self, order_no: str, amount: Decimal, subject: str, *, return_url: str, notify_url: str, client_ip: str = ""
    ) -> str:
        code, message = self._call(
            "pay",
            description=subject,
            out_trade_no=order_no,
            amount={"total": fen(amount), "currency": "CNY"},
            scene_info={"payer_client_ip": client_ip or "127.0.0.1", "h5_info": {"type": "Wap"}},
            notify_url=notify_url,
        )
        answer = self._json(message)
        if code != 200 or not str(answer.get("h5_url", "")).startswith(("https://", "http://127.0.0.1")):
            raise ProviderUnavailable(f"wechat pay h5 order {code} {answer.get('code')}", answer)
        h5_url = str(answer["h5_url"])
        # the cashier returns the browser to redirect_url (the order's page), which proves nothing
        return f"{h5_url}{'&' if '?' in h5_url else '?'}redirect_url={urllib.parse.quote(return_url, safe='')}"

    # --- notices -------------------------------------------------------------------------------------
    def read_notice(self, notice: Notice) -> TradeState | None:
        """Verify the platform signature over ``timestamp\\nnonce\\nbody\\n`` and decrypt the resource."""
        headers = {name: notice.header(name) for name in HEADERS}
        if not headers["Wechatpay-Signature"] or headers["Wechatpay-Signature-Type"] not in ("", SIGNATURE_TYPE):
            return None
        headers["Wechatpay-Signature-Type"] = SIGNATURE_TYPE
        try:
            stamp = int(headers["Wechatpay-Timestamp"])
        except ValueError:
            return None
        if abs(clock.now_local().timestamp() - stamp) > NOTICE_SKEW:  # an old notice replayed
            return None
        if len(notice.body) > NOTICE_MAX_BYTES or not self._known_serial(headers["Wechatpay-Serial"]):
            return None
        try:
            body = notice.body.decode("utf-8")
            data = self.client.callback(headers, body)
        except Exception as exc:  # a serial that is no hex number, an unknown algorithm, a bad body
            log.info("wechat pay notice refused: %s", exc)
            return None
        if not isinstance(data, dict) or not isinstance(data.get("resource"), dict):
            return None
        resource = data["resource"]
        if str(data.get("event_type", "")).startswith("REFUND."):
            return TradeState(
                order_no=str(resource.get("out_trade_no", "")),
                trade_no=str(resource.get("transaction_id", "")),
                status="refunded",
                app_id=str(resource.get("mchid", "")),
            )
        return self._state(resource)

    def _known_serial(self, serial: str) -> bool:
        """Whether the notice's ``Wechatpay-Serial`` names a platform certificate (or the public key) we hold. An
        unknown one makes the SDK download the certificates from ``/v3/certificates``: allowed once a minute, so
        that forged notices with made-up serials cannot make GridDesk call WeChat Pay for each of them."""
        if serial and serial == self._args.get("public_key_id"):
            return True
        try:
            number = int(serial, 16)
            held = {c.serial_number for c in self.client._core._certificates}
        except (ValueError, ProviderUnavailable):
            return False
        if number in held:
            return True
        now = clock.now_local().timestamp()
        if now - self._refreshed < CERT_REFRESH_SECONDS:
            return False
        self._refreshed = now
        return True  # the SDK downloads the certificates and checks again

    def _state(self, data: dict[str, Any]) -> TradeState:
        amount = data.get("amount") if isinstance(data.get("amount"), dict) else {}
        return TradeState(
            order_no=str(data.get("out_trade_no", "")),
            trade_no=str(data.get("transaction_id", "") or ""),
            status=STATES.get(str(data.get("trade_state", "")), "waiting"),
            amount=yuan(amount.get("total")) if amount else None,
            paid_at=parse_time(data["success_time"]) if data.get("success_time") else None,
            app_id=str(data.get("mchid", "")),
        )

    def acknowledge(self, accepted: bool) -> tuple[str, int, str]:
        # WeChat Pay stops retrying on 200 or 204; any 4xx/5xx is retried, with {"code": "FAIL", "message"}
        if accepted:
            return "", 200, "text/plain"
        message = "签名验证失败"
        body = {"code": "FAIL", "message": message, "error": {"code": "FAIL", "message": message, "details": {}}}
        return json.dumps(body, ensure_ascii=False), 400, "application/json"

    # --- synchronous calls ---------------------------------------------------------------------------
    def query(self, order_no: str) -> TradeState:
        code, message = self._call("query", out_trade_no=order_no)
        answer = self._json(message)
        if code == 404 or answer.get("code") == "ORDER_NOT_EXIST":
            return TradeState(order_no=order_no, trade_no="", status="missing")
        if code != 200:
            raise ProviderUnavailable(f"wechat pay query {code} {answer.get('code')}", answer)
        return self._state(answer)

    def close(self, order_no: str) -> None:
        code, message = self._call("close", out_trade_no=order_no)
        answer = self._json(message)
        if code not in (200, 204) and answer.get("code") not in ("ORDER_NOT_EXIST", "ORDER_CLOSED"):
            raise ProviderUnavailable(f"wechat pay close {code} {answer.get('code')}", answer)

    def refund(self, order_no: str, amount: Decimal, refund_no: str) -> RefundResult:
        """Ask about ``refund_no`` first (a refund asked again is not made twice); unknown: request it with the
        trade's total, which WeChat Pay wants beside the amount refunded."""
        code, message = self._call("query_refund", out_refund_no=refund_no)
        answer = self._json(message)
        if code == 404 or answer.get("code") == "RESOURCE_NOT_EXISTS":
            trade = self.query(order_no)
            if trade.status not in ("paid", "refunded") or trade.amount is None:
                return RefundResult(ok=False, refunded_total=Decimal("0.00"), message=f"trade {trade.status}")
            code, message = self._call(
                "refund",
                out_refund_no=refund_no,
                out_trade_no=order_no,
                amount={"refund": fen(amount), "total": fen(trade.amount), "currency": "CNY"},
            )
            answer = self._json(message)
        if code >= 500:
            raise ProviderUnavailable(f"wechat pay refund {code} {answer.get('code')}", answer)
        if code != 200:
            return RefundResult(ok=False, refunded_total=Decimal("0.00"), message=str(answer.get("message", code)))
        status = str(answer.get("status", ""))
        refunded = yuan((answer.get("amount") or {}).get("refund")) or amount
        if status == "SUCCESS":
            return RefundResult(ok=True, refunded_total=refunded)
        if status == "PROCESSING":
            return RefundResult(ok=False, refunded_total=Decimal("0.00"), message="processing", pending=True)
        return RefundResult(ok=False, refunded_total=Decimal("0.00"), message=f"refund {status}")

    def statement(self, day: dt.date) -> list[StatementRow]:
        """The day's trade bill: ``/v3/bill/tradebill`` (signed: the address and the SHA1 of the bill), then the
        gzip file from its download address, read by ``wechat_bill.parse_trade_bill``."""
        code, message = self._call("trade_bill", bill_date=day.isoformat(), bill_type="ALL", tar_type="GZIP")
        answer = self._json(message)
        if code == 400 and answer.get("code") == "NO_STATEMENT_EXIST":
            return []  # no trade that day
        if code != 200 or not answer.get("download_url"):
            raise ProviderUnavailable(f"wechat pay statement {code} {answer.get('code')}", answer)
        url = str(answer["download_url"])
        if not url.startswith(self.gateway + "/"):
            raise ProviderUnavailable("wechat pay statement address refused")
        code, content = self._call("download_bill", url)
        if code != 200 or not isinstance(content, bytes) or len(content) > MAX_STATEMENT_BYTES:
            raise ProviderUnavailable(f"wechat pay statement download {code}")
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(content)) as packed:
                data = packed.read(MAX_STATEMENT_BYTES + 1)
        except (OSError, EOFError) as exc:
            raise ProviderUnavailable(f"wechat pay statement not gzip: {exc}") from exc
        if len(data) > MAX_STATEMENT_BYTES:
            raise ProviderUnavailable("wechat pay statement too large")
        digest = hashlib.sha1(data).hexdigest()  # noqa: S324 (the digest WeChat Pay gives)
        if answer.get("hash_value") and digest != str(answer["hash_value"]).lower():
            raise ProviderUnavailable("wechat pay statement digest differs")
        try:
            return parse_trade_bill(data)
        except StatementFormatError as exc:
            raise ProviderUnavailable(f"wechat pay statement unreadable: {exc}") from exc
