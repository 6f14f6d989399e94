"""A payment provider simulator: a real HTTP server on 127.0.0.1 speaking Alipay's open API protocol and WeChat
Pay's API v3 (``/v3/`` and the H5 cashier ``/wechat/h5``, in ``wechat_simulator``; ``AlipaySimulator.wechat``).

It holds two RSA key pairs under its folder (made at first start): "app" (GridDesk's, which signs requests) and
"alipay" (the provider's, which signs notices and answers). GridDesk is configured with the app's private key
and the provider's public key exactly as it would be with Alipay's, and uses the same SDK calls.

What it does:

- ``GET /gateway.do?method=alipay.trade.page.pay&...``: checks the request's signature and shows the cashier
  page, where the customer confirms (pays) or cancels.
- paying sends the signed asynchronous notice (``TRADE_SUCCESS``) by POST to the order's ``notify_url`` and
  repeats it (``NOTICE_DELAYS``) until the answer is the word ``success``, then sends the browser back to the
  ``return_url`` with the signed synchronous parameters.
- ``alipay.trade.query``, ``alipay.trade.close``, ``alipay.trade.refund`` and
  ``alipay.data.dataservice.bill.downloadurl.query`` answer signed JSON as Alipay does; the statement address
  serves the day's paid trades in Alipay's own format (a zip of GBK CSV files, ``alipay_bill``).

Tests drive it in-process (``AlipaySimulator``: pay without sending the notice, build any notice, send it again);
``make run`` starts it as a process (``python -m billing.online.simulator``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import logging
import os
import secrets
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from alipay import AliPay

from core import clock

log = logging.getLogger(__name__)

NOTICE_DELAYS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # seconds between tries (Alipay: 4 m, 10 m, ... 25 h)
SIM_APP_ID = "2021000000000000"
SIM_PID = "208800000000"  # the merchant's partner id printed in its statement files


def ensure_keys(folder: Path) -> dict[str, str]:
    """The simulator's key pairs as PEM text, made once under ``folder``: app_private, app_public,
    alipay_private, alipay_public."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    folder.mkdir(parents=True, exist_ok=True)
    keys: dict[str, str] = {}
    for owner in ("app", "alipay"):
        private_path, public_path = folder / f"{owner}_private.pem", folder / f"{owner}_public.pem"
        if not private_path.exists() or not public_path.exists():
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            private = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            public = key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            # two processes may start together: write under a unique name, move into place (the last one wins
            # for both files of the pair, since the private key is only moved after its public key)
            for path, data in ((public_path, public), (private_path, private)):
                temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
                temp.write_bytes(data)
                os.chmod(temp, 0o600)
                os.replace(temp, path)
        keys[f"{owner}_private"] = private_path.read_text()
        keys[f"{owner}_public"] = public_path.read_text()
    return keys


@dataclass
class Trade:
    out_trade_no: str
    total_amount: str
    subject: str
    notify_url: str
    return_url: str
    app_id: str
    trade_no: str = ""
    status: str = "WAIT_BUYER_PAY"  # WAIT_BUYER_PAY, TRADE_SUCCESS, TRADE_CLOSED
    gmt_create: str = ""
    gmt_payment: str = ""
    refunded: Decimal = Decimal("0.00")
    refund_requests: dict[str, str] = field(default_factory=dict)


@dataclass
class Delivery:
    out_trade_no: str
    tries: int = 0
    acknowledged: bool = False
    answers: list[str] = field(default_factory=list)


