"""The payment simulator's WeChat Pay API v3 side (served by ``billing.online.simulator`` on the same port).

Test keys, made at first start under the simulator's folder (``wechat.json``, never committed) and marked as
such: the merchant's RSA key pair and certificate serial (GridDesk signs its requests with the private key), the
"platform" RSA key pair and its self-signed certificate (the simulator signs its answers and notices with it;
GridDesk finds the certificate in ``wechat_platform_certs/<serial>.pem``, its ``cert_dir``), the APIv3 key (the
notices' resources are encrypted with it, AEAD_AES_256_GCM), a merchant id and an app id.

What it serves (every ``/v3/`` request must carry a valid ``Authorization: WECHATPAY2-SHA256-RSA2048`` of the
merchant's; every answer is signed with ``Wechatpay-Signature``/``-Timestamp``/``-Nonce``/``-Serial``):

- ``POST /v3/pay/transactions/h5``: the trade, answered with an ``h5_url``: ``GET /wechat/h5?prepay_id=…`` is the
  cashier page where the customer confirms or cancels; the browser then goes to the ``redirect_url`` the
  merchant appended.
- paying sends the ``TRANSACTION.SUCCESS`` notice (JSON, the resource encrypted) by POST to the trade's
  ``notify_url`` and repeats it until the answer is 200 or 204.
- ``GET /v3/pay/transactions/out-trade-no/{no}``, ``POST …/{no}/close``, ``POST /v3/refund/domestic/refunds``
  (answered ``PROCESSING``; the refund succeeds by the time it is asked about with
  ``GET /v3/refund/domestic/refunds/{no}``), ``GET /v3/bill/tradebill`` (the address and SHA1 of the day's trade
  bill), ``GET /v3/billdownload/file`` (the bill, gzip), ``GET /v3/certificates`` (the platform certificate,
  encrypted with the APIv3 key).
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import html
import json
import logging
import os
import re
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import clock

log = logging.getLogger(__name__)

SIM_MCHID = "1900000109"
SIM_APPID = "wx00000000000000ee"
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
Answer = tuple[int, dict[str, str], bytes]


def _rsa_pair() -> tuple[Any, str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return key, private, public


def _make_keys() -> dict[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    _merchant, merchant_private, merchant_public = _rsa_pair()
    platform, platform_private, _platform_public = _rsa_pair()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "GridDesk WeChat Pay simulator platform (TEST KEY)"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "TEST ONLY"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    serial = x509.random_serial_number()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(platform.public_key())
        .serial_number(serial)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(platform, hashes.SHA256())
    )
    return {
        "note": "TEST KEYS of GridDesk's payment simulator: never use them with WeChat Pay",
        "mchid": SIM_MCHID,
        "appid": SIM_APPID,
        "merchant_private": merchant_private,
        "merchant_public": merchant_public,
        "merchant_serial": secrets.token_hex(20).upper(),
        "platform_private": platform_private,
        "platform_cert": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "platform_serial": format(serial, "X"),
        "apiv3_key": secrets.token_hex(16),  # 32 characters
    }


def _write(path: Path, data: str) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    temp.write_text(data)
    os.chmod(temp, 0o600)
    os.replace(temp, path)


def ensure_wechat_keys(folder: Path) -> dict[str, str]:
    """The simulator's WeChat Pay test keys, made once under ``folder`` (one file, replaced whole, so that two
    processes starting together agree), and the platform certificate placed in ``cert_dir``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "wechat.json"
    if not path.exists():
        _write(path, json.dumps(_make_keys(), indent=1))
    keys: dict[str, str] = json.loads(path.read_text())
    cert_dir = folder / "wechat_platform_certs"
    cert_dir.mkdir(exist_ok=True)
    cert_path = cert_dir / f"{keys['platform_serial']}.pem"
    if not cert_path.exists() or cert_path.read_text() != keys["platform_cert"]:
        for old in cert_dir.glob("*.pem"):
            old.unlink(missing_ok=True)
        _write(cert_path, keys["platform_cert"])
    keys["cert_dir"] = str(cert_dir)
    return keys


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(clock.PROVIDER_OFFSET).isoformat(timespec="seconds")


