"""Paying online with WeChat Pay API v3 against the simulator (the same HTTP server as Alipay's, speaking WeChat
Pay's protocol with test keys): the H5 order, the signed notice with its encrypted resource that alone marks an
order paid, duplicates, forgeries, late, out-of-order and other-amount notices, the retries, the query path, the
refund (processing, then confirmed on the refund query) and the trade bill's reconciliation."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from billing import online
from billing.models import Account
from billing.online.models import PaymentNotice, PaymentOrder, PaymentRefund
from billing.online.simulator import AlipaySimulator
from billing.online.tasks import reconcile_payment_statements, settle_payment_orders
from billing.online.wechat_simulator import WechatSimulator
from core import clock
from tests.billing.test_online import _bill, _payments, _wait

NOTIFY = "/api/v1/payment-providers/wechat/notify"


@pytest.fixture
def wechat(app: Any) -> Iterator[WechatSimulator]:
    sim = AlipaySimulator(Path(app.config["INSTANCE_DIR"]) / "payment_simulator", delays=(0.0, 0.2, 0.4, 0.8, 1.6))
    sim.start()
    keys = ("PAYMENT_SIMULATOR_URL", "ONLINE_PAY_PUBLIC_URL", "ONLINE_PAY_PROVIDERS", "WECHATPAY_MCHID")
    saved = {k: app.config.get(k) for k in keys}
    app.config.update(PAYMENT_SIMULATOR_URL=sim.url, ONLINE_PAY_PROVIDERS="alipay,wechat", WECHATPAY_MCHID="")
    online.configure(app.config)
    yield sim.wechat
    sim.stop()
    app.config.update(saved)
    online.configure(app.config)


def _order(world: Any, api: Any, **body: Any) -> dict[str, Any]:
    customer = api.as_token(world.token("customer"))
    reply = customer.post("/api/v1/payment-orders", {"account_no": "1000000001", "provider": "wechat", **body})
    assert reply.status_code == 201, reply.get_json()
    return dict(reply.get_json())


def _status(world: Any, api: Any, order_no: str) -> str:
    reply = api.as_token(world.token("customer")).get(f"/api/v1/payment-orders/{order_no}")
    assert reply.status_code == 200
    return str(reply.get_json()["status"])


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (the local simulator)
        return str(response.read().decode())


def _post(client: Any, notice: tuple[dict[str, str], bytes]) -> tuple[int, str]:
    headers, body = notice
    reply = client.post(NOTIFY, data=body, headers=headers, content_type="application/json")
    return reply.status_code, reply.get_data(as_text=True)


def _outcomes(session: Any) -> list[str]:
    session.rollback()
    return list(session.scalars(select(PaymentNotice.outcome).order_by(PaymentNotice.id)))


def test_an_h5_order_leads_to_the_cashier_and_the_api_refuses_unsigned_requests(world, session, api, wechat) -> None:
    _bill(world, session, api)
    order = _order(world, api)
    assert (order["provider"], order["status"]) == ("wechat", "created")
    parts = urllib.parse.urlsplit(order["pay_url"])
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == wechat.origin() + "/wechat/h5"
    back = urllib.parse.parse_qs(parts.query)["redirect_url"][0]
    assert back.endswith(f"/pay/orders/{order['order_no']}")
    trade = wechat.trades[order["order_no"]]
    assert trade.total == int(Decimal(order["amount"]) * 100) and trade.notify_url.endswith(NOTIFY)
    page = _get(order["pay_url"])
    assert order["amount"] in page and order["order_no"] in page and "确认支付" in page
    # the API refuses a request without the merchant's signature
    request = urllib.request.Request(f"{wechat.origin()}/v3/pay/transactions/out-trade-no/{order['order_no']}")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 (the local simulator)
    assert refused.value.code == 401 and json.loads(refused.value.read())["code"] == "SIGN_ERROR"


def test_the_signed_notice_marks_paid_once_at_the_provider_time(world, session, api, client, wechat) -> None:
    _bill(world, session, api)
    order = _order(world, api)
    paid_at = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    wechat.pay(order["order_no"], notify=False, at=paid_at)
    assert _status(world, api, order["order_no"]) == "created"  # paid at the provider, not yet told
    notice = wechat.notice(order["order_no"])
    for _ in range(3):  # WeChat Pay repeats a notice until it hears 200 or 204; every copy is acknowledged
        assert _post(client, notice) == (200, "")
    payments = _payments(session)
    assert [(p.amount, p.channel, p.paid_at, p.recorded_by) for p in payments] == [
        (Decimal(order["amount"]), "app", paid_at, None)
    ]
    assert payments[0].idempotency_key == f"wechat:{wechat.trades[order['order_no']].transaction_id}"
    assert _status(world, api, order["order_no"]) == "paid"
    assert _outcomes(session) == ["settled", "duplicate", "duplicate"]
    logged = session.scalars(select(PaymentNotice)).first()
    assert logged.order_no == order["order_no"] and logged.body["event_type"] == "TRANSACTION.SUCCESS"
    assert "ciphertext" not in json.dumps(logged.body)  # the encrypted resource is not kept


def test_forged_replayed_and_undecryptable_notices_change_nothing(world, session, api, client, wechat) -> None:
    _bill(world, session, api)
    order = _order(world, api)
    wechat.pay(order["order_no"], notify=False)
    headers, body = wechat.notice(order["order_no"])
    changed = body.replace(b'"summary": "', b'"summary": "x', 1)  # the body changed after signing
    unsigned = {k: v for k, v in headers.items() if k != "Wechatpay-Signature"}
    garbage = dict(headers, **{"Wechatpay-Signature": "bm90IGEgc2lnbmF0dXJl"})
    unknown_serial = dict(headers, **{"Wechatpay-Serial": "ABCDEF0123456789"})  # fetched again: still not it
    not_hex = dict(headers, **{"Wechatpay-Serial": "not a serial"})
    old = int(clock.now_local().timestamp()) - 3600
    replayed = wechat.notice(order["order_no"], timestamp=old)  # correctly signed an hour ago
    real_key = wechat.keys["apiv3_key"]
    wechat.keys["apiv3_key"] = "0" * 32  # the resource encrypted with another APIv3 key
    other_key = wechat.notice(order["order_no"])
    wechat.keys["apiv3_key"] = real_key
    for forged in (
        (headers, changed),
        (unsigned, body),
        (garbage, body),
        (unknown_serial, body),
        (unknown_serial, body),
        (not_hex, body),
        replayed,
        other_key,
    ):
        status, text = _post(client, forged)
        assert status == 400 and json.loads(text)["code"] == "FAIL"
    assert _payments(session) == []
    assert _status(world, api, order["order_no"]) == "created"
    assert _outcomes(session) == ["forged"] * 8
    assert wechat.certificate_downloads == 1  # an unknown serial fetches the certificates at most once a minute
    assert _post(client, (headers, body)) == (200, "")
    assert len(_payments(session)) == 1


def test_out_of_order_late_other_amount_and_foreign_notices(world, session, api, client, wechat) -> None:
    _bill(world, session, api)
    first = _order(world, api)
    waiting = wechat.notice(first["order_no"])  # signed while the trade waits for the buyer (NOTPAY)
    wechat.pay(first["order_no"], notify=False)
    closed = wechat.notice(first["order_no"], trade_state="CLOSED")
    for notice in (wechat.notice(first["order_no"]), waiting, closed):
        assert _post(client, notice) == (200, "")
    assert _status(world, api, first["order_no"]) == "paid"
    # an order we had closed, paid all the same: the money is kept (balance)
    late = _order(world, api, amount="300.00")
    session.rollback()
    row = session.scalar(select(PaymentOrder).where(PaymentOrder.order_no == late["order_no"]))
    row.status = "closed"
    session.commit()
    wechat.pay(late["order_no"], notify=False)
    assert _post(client, wechat.notice(late["order_no"])) == (200, "")
    # another amount than the order's: recorded as received
    other = _order(world, api, amount="50.00")
    wechat.pay(other["order_no"], notify=False)
    assert _post(client, wechat.notice(other["order_no"], amount={"total": 4000, "currency": "CNY"})) == (200, "")
    # signed, but for no order of ours, or for another merchant: acknowledged, nothing recorded
    stranger = wechat.notice(other["order_no"], out_trade_no="GD0000000000000000000000")
    foreign = wechat.notice(other["order_no"], mchid="1999999999")
    assert _post(client, stranger) == (200, "") and _post(client, foreign) == (200, "")
    assert _outcomes(session) == [
        "settled",
        "not_paid",
        "not_paid",
        "late",
        "amount_differs",
        "unknown_order",
        "unknown_order",
    ]
    assert [p.amount for p in _payments(session)][1:] == [Decimal("300.00"), Decimal("40.00")]
    assert session.scalar(select(PaymentOrder.late).where(PaymentOrder.order_no == late["order_no"])) is True
    assert session.scalar(select(Account.balance).where(Account.account_no == "1000000001")) == Decimal("340.00")


def test_the_simulator_retries_until_acknowledged_and_the_cashier_returns_the_browser(
    world, session, api, wechat, served
) -> None:
    _bill(world, session, api)
    order = _order(world, api)
    trade = wechat.trades[order["order_no"]]
    assert trade.notify_url == served + NOTIFY
    good_url = trade.notify_url
    trade.notify_url = served + "/api/v1/payment-providers/nowhere/notify"  # first tries fail (404)
    form = {"prepay_id": trade.prepay_id, "redirect_url": urllib.parse.parse_qs(order["pay_url"])["redirect_url"][0]}
    confirm = urllib.request.Request(
        f"{wechat.origin()}/wechat/h5/pay", data=urllib.parse.urlencode(form).encode(), method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as redirected:  # 303 to the order page: followed, then a login page
        opener = urllib.request.build_opener(_NoRedirect())
        opener.open(confirm, timeout=10)
    assert redirected.value.code == 303 and redirected.value.headers["Location"] == form["redirect_url"]
    delivery = wechat.deliveries[-1]
    _wait(lambda: delivery.tries >= 2)
    trade.notify_url = good_url
    _wait(lambda: delivery.acknowledged)
    assert delivery.answers[0] == "404" and delivery.answers[-1] == "200"
    _wait(lambda: _status(world, api, order["order_no"]) == "paid")
    assert len(_payments(session)) == 1


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def test_a_notice_that_never_comes_is_settled_by_the_query_task(world, session, api, wechat, app) -> None:
    _bill(world, session, api)
    wechat.send_notices = False
    order = _order(world, api)
    unpaid = _order(world, api, amount="10.00")
    cancelled = _order(world, api, amount="20.00")
    wechat.pay(order["order_no"])
    wechat.cancel(cancelled["order_no"])
    session.rollback()  # on SQLite an open transaction holds the write lock
    with app.app_context():
        settle_payment_orders.run(older_than_seconds=0)
    assert _status(world, api, order["order_no"]) == "paid"
    assert _status(world, api, unpaid["order_no"]) == "paying"  # NOTPAY: waits for the buyer
    assert _status(world, api, cancelled["order_no"]) == "failed"
    assert [p.amount for p in _payments(session)] == [Decimal(order["amount"])]
    session.rollback()
    row = session.scalar(select(PaymentOrder).where(PaymentOrder.order_no == unpaid["order_no"]))
    row.expires_at = clock.now_local() - dt.timedelta(minutes=1)
    session.commit()
    session.rollback()
    with app.app_context():
        settle_payment_orders.run(older_than_seconds=0)
    assert _status(world, api, unpaid["order_no"]) == "closed"
    assert wechat.trades[unpaid["order_no"]].state == "CLOSED"  # closed at the provider first


def test_an_approved_refund_goes_back_through_wechat_pay(world, session, api, client, wechat, app) -> None:
    order = _order(world, api, amount="300.00")  # nothing owed: all of it becomes balance
    wechat.pay(order["order_no"], notify=False)
    assert _post(client, wechat.notice(order["order_no"])) == (200, "")
    clerk, admin = api.as_token(world.token("clerk")), api.as_token(world.token("admin"))
    body = {"kind": "refund", "account_no": "1000000001", "amount": "120.00", "reason": "moving away"}
    request = clerk.post("/api/v1/billing/adjustments", body)
    assert request.status_code == 201, request.get_json()
    decided = admin.post(f"/api/v1/billing/adjustments/{request.get_json()['id']}/decision", {"approve": True})
    assert decided.status_code == 200, decided.get_json()
    trade = wechat.trades[order["order_no"]]
    assert trade.refunded == 12000 and [r.status for r in trade.refunds.values()] == ["PROCESSING"]
    session.rollback()
    assert list(session.scalars(select(PaymentRefund.status))) == ["requested"]  # not done until confirmed
    assert _status(world, api, order["order_no"]) == "paid"
    session.rollback()  # on SQLite an open transaction holds the write lock
    with app.app_context():  # the minute task asks again: the refund query says SUCCESS
        settle_payment_orders.run(older_than_seconds=0)
    session.rollback()
    assert list(session.scalars(select(PaymentRefund.status))) == ["confirmed"]
    assert trade.refunded == 12000  # asked twice, refunded once
    assert _status(world, api, order["order_no"]) == "partly_refunded"


def test_the_trade_bill_is_reconciled(world, session, api, client, wechat, app) -> None:
    _bill(world, session, api)
    paid_at = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 Beijing time on 2026-03-02
    matched, unrecorded, differs = (_order(world, api, amount=a) for a in ("100.00", "200.00", "300.00"))
    for order in (matched, unrecorded, differs):
        wechat.pay(order["order_no"], notify=False, at=paid_at)
    for order in (matched, differs):
        assert _post(client, wechat.notice(order["order_no"])) == (200, "")
    session.rollback()
    row = session.scalar(select(PaymentOrder).where(PaymentOrder.order_no == differs["order_no"]))
    row.paid_amount = Decimal("299.00")  # planted: our record says another amount
    session.commit()
    session.rollback()
    with app.app_context():
        assert reconcile_payment_statements.run(day="2026-03-02") == {"alipay": 0, "wechat": 2}
        assert reconcile_payment_statements.run(day="2026-03-05") == {"alipay": 0, "wechat": 0}  # no trade
    report = api.as_token(world.token("clerk")).get("/api/v1/billing/reconciliations?provider=wechat&date=2026-03-02")
    data = report.get_json()
    assert (data["matched"], data["missing_here"], data["missing_there"], data["amount_differs"]) == (1, 1, 0, 1)
    assert {i["kind"]: (i["order_no"], i["ours"], i["theirs"]) for i in data["items"]} == {
        "missing_here": (unrecorded["order_no"], "", "200.00"),
        "amount_differs": (differs["order_no"], "299.00", "300.00"),
    }
    assert _status(world, api, unrecorded["order_no"]) == "paid"  # recorded now, at the provider's time