class AlipaySimulator:
    """The simulated Alipay: ``start()`` serves it on 127.0.0.1 in a thread, ``url`` is its gateway."""

    def __init__(
        self, key_folder: Path, host: str = "127.0.0.1", port: int = 0, delays: tuple[float, ...] = NOTICE_DELAYS
    ):
        self.keys = ensure_keys(key_folder)
        # the SDK both ways round: it signs with the provider's private key and verifies with the app's public key
        self.signer = AliPay(
            appid=SIM_APP_ID,
            app_private_key_string=self.keys["alipay_private"],
            alipay_public_key_string=self.keys["app_public"],
            sign_type="RSA2",
        )
        self.trades: dict[str, Trade] = {}
        self.deliveries: list[Delivery] = []
        self.delays = delays
        self.send_notices = True  # False: a notice that never comes (the query path must settle the order)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), _handler(self))
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        from .wechat_simulator import WechatSimulator

        self.wechat = WechatSimulator(key_folder, lambda: self.origin, delays, self._stopping)

    @property
    def origin(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        return f"{self.origin}/gateway.do"

    def start(self) -> AlipaySimulator:
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="payment-simulator", daemon=True
        )  # a short poll: stopping it (every test that pays) waits for one poll
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()

    # --- signatures ----------------------------------------------------------------------------------
    def sign(self, params: dict[str, str]) -> dict[str, str]:
        """``params`` with sign_type and the RSA2 signature of Alipay's notice rule (sorted, sign fields left out)."""
        unsigned = {k: v for k, v in params.items() if k not in ("sign", "sign_type") and v != ""}
        raw = "&".join(f"{k}={v}" for k, v in sorted(unsigned.items()))
        return {**params, "sign_type": "RSA2", "sign": self.signer._sign(raw)}

    def verify_request(self, params: dict[str, str]) -> bool:
        data = dict(params)
        signature = data.pop("sign", "")
        if not signature:
            return False
        # a request signs every parameter but ``sign`` (a notice leaves ``sign_type`` out too)
        message = "&".join(f"{k}={v}" for k, v in sorted(data.items()))
        try:
            return bool(self.signer._verify(message, signature))
        except (ValueError, TypeError):  # a malformed signature is a failed one
            return False

    def answer(self, method: str, content: dict[str, Any]) -> str:
        key = method.replace(".", "_") + "_response"
        body = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        return '{"' + key + '":' + body + ',"sign":"' + self.signer._sign(body) + '"}'

    # --- the customer's side -------------------------------------------------------------------------
    def pay(self, out_trade_no: str, *, notify: bool | None = None, at: dt.datetime | None = None) -> Trade:
        """The buyer confirms: the trade succeeds and (unless told not to) its notice starts going out."""
        with self.lock:
            trade = self.trades[out_trade_no]
            if trade.status == "WAIT_BUYER_PAY":
                trade.status = "TRADE_SUCCESS"
                trade.trade_no = (at or dt.datetime.now(dt.UTC)).strftime(
                    "%Y%m%d"
                ) + f"2200{secrets.randbelow(10**14):014d}"
                trade.gmt_payment = clock.to_provider(at or dt.datetime.now(dt.UTC))
        if notify if notify is not None else self.send_notices:
            self.deliver(out_trade_no)
        return trade

    def cancel(self, out_trade_no: str) -> Trade:
        with self.lock:
            trade = self.trades[out_trade_no]
            if trade.status == "WAIT_BUYER_PAY":
                trade.status = "TRADE_CLOSED"
        return trade

    def notice(self, trade_key: str, /, **override: str) -> dict[str, str]:
        """The signed asynchronous notice of the trade as it stands (fields may be overridden before signing)."""
        trade = self.trades[trade_key]
        now = clock.to_provider(dt.datetime.now(dt.UTC))
        params = {
            "notify_time": now,
            "notify_type": "trade_status_sync",
            "notify_id": secrets.token_hex(16),
            "charset": "utf-8",
            "version": "1.0",
            "app_id": trade.app_id,
            "auth_app_id": trade.app_id,
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.status,
            "total_amount": trade.total_amount,
            "receipt_amount": trade.total_amount,
            "buyer_pay_amount": trade.total_amount,
            "subject": trade.subject,
            "gmt_create": trade.gmt_create,
            "gmt_payment": trade.gmt_payment,
        }
        params.update(override)
        return self.sign({k: v for k, v in params.items() if v != ""})

    def post_notice(self, notify_url: str, form: dict[str, str]) -> str:
        """POST one notice and return the answer's body."""
        data = urllib.parse.urlencode(form).encode()
        if not notify_url.startswith(("http://", "https://")):
            raise OSError(f"not a web address: {notify_url!r}")
        request = urllib.request.Request(notify_url, data=data, method="POST")  # noqa: S310 (checked above)
        request.add_header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (the app's own address)
            return str(response.read().decode().strip())

    def deliver(self, out_trade_no: str) -> Delivery:
        """Send the trade's notice in the background, again after each delay until it is acknowledged."""
        delivery = Delivery(out_trade_no)
        self.deliveries.append(delivery)
        threading.Thread(target=self._deliver, args=(delivery,), daemon=True).start()
        return delivery

    def _deliver(self, delivery: Delivery) -> None:
        trade = self.trades[delivery.out_trade_no]
        for delay in self.delays:
            if self._stopping.wait(delay):
                return
            delivery.tries += 1
            try:
                answer = self.post_notice(trade.notify_url, self.notice(trade.out_trade_no))
            except OSError as exc:
                answer = f"error: {exc}"
            delivery.answers.append(answer)
            if answer == "success":
                delivery.acknowledged = True
                return
            log.info("simulator: notice for %s answered %r, trying again", trade.out_trade_no, answer[:80])

    # --- the gateway ---------------------------------------------------------------------------------
    def gateway(self, params: dict[str, str]) -> tuple[int, str, str]:
        """(status, content type, body) for one gateway request."""
        method = params.get("method", "")
        if not self.verify_request(params):
            return 200, "application/json", self.answer(method or "error", _error("40002", "isv.invalid-signature"))
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except ValueError:
            return 200, "application/json", self.answer(method, _error("40002", "isv.invalid-biz-content"))
        if method == "alipay.trade.page.pay":
            return self._page_pay(params, biz)
        handlers = {
            "alipay.trade.query": self._query,
            "alipay.trade.close": self._close,
            "alipay.trade.refund": self._refund,
            "alipay.data.dataservice.bill.downloadurl.query": self._statement_url,
        }
        if method not in handlers:
            return 200, "application/json", self.answer(method, _error("40004", "isv.invalid-method"))
        return 200, "application/json", self.answer(method, handlers[method](biz))

    def _page_pay(self, params: dict[str, str], biz: dict[str, Any]) -> tuple[int, str, str]:
        no = str(biz.get("out_trade_no", ""))
        with self.lock:
            trade = self.trades.get(no)
            if trade is None:
                trade = Trade(
                    out_trade_no=no,
                    total_amount=str(biz.get("total_amount", "")),
                    subject=str(biz.get("subject", "")),
                    notify_url=params.get("notify_url", ""),
                    return_url=params.get("return_url", ""),
                    app_id=params.get("app_id", ""),
                    gmt_create=clock.to_provider(dt.datetime.now(dt.UTC)),
                )
                self.trades[no] = trade
        return 200, "text/html; charset=utf-8", _cashier_page(trade)

    def _find(self, biz: dict[str, Any]) -> Trade | None:
        no, trade_no = biz.get("out_trade_no"), biz.get("trade_no")
        for trade in self.trades.values():
            if (no and trade.out_trade_no == no) or (trade_no and trade.trade_no == trade_no):
                return trade
        return None

    def _query(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = self._find(biz)
        if trade is None:
            return _error("40004", "ACQ.TRADE_NOT_EXIST")
        answer = {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": trade.out_trade_no,
            "trade_no": trade.trade_no,
            "trade_status": trade.status,
            "total_amount": trade.total_amount,
        }
        if trade.gmt_payment:
            answer["send_pay_date"] = trade.gmt_payment
        return answer

    def _close(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = self._find(biz)
        if trade is None:
            return _error("40004", "ACQ.TRADE_NOT_EXIST")
        with self.lock:
            if trade.status != "WAIT_BUYER_PAY":
                return _error("40004", "ACQ.TRADE_STATUS_ERROR")
            trade.status = "TRADE_CLOSED"
        return {"code": "10000", "msg": "Success", "out_trade_no": trade.out_trade_no}

    def _refund(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = self._find(biz)
        if trade is None:
            return _error("40004", "ACQ.TRADE_NOT_EXIST")
        request_no = str(biz.get("out_request_no", ""))
        amount = Decimal(str(biz.get("refund_amount", "0")))
        with self.lock:
            if request_no in trade.refund_requests:  # a repeated refund request refunds once
                pass
            elif (
                trade.status != "TRADE_SUCCESS" or amount <= 0 or trade.refunded + amount > Decimal(trade.total_amount)
            ):
                return _error("40004", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")
            else:
                trade.refund_requests[request_no] = f"{amount:.2f}"
                trade.refunded += amount
        return {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": trade.out_trade_no,
            "trade_no": trade.trade_no,
            "refund_fee": f"{trade.refunded:.2f}",
            "fund_change": "Y",
        }

    def _statement_url(self, biz: dict[str, Any]) -> dict[str, Any]:
        day = str(biz.get("bill_date", ""))
        return {"code": "10000", "msg": "Success", "bill_download_url": f"{self.origin}/statements/{day}.csv.zip"}

    def statement(self, day: str) -> bytes:
        """The day's trade statement as Alipay serves it: a zip of GBK CSV files (``alipay_bill``)."""
        from .alipay_bill import trade_bill_zip

        trades = [
            {
                "out_trade_no": t.out_trade_no,
                "trade_no": t.trade_no,
                "subject": t.subject,
                "created": t.gmt_create,
                "paid": t.gmt_payment,
                "amount": t.total_amount,
            }
            for t in self.trades.values()
            if t.gmt_payment.startswith(day)
        ]
        return trade_bill_zip(SIM_PID, dt.date.fromisoformat(day), trades)


def _error(code: str, sub_code: str) -> dict[str, Any]:
    return {"code": code, "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_code}


def _cashier_page(trade: Trade) -> str:
    esc = html.escape
    no = esc(trade.out_trade_no)
    if trade.status != "WAIT_BUYER_PAY":
        state = {"TRADE_SUCCESS": "已支付 paid", "TRADE_CLOSED": "已关闭 closed"}.get(trade.status, trade.status)
        body = f'<p id="state">{esc(state)}</p>'
    else:
        body = (
            f'<form method="post" action="/cashier/pay"><input type="hidden" name="out_trade_no" value="{no}">'
            '<button id="confirm" type="submit">确认付款 Pay</button></form>'
            f'<form method="post" action="/cashier/cancel"><input type="hidden" name="out_trade_no" value="{no}">'
            '<button id="cancel" type="submit">取消 Cancel</button></form>'
        )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>支付宝收银台（模拟）</title><style>body{font-family:sans-serif;max-width:420px;margin:1rem auto;"
        "padding:0 1rem}button{min-height:44px;width:100%;margin:.4rem 0;font-size:1rem}</style></head><body>"
        "<h1>支付宝收银台（模拟）</h1><p>Alipay cashier (simulator)</p>"
        f'<p>{esc(trade.subject)}</p><p>订单 <span id="order">{no}</span></p>'
        f'<p>金额 ¥<strong id="amount">{esc(trade.total_amount)}</strong></p>{body}</body></html>'
    )


def _handler(sim: AlipaySimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            log.debug("simulator: " + format, *args)

        def _send(
            self, status: int, content_type: str, body: str | bytes, headers: dict[str, str] | None = None
        ) -> None:
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _params(self, query: str) -> dict[str, str]:
            return {k: v[-1] for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items()}

        def _wechat(self, method: str) -> bool:
            """WeChat Pay's paths go to its side of the simulator."""
            if not self.path.startswith(("/v3/", "/wechat/")):
                return False
            length = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
            body = self.rfile.read(length) if method == "POST" else b""
            status, headers, data = sim.wechat.handle(method, self.path, dict(self.headers.items()), body)
            content_type = headers.pop("Content-Type", "application/json")
            self._send(status, content_type, data, headers)
            return True

        def do_GET(self) -> None:
            if self._wechat("GET"):
                return
            address = urllib.parse.urlsplit(self.path)
            where = address.path
            if where == "/gateway.do":
                self._send(*sim.gateway(self._params(address.query)))
            elif where.startswith("/statements/") and where.endswith(".csv.zip"):
                day = where.removeprefix("/statements/").removesuffix(".csv.zip")
                try:
                    self._send(200, "application/zip", sim.statement(day))
                except ValueError:
                    self._send(404, "text/plain", "no such day")
            else:
                self._send(404, "text/plain", "not found")

        def do_POST(self) -> None:
            if self._wechat("POST"):
                return
            parts = urllib.parse.urlsplit(self.path)
            length = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
            form = self._params(self.rfile.read(length).decode("utf-8", "replace"))
            trade = sim.trades.get(form.get("out_trade_no", ""))
            if trade is None or parts.path not in ("/cashier/pay", "/cashier/cancel"):
                self._send(404, "text/plain", "not found")
                return
            if parts.path == "/cashier/pay":
                sim.pay(trade.out_trade_no)
            else:
                sim.cancel(trade.out_trade_no)
            if not trade.return_url:
                self._send(200, "text/html; charset=utf-8", _cashier_page(trade))
                return
            back = sim.sign(
                {
                    "app_id": trade.app_id,
                    "method": "alipay.trade.page.pay.return",
                    "out_trade_no": trade.out_trade_no,
                    "trade_no": trade.trade_no,
                    "total_amount": trade.total_amount,
                    "timestamp": clock.to_provider(dt.datetime.now(dt.UTC)),
                }
            )
            sep = "&" if "?" in trade.return_url else "?"
            self._send(303, "text/plain", "", {"Location": trade.return_url + sep + urllib.parse.urlencode(back)})

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="GridDesk's payment provider simulator (Alipay and WeChat Pay)")
    parser.add_argument("--keys", required=True, help="folder of the simulator's key pairs (made when missing)")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    sim = AlipaySimulator(Path(args.keys), port=args.port)
    print(f"payment simulator: {sim.url}", flush=True)
    try:
        sim.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        time.sleep(0)
        sim.server.server_close()


if __name__ == "__main__":
    main()