@dataclass
class WechatRefund:
    out_refund_no: str
    refund_id: str
    amount: int
    status: str = "PROCESSING"
    created: str = ""


@dataclass
class WechatTrade:
    out_trade_no: str
    total: int  # fen
    description: str
    notify_url: str
    appid: str
    mchid: str
    prepay_id: str
    transaction_id: str = ""
    state: str = "NOTPAY"  # NOTPAY, SUCCESS, CLOSED, REFUND
    success_time: str = ""
    created: str = ""
    refunded: int = 0
    refunds: dict[str, WechatRefund] = field(default_factory=dict)


@dataclass
class WechatDelivery:
    out_trade_no: str
    tries: int = 0
    acknowledged: bool = False
    answers: list[str] = field(default_factory=list)


class WechatSimulator:
    """WeChat Pay API v3 as the simulator speaks it; ``origin`` is the server's scheme, host and port."""

    def __init__(
        self,
        key_folder: Path,
        origin: Callable[[], str],
        delays: tuple[float, ...],
        stopping: threading.Event,
    ):
        from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

        self.keys = ensure_wechat_keys(key_folder)
        self._platform_key: Any = load_pem_private_key(self.keys["platform_private"].encode(), None)
        self._merchant_public: Any = load_pem_public_key(self.keys["merchant_public"].encode())
        self.origin = origin
        self.delays = delays
        self.stopping = stopping
        self.trades: dict[str, WechatTrade] = {}
        self.deliveries: list[WechatDelivery] = []
        self.send_notices = True  # False: a notice that never comes (the query path must settle the order)
        self.certificate_downloads = 0
        self.lock = threading.Lock()

    # --- signatures ----------------------------------------------------------------------------------
    def _sign(self, message: str) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        signature = self._platform_key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()

    def signed_headers(self, body: str, timestamp: int | None = None) -> dict[str, str]:
        """The Wechatpay-* headers signing ``body`` with the platform key (as on every answer and notice)."""
        stamp = str(timestamp if timestamp is not None else int(dt.datetime.now(dt.UTC).timestamp()))
        nonce = secrets.token_hex(16).upper()
        return {
            "Wechatpay-Timestamp": stamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": self._sign(f"{stamp}\n{nonce}\n{body}\n"),
            "Wechatpay-Serial": self.keys["platform_serial"],
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
        }

    def verify_request(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> bool:
        """Check the merchant's ``Authorization`` over ``METHOD\\nURL\\ntimestamp\\nnonce\\nbody\\n``."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        auth = next((str(v) for k, v in headers.items() if k.lower() == "authorization"), "")
        if not auth.startswith(SIGNATURE_TYPE + " "):
            return False
        fields = dict(re.findall(r'(\w+)="([^"]*)"', auth))
        if fields.get("mchid") != self.keys["mchid"] or fields.get("serial_no") != self.keys["merchant_serial"]:
            return False
        message = f"{method}\n{target}\n{fields.get('timestamp', '')}\n{fields.get('nonce_str', '')}\n"
        try:
            signature = base64.b64decode(fields.get("signature", ""), validate=True)
            self._merchant_public.verify(
                signature, message.encode() + body + b"\n", padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            return False
        return True

    def _answer(self, status: int, content: Any = None) -> Answer:
        body = "" if content is None else json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        headers = {"Content-Type": "application/json; charset=utf-8", **self.signed_headers(body)}
        return status, headers, body.encode()

    def _error(self, status: int, code: str, message: str = "") -> Answer:
        return self._answer(status, {"code": code, "message": message or code})

    # --- the customer's side -------------------------------------------------------------------------
    def pay(self, out_trade_no: str, *, notify: bool | None = None, at: dt.datetime | None = None) -> WechatTrade:
        """The buyer confirms: the trade succeeds and (unless told not to) its notice starts going out."""
        moment = at or dt.datetime.now(dt.UTC)
        with self.lock:
            trade = self.trades[out_trade_no]
            if trade.state == "NOTPAY":
                trade.state = "SUCCESS"
                trade.transaction_id = "42000" + moment.strftime("%Y%m%d") + f"{secrets.randbelow(10**15):015d}"
                trade.success_time = rfc3339(moment)
        if notify if notify is not None else self.send_notices:
            self.deliver(out_trade_no)
        return trade

    def cancel(self, out_trade_no: str) -> WechatTrade:
        with self.lock:
            trade = self.trades[out_trade_no]
            if trade.state == "NOTPAY":
                trade.state = "CLOSED"
        return trade

    def resource(self, trade: WechatTrade) -> dict[str, Any]:
        """The trade as WeChat Pay describes it (a query's answer, a notice's decrypted resource)."""
        data: dict[str, Any] = {
            "appid": trade.appid,
            "mchid": trade.mchid,
            "out_trade_no": trade.out_trade_no,
            "trade_type": "MWEB",
            "trade_state": trade.state,
            "trade_state_desc": {"SUCCESS": "支付成功", "NOTPAY": "未支付", "CLOSED": "已关闭"}.get(trade.state, ""),
            "amount": {"total": trade.total, "currency": "CNY"},
        }
        if trade.transaction_id:
            data.update(
                transaction_id=trade.transaction_id,
                bank_type="OTHERS",
                success_time=trade.success_time,
                payer={"openid": "oSIMULATOR000000000000000000"},
            )
            data["amount"].update(payer_total=trade.total, payer_currency="CNY")
        return data

    def notice(
        self, out_trade_no: str, /, *, event_type: str = "", timestamp: int | None = None, **override: Any
    ) -> tuple[dict[str, str], bytes]:
        """The signed notice of the trade as it stands: (headers, JSON body); ``override`` changes fields of the
        resource before it is encrypted."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        resource = self.resource(self.trades[out_trade_no])
        resource.update(override)
        nonce = secrets.token_hex(6)  # 12 characters
        associated = "transaction"
        cipher = AESGCM(self.keys["apiv3_key"].encode()).encrypt(
            nonce.encode(), json.dumps(resource, ensure_ascii=False).encode(), associated.encode()
        )
        envelope = {
            "id": secrets.token_hex(16),
            "create_time": rfc3339(dt.datetime.now(dt.UTC)),
            "resource_type": "encrypt-resource",
            "event_type": event_type or "TRANSACTION.SUCCESS",
            "summary": "支付成功",
            "resource": {
                "original_type": "transaction",
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(cipher).decode(),
                "associated_data": associated,
                "nonce": nonce,
            },
        }
        body = json.dumps(envelope, ensure_ascii=False)
        return self.signed_headers(body, timestamp), body.encode()

    def post_notice(self, notify_url: str, headers: Mapping[str, str], body: bytes) -> str:
        """POST one notice; the answer's status as text (WeChat Pay needs 200 or 204)."""
        if not notify_url.startswith(("http://", "https://")):
            raise OSError(f"not a web address: {notify_url!r}")
        request = urllib.request.Request(notify_url, data=body, method="POST")  # noqa: S310 (checked above)
        request.add_header("Content-Type", "application/json")
        for key, value in headers.items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (the app's own address)
                return str(response.status)
        except urllib.error.HTTPError as exc:
            return str(exc.code)

    def deliver(self, out_trade_no: str) -> WechatDelivery:
        """Send the trade's notice in the background, again after each delay until it is acknowledged."""
        delivery = WechatDelivery(out_trade_no)
        self.deliveries.append(delivery)
        threading.Thread(target=self._deliver, args=(delivery,), daemon=True).start()
        return delivery

    def _deliver(self, delivery: WechatDelivery) -> None:
        trade = self.trades[delivery.out_trade_no]
        for delay in self.delays:
            if self.stopping.wait(delay):
                return
            delivery.tries += 1
            try:
                answer = self.post_notice(trade.notify_url, *self.notice(trade.out_trade_no))
            except OSError as exc:
                answer = f"error: {exc}"
            delivery.answers.append(answer)
            if answer in ("200", "204"):
                delivery.acknowledged = True
                return
            log.info("simulator: wechat notice for %s answered %r, trying again", trade.out_trade_no, answer[:80])

    # --- the API -------------------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """(status, headers, body) for one request to a ``/v3/`` or ``/wechat/`` path."""
        address = urllib.parse.urlsplit(target)
        path = address.path
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(address.query).items()}
        if path.startswith("/wechat/h5"):
            return self._cashier(method, path, query, body)
        if not self.verify_request(method, target, headers, body):
            return self._error(401, "SIGN_ERROR", "签名错误")
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return self._error(400, "PARAM_ERROR", "body is not JSON")
        if not isinstance(data, dict):
            return self._error(400, "PARAM_ERROR")
        trade_path = re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/]+)(/close)?", path)
        if method == "POST" and path == "/v3/pay/transactions/h5":
            return self._h5(data)
        if trade_path and method == "GET" and not trade_path.group(2):
            return self._query(urllib.parse.unquote(trade_path.group(1)))
        if trade_path and method == "POST" and trade_path.group(2):
            return self._close(urllib.parse.unquote(trade_path.group(1)))
        if method == "POST" and path == "/v3/refund/domestic/refunds":
            return self._refund(data)
        refund_path = re.fullmatch(r"/v3/refund/domestic/refunds/([^/]+)", path)
        if refund_path and method == "GET":
            return self._query_refund(urllib.parse.unquote(refund_path.group(1)))
        if method == "GET" and path == "/v3/bill/tradebill":
            return self._tradebill(query.get("bill_date", ""))
        if method == "GET" and path == "/v3/billdownload/file":
            try:
                data_bytes = self.statement(query.get("token", ""))
            except ValueError:
                return self._error(404, "RESOURCE_NOT_EXISTS")
            return 200, {"Content-Type": "application/octet-stream"}, gzip.compress(data_bytes)
        if method == "GET" and path == "/v3/certificates":
            return self._certificates()
        return self._error(404, "RESOURCE_NOT_EXISTS", "no such API")

    def _h5(self, data: dict[str, Any]) -> Answer:
        no = str(data.get("out_trade_no", ""))
        amount = data.get("amount") if isinstance(data.get("amount"), dict) else {}
        total = amount.get("total") if amount else None
        if not no or not isinstance(total, int) or total <= 0 or data.get("mchid") != self.keys["mchid"]:
            return self._error(400, "PARAM_ERROR", "out_trade_no, amount.total and mchid are needed")
        scene = data.get("scene_info") or {}
        if not isinstance(scene, dict) or not scene.get("payer_client_ip"):
            return self._error(400, "PARAM_ERROR", "scene_info.payer_client_ip is needed")
        with self.lock:
            trade = self.trades.get(no)
            if trade is None:
                trade = WechatTrade(
                    out_trade_no=no,
                    total=total,
                    description=str(data.get("description", "")),
                    notify_url=str(data.get("notify_url", "")),
                    appid=str(data.get("appid", "")),
                    mchid=str(data.get("mchid", "")),
                    prepay_id="wx" + dt.datetime.now(dt.UTC).strftime("%d%H%M%S") + secrets.token_hex(12),
                    created=rfc3339(dt.datetime.now(dt.UTC)),
                )
                self.trades[no] = trade
            elif trade.total != total:
                return self._error(400, "OUT_TRADE_NO_USED", "商户订单号重复")
        query = urllib.parse.urlencode({"prepay_id": trade.prepay_id, "package": secrets.token_hex(5)})
        return self._answer(200, {"h5_url": f"{self.origin()}/wechat/h5?{query}"})

    def _by_prepay(self, prepay_id: str) -> WechatTrade | None:
        return next((t for t in self.trades.values() if t.prepay_id == prepay_id), None)

    def _cashier(self, method: str, path: str, query: dict[str, str], body: bytes) -> Answer:
        page = {"Content-Type": "text/html; charset=utf-8"}
        if method == "GET" and path == "/wechat/h5":
            trade = self._by_prepay(query.get("prepay_id", ""))
            if trade is None:
                return 404, page, "<p>订单不存在</p>".encode()
            return 200, page, _cashier_page(trade, query.get("redirect_url", "")).encode()
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()}
        trade = self._by_prepay(form.get("prepay_id", ""))
        if method != "POST" or trade is None or path not in ("/wechat/h5/pay", "/wechat/h5/cancel"):
            return 404, page, b"not found"
        if path == "/wechat/h5/pay":
            self.pay(trade.out_trade_no)
        else:
            self.cancel(trade.out_trade_no)
        back = form.get("redirect_url", "")
        if back.startswith(("http://", "https://")):
            return 303, {"Location": back, "Content-Type": "text/plain"}, b""
        return 200, page, _cashier_page(trade, "").encode()

    def _query(self, no: str) -> Answer:
        trade = self.trades.get(no)
        if trade is None:
            return self._error(404, "ORDER_NOT_EXIST", "订单不存在")
        return self._answer(200, self.resource(trade))

    def _close(self, no: str) -> Answer:
        trade = self.trades.get(no)
        if trade is None:
            return self._error(404, "ORDER_NOT_EXIST", "订单不存在")
        with self.lock:
            if trade.state == "SUCCESS":
                return self._error(400, "ORDER_PAID", "订单已支付")
            trade.state = "CLOSED"
        return self._answer(204)

    def _refund_answer(self, trade: WechatTrade, refund: WechatRefund) -> dict[str, Any]:
        return {
            "refund_id": refund.refund_id,
            "out_refund_no": refund.out_refund_no,
            "transaction_id": trade.transaction_id,
            "out_trade_no": trade.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": refund.created,
            "status": refund.status,
            "amount": {"total": trade.total, "refund": refund.amount, "payer_refund": refund.amount, "currency": "CNY"},
        }

    def _refund(self, data: dict[str, Any]) -> Answer:
        trade = self.trades.get(str(data.get("out_trade_no", "")))
        if trade is None:
            return self._error(404, "ORDER_NOT_EXIST", "订单不存在")
        no = str(data.get("out_refund_no", ""))
        amount = data.get("amount") if isinstance(data.get("amount"), dict) else {}
        refund_fen, total = (amount or {}).get("refund"), (amount or {}).get("total")
        with self.lock:
            refund = trade.refunds.get(no)
            if refund is None:  # a repeated refund number refunds once
                if (
                    not no
                    or trade.state not in ("SUCCESS", "REFUND")
                    or not isinstance(refund_fen, int)
                    or refund_fen <= 0
                    or total != trade.total
                    or trade.refunded + refund_fen > trade.total
                ):
                    return self._error(400, "INVALID_REQUEST", "退款请求不符")
                refund = WechatRefund(
                    no, "50300" + secrets.token_hex(12), refund_fen, created=rfc3339(dt.datetime.now(dt.UTC))
                )
                trade.refunds[no] = refund
                trade.refunded += refund_fen
                trade.state = "REFUND"
        return self._answer(200, self._refund_answer(trade, refund))

    def _query_refund(self, no: str) -> Answer:
        for trade in self.trades.values():
            refund = trade.refunds.get(no)
            if refund is not None:
                with self.lock:
                    refund.status = "SUCCESS"  # processed by the time it is asked about
                return self._answer(200, self._refund_answer(trade, refund))
        return self._error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")

    def _tradebill(self, day: str) -> Answer:
        try:
            data = self.statement(day)
        except ValueError:
            return self._error(400, "PARAM_ERROR", "bill_date")
        if not self._paid_on(day):
            return self._error(400, "NO_STATEMENT_EXIST", "当日无交易")
        return self._answer(
            200,
            {
                "hash_type": "SHA1",
                "hash_value": hashlib.sha1(data).hexdigest(),  # noqa: S324 (WeChat Pay's digest)
                "download_url": f"{self.origin()}/v3/billdownload/file?token={day}",
            },
        )

    def _paid_on(self, day: str) -> list[WechatTrade]:
        return [t for t in self.trades.values() if t.success_time.startswith(day + "T")]

    def statement(self, day: str) -> bytes:
        """The day's trade bill (``wechat_bill``), uncompressed."""
        from .wechat_bill import trade_bill

        dt.date.fromisoformat(day)
        trades = [
            {
                "paid": t.success_time[:19].replace("T", " "),
                "trade_no": t.transaction_id,
                "out_trade_no": t.out_trade_no,
                "amount": f"{t.total / 100:.2f}",
                "subject": t.description,
                "openid": "oSIMULATOR000000000000000000",
            }
            for t in self._paid_on(day)
        ]
        return trade_bill(self.keys["appid"], self.keys["mchid"], trades)

    def _certificates(self) -> Answer:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.certificate_downloads += 1
        nonce, associated = secrets.token_hex(6), "certificate"
        cipher = AESGCM(self.keys["apiv3_key"].encode()).encrypt(
            nonce.encode(), self.keys["platform_cert"].encode(), associated.encode()
        )
        now = dt.datetime.now(dt.UTC)
        item = {
            "serial_no": self.keys["platform_serial"],
            "effective_time": rfc3339(now - dt.timedelta(days=1)),
            "expire_time": rfc3339(now + dt.timedelta(days=3650)),
            "encrypt_certificate": {
                "algorithm": "AEAD_AES_256_GCM",
                "nonce": nonce,
                "associated_data": associated,
                "ciphertext": base64.b64encode(cipher).decode(),
            },
        }
        return self._answer(200, {"data": [item]})


def _cashier_page(trade: WechatTrade, redirect_url: str) -> str:
    esc = html.escape
    no = esc(trade.out_trade_no)
    if trade.state != "NOTPAY":
        state = {"SUCCESS": "已支付 paid", "CLOSED": "已关闭 closed", "REFUND": "已退款 refunded"}.get(trade.state, "")
        body = f'<p id="state">{esc(state)}</p>'
    else:
        hidden = (
            f'<input type="hidden" name="prepay_id" value="{esc(trade.prepay_id)}">'
            f'<input type="hidden" name="redirect_url" value="{esc(redirect_url)}">'
        )
        body = (
            f'<form method="post" action="/wechat/h5/pay">{hidden}'
            '<button id="confirm" type="submit">确认支付 Pay</button></form>'
            f'<form method="post" action="/wechat/h5/cancel">{hidden}'
            '<button id="cancel" type="submit">取消 Cancel</button></form>'
        )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>微信支付（模拟）</title><style>body{font-family:sans-serif;max-width:420px;margin:1rem auto;"
        "padding:0 1rem}button{min-height:44px;width:100%;margin:.4rem 0;font-size:1rem}</style></head><body>"
        "<h1>微信支付（模拟）</h1><p>WeChat Pay H5 cashier (simulator)</p>"
        f'<p>{esc(trade.description)}</p><p>订单 <span id="order">{no}</span></p>'
        f'<p>金额 ¥<strong id="amount">{trade.total / 100:.2f}</strong></p>{body}</body></html>'
    )
