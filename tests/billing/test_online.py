"""Paying online against the Alipay simulator (a real HTTP server speaking Alipay's protocol with RSA2 keys):
orders, the signed notice that alone marks one paid, duplicates, forgeries, late and out-of-order notices, and
the query path that settles an order whose notice never comes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
import time
import urllib.parse
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from audit.engine import Scope, run_rules
from audit.models import Finding
from audit.rules import RuleContext, all_rules
from billing.models import Account, Payment
from billing.online.models import PaymentNotice, PaymentOrder, PaymentRefund
from billing.online.tasks import reconcile_payment_statements, settle_payment_orders
from core import clock
from core.db import db
from tests.billing.support import add_tariffs
from tests.support import staff_sign_in

NOTIFY = "/api/v1/payment-providers/alipay/notify"


def _bill(world: Any, session: Any, api: Any) -> None:
    """Account 1000000001 owes one bill of 1626.00."""
    add_tariffs(session)
    session.commit()
    clerk = api.as_token(world.token("clerk"))
    for period, reading in (("2026-01", "0"), ("2026-02", "3000")):
        reply = clerk.post(
            "/api/v1/billing/readings", {"account_no": "1000000001", "period": period, "reading": reading}
        )
        assert reply.status_code == 201, reply.get_json()


def _owed(world: Any, api: Any) -> str:
    """What the account owes today by its summary (the bill and its late fee)."""
    summary = api.as_token(world.token("customer")).get("/api/v1/accounts/1000000001").get_json()
    owed = Decimal(summary["arrears"]) + Decimal(summary["late_fee_today"]) - Decimal(summary["balance"])
    assert owed > Decimal("1626.00")  # the bill, and the late fee since its due date
    return f"{owed:.2f}"


def _order(world: Any, api: Any, **body: Any) -> dict[str, Any]:
    customer = api.as_token(world.token("customer"))
    reply = customer.post("/api/v1/payment-orders", {"account_no": "1000000001", "provider": "alipay", **body})
    assert reply.status_code == 201, reply.get_json()
    return dict(reply.get_json())


def _open_cashier(pay_url: str) -> str:
    """The customer's browser opening the cashier address (the simulator checks the request's signature)."""
    import urllib.request

    with urllib.request.urlopen(pay_url, timeout=10) as response:  # noqa: S310 (the local simulator)
        return str(response.read().decode())


def _payments(session: Any) -> list[Payment]:
    session.rollback()
    return list(session.scalars(select(Payment).order_by(Payment.id)))


def _status(world: Any, api: Any, order_no: str) -> dict[str, Any]:
    reply = api.as_token(world.token("customer")).get(f"/api/v1/payment-orders/{order_no}")
    assert reply.status_code == 200
    return dict(reply.get_json())


def _wait(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.05)


def test_an_order_defaults_to_what_is_owed_and_leads_to_a_signed_cashier(world, session, api, alipay) -> None:
    _bill(world, session, api)
    order = _order(world, api)
    owed = _owed(world, api)
    assert (order["amount"], order["status"], order["provider"]) == (owed, "created", "alipay")
    parts = urllib.parse.urlsplit(order["pay_url"])
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == alipay.url
    assert "alipay.trade.page.pay" in urllib.parse.parse_qs(parts.query)["method"]
    page = _open_cashier(order["pay_url"])
    assert owed in page and order["order_no"] in page
    # a cashier address whose signature was tampered with is refused by the provider
    tampered = order["pay_url"].replace(owed, "0.01")
    assert "isv.invalid-signature" in _open_cashier(tampered)


def test_prepaying_is_capped_and_nothing_owed_needs_an_amount(world, session, api, alipay, app) -> None:
    customer = api.as_token(world.token("customer"))
    nothing = customer.post("/api/v1/payment-orders", {"account_no": "1000000001", "provider": "alipay"})
    assert (nothing.status_code, nothing.get_json()["error"]["code"]) == (409, "nothing_owed")
    over = customer.post(
        "/api/v1/payment-orders", {"account_no": "1000000001", "provider": "alipay", "amount": "5000.01"}
    )
    assert over.status_code == 422 and over.get_json()["error"]["details"]["problems"]["amount"]["code"] == "at_most"
    assert _order(world, api, amount="5000.00")["amount"] == "5000.00"
    foreign = customer.post("/api/v1/payment-orders", {"account_no": "2000000001", "provider": "alipay"})
    assert foreign.status_code == 404
    wechat = customer.post("/api/v1/payment-orders", {"account_no": "1000000001", "provider": "wechat", "amount": "1"})
    assert (wechat.status_code, wechat.get_json()["error"]["code"]) == (409, "payment_provider_unavailable")


def test_the_signed_notice_marks_paid_once_and_records_the_provider_time(world, session, api, client, alipay) -> None:
    _bill(world, session, api)
    order = _order(world, api)
    _open_cashier(order["pay_url"])
    paid_at = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    alipay.pay(order["order_no"], notify=False, at=paid_at)
    assert _status(world, api, order["order_no"])["status"] == "created"  # paid at the provider, not yet told
    notice = alipay.notice(order["order_no"])
    for _ in range(3):  # Alipay repeats a notice until it hears "success"; every copy is acknowledged
        reply = client.post(NOTIFY, data=notice)
        assert (reply.status_code, reply.get_data(as_text=True)) == (200, "success")
    payments = _payments(session)
    assert [(p.amount, p.channel, p.paid_at, p.recorded_by) for p in payments] == [
        (Decimal(order["amount"]), "app", paid_at, None)
    ]
    assert payments[0].idempotency_key == f"alipay:{alipay.trades[order['order_no']].trade_no}"
    shown = _status(world, api, order["order_no"])
    assert (shown["status"], shown["payment_id"]) == ("paid", payments[0].id)
    outcomes = list(session.scalars(select(PaymentNotice.outcome).order_by(PaymentNotice.id)))
    assert outcomes == ["settled", "duplicate", "duplicate"]


def test_a_forged_notice_changes_nothing(world, session, api, client, alipay) -> None:
    _bill(world, session, api)
    order = _order(world, api)
    _open_cashier(order["pay_url"])
    alipay.pay(order["order_no"], notify=False)
    genuine = alipay.notice(order["order_no"])
    forged = dict(genuine, total_amount="0.01")  # the amount changed after signing
    unsigned = {k: v for k, v in genuine.items() if k != "sign"}
    garbage = dict(genuine, sign="bm90IGEgc2lnbmF0dXJl")
    for body in (forged, unsigned, garbage):
        reply = client.post(NOTIFY, data=body)
        assert reply.get_data(as_text=True) == "failure"
    assert _payments(session) == []
    assert _status(world, api, order["order_no"])["status"] == "created"
    assert list(session.scalars(select(PaymentNotice.outcome))) == ["forged", "forged", "forged"]
    assert client.post(NOTIFY, data=genuine).get_data(as_text=True) == "success"
    assert len(_payments(session)) == 1


def test_out_of_order_notices_never_undo_a_payment(world, session, api, client, alipay) -> None:
    _bill(world, session, api)
    order = _order(world, api)
    _open_cashier(order["pay_url"])
    waiting = alipay.notice(order["order_no"], trade_no="2026000000001", trade_status="WAIT_BUYER_PAY")
    alipay.pay(order["order_no"], notify=False)
    paid = alipay.notice(order["order_no"])
    closed = alipay.notice(order["order_no"], trade_status="TRADE_CLOSED")
    for body in (paid, waiting, closed):
        assert client.post(NOTIFY, data=body).get_data(as_text=True) == "success"
    assert _status(world, api, order["order_no"])["status"] == "paid"
    assert len(_payments(session)) == 1


def test_money_for_an_order_already_closed_becomes_a_credit(world, session, api, client, alipay) -> None:
    order = _order(world, api, amount="300.00")  # nothing owed: paying ahead
    _open_cashier(order["pay_url"])
    session.rollback()
    row = session.scalar(select(PaymentOrder).where(PaymentOrder.order_no == order["order_no"]))
    row.status = "closed"
    session.commit()
    alipay.pay(order["order_no"], notify=False)
    assert client.post(NOTIFY, data=alipay.notice(order["order_no"])).get_data(as_text=True) == "success"
    shown = _status(world, api, order["order_no"])
    assert shown["status"] == "paid"
    session.rollback()
    assert session.scalar(select(PaymentOrder.late).where(PaymentOrder.order_no == order["order_no"])) is True
    assert session.scalar(select(Account.balance).where(Account.account_no == "1000000001")) == Decimal("300.00")


def test_another_amount_is_recorded_as_received(world, session, api, client, alipay) -> None:
    _bill(world, session, api)
    order = _order(world, api)
    _open_cashier(order["pay_url"])
    alipay.pay(order["order_no"], notify=False)
    alipay.trades[order["order_no"]].total_amount = "1000.00"  # the provider took less than asked
    assert client.post(NOTIFY, data=alipay.notice(order["order_no"])).get_data(as_text=True) == "success"
    assert [p.amount for p in _payments(session)] == [Decimal("1000.00")]
    assert list(session.scalars(select(PaymentNotice.outcome))) == ["amount_differs"]


def test_a_signed_notice_for_no_order_of_ours_records_nothing(world, session, api, client, alipay) -> None:
    order = _order(world, api, amount="10.00")
    _open_cashier(order["pay_url"])
    alipay.pay(order["order_no"], notify=False)
    stranger = alipay.notice(order["order_no"], out_trade_no="GD0000000000000000000000")
    assert client.post(NOTIFY, data=stranger).get_data(as_text=True) == "success"
    other_app = alipay.notice(order["order_no"], app_id="2099999999999999")
    assert client.post(NOTIFY, data=other_app).get_data(as_text=True) == "success"
    assert _payments(session) == []
    assert list(session.scalars(select(PaymentNotice.outcome))) == ["unknown_order", "unknown_order"]


def test_the_simulator_retries_its_notice_until_acknowledged(world, session, api, alipay, served) -> None:
    _bill(world, session, api)
    order = _order(world, api)
    assert order["pay_url"].startswith(alipay.url)
    _open_cashier(order["pay_url"])
    trade = alipay.trades[order["order_no"]]
    assert trade.notify_url == served + NOTIFY
    good_url = trade.notify_url
    trade.notify_url = served + "/api/v1/payment-providers/nowhere/notify"  # first tries fail (404)
    alipay.pay(order["order_no"])
    delivery = alipay.deliveries[-1]
    _wait(lambda: delivery.tries >= 2)
    trade.notify_url = good_url
    _wait(lambda: delivery.acknowledged)
    assert delivery.answers[-1] == "success" and len(delivery.answers) >= 3
    _wait(lambda: _status(world, api, order["order_no"])["status"] == "paid")
    assert len(_payments(session)) == 1


def test_a_notice_that_never_comes_is_settled_by_the_query_task(world, session, api, alipay, app) -> None:
    _bill(world, session, api)
    alipay.send_notices = False
    order = _order(world, api)
    _open_cashier(order["pay_url"])
    unpaid = _order(world, api, amount="10.00")
    _open_cashier(unpaid["pay_url"])
    alipay.pay(order["order_no"])
    session.rollback()  # on SQLite an open transaction holds the write lock
    with app.app_context():
        settle_payment_orders.run(older_than_seconds=0)
    assert _status(world, api, order["order_no"])["status"] == "paid"
    assert _status(world, api, unpaid["order_no"])["status"] == "paying"  # the provider waits for the buyer
    assert [p.amount for p in _payments(session)] == [Decimal(order["amount"])]
    # once expired, an unpaid order is closed at the provider and here; the cashier then refuses it
    session.rollback()
    row = session.scalar(select(PaymentOrder).where(PaymentOrder.order_no == unpaid["order_no"]))
    row.expires_at = db_now() - dt.timedelta(minutes=1)
    session.commit()
    session.rollback()  # on SQLite an open transaction holds the write lock
    with app.app_context():
        settle_payment_orders.run(older_than_seconds=0)
    assert _status(world, api, unpaid["order_no"])["status"] == "closed"
    assert alipay.trades[unpaid["order_no"]].status == "TRADE_CLOSED"
    session.rollback()
    with app.app_context():  # a settled order is not asked about again
        assert settle_payment_orders.run(older_than_seconds=0) == {}


def test_a_cancelled_trade_fails_the_order(world, session, api, alipay, app) -> None:
    order = _order(world, api, amount="20.00")
    _open_cashier(order["pay_url"])
    alipay.cancel(order["order_no"])
    session.rollback()  # on SQLite an open transaction holds the write lock
    with app.app_context():
        settle_payment_orders.run(older_than_seconds=0)
    assert _status(world, api, order["order_no"])["status"] == "failed"


def test_concurrent_copies_of_a_notice_record_one_payment(world, session, api, alipay, served) -> None:
    _bill(world, session, api)
    order = _order(world, api)
    _open_cashier(order["pay_url"])
    alipay.pay(order["order_no"], notify=False)
    notice = alipay.notice(order["order_no"])
    answers: list[str] = []
    threads = [
        threading.Thread(target=lambda: answers.append(alipay.post_notice(served + NOTIFY, notice))) for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert answers == ["success"] * 6
    assert len(_payments(session)) == 1
    assert session.scalar(select(func.count()).select_from(PaymentNotice)) == 6


def test_other_callers_cannot_see_an_order(world, session, api, alipay) -> None:
    order = _order(world, api, amount="10.00")
    path = f"/api/v1/payment-orders/{order['order_no']}"
    assert api.as_token(world.token("clerk")).get(path).status_code == 200  # the account is in the clerk's unit
    with db.engine.connect():
        pass
    assert api.get(path).status_code == 401
    assert (
        api.get("/api/v1/payment-orders/GD0000000000000000000000", headers=world.headers("customer")).status_code == 404
    )


def db_now() -> dt.datetime:
    return clock.now_local()


def test_the_morning_reconciliation_finds_planted_differences_for_the_clerk_and_the_audit(
    world, session, api, client, alipay, app
) -> None:
    _bill(world, session, api)
    paid_at = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 Beijing time on 2026-03-02
    matched, unrecorded, differs = (_order(world, api, amount=a) for a in ("100.00", "200.00", "300.00"))
    for order in (matched, unrecorded, differs):
        _open_cashier(order["pay_url"])
        alipay.pay(order["order_no"], notify=False, at=paid_at)
    for order in (matched, differs):
        assert client.post(NOTIFY, data=alipay.notice(order["order_no"])).get_data(as_text=True) == "success"
    some_payment = _payments(session)[0].id
    # planted: our record of one order says another amount; a paid order the provider never had
    row = session.scalar(select(PaymentOrder).where(PaymentOrder.order_no == differs["order_no"]))
    row.paid_amount = Decimal("299.00")
    ghost = PaymentOrder(
        order_no="GD20260302100000" + "99999999",
        account_id=world.own_account.id,
        amount=Decimal("50.00"),
        provider="alipay",
        status="paid",
        expires_at=paid_at,
        trade_no="2026030222000000000000009999",
        paid_amount=Decimal("50.00"),
        paid_at=paid_at,
        payment_id=some_payment,
    )
    session.add(ghost)
    session.commit()
    ghost_no = ghost.order_no
    clerk = api.as_token(world.token("clerk"))
    path = "/api/v1/billing/reconciliations?provider=alipay&date=2026-03-02"
    assert clerk.get(path).status_code == 404
    session.rollback()
    with app.app_context():
        assert reconcile_payment_statements.run(day="2026-03-02") == {"alipay": 3}
    report = clerk.get(path).get_json()
    assert (report["matched"], report["missing_here"], report["missing_there"], report["amount_differs"]) == (
        1,
        1,
        1,
        1,
    )
    kinds = {item["kind"]: item["order_no"] for item in report["items"]}
    assert kinds == {
        "missing_here": unrecorded["order_no"],
        "missing_there": ghost_no,
        "amount_differs": differs["order_no"],
    }
    # the trade the provider took and we had missed is recorded now, at the provider's time
    shown = _status(world, api, unrecorded["order_no"])
    assert shown["status"] == "paid"
    assert [p.paid_at for p in _payments(session) if p.id == shown["payment_id"]] == [paid_at]
    # the clerk's report page and its CSV
    staff_sign_in(client, "clerk-a")
    listing = client.get("/staff/billing/reconciliations").get_data(as_text=True)
    assert "/staff/billing/reconciliations/alipay/2026-03-02" in listing
    page = client.get("/staff/billing/reconciliations/alipay/2026-03-02").get_data(as_text=True)
    assert "金额不符" in page and "对方缺失" in page and "我方缺失" in page
    assert differs["order_no"] in page and ghost_no in page and "299.00" in page and "300.00" in page
    csv_text = client.get("/staff/billing/reconciliations/alipay/2026-03-02.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(csv_text.removeprefix("\ufeff"))))
    assert rows[0] == ["provider", "date", "kind", "account_no", "order_no", "trade_no", "ours", "theirs", "recorded"]
    assert sorted((r[2], r[3], r[4], r[6], r[7], r[8]) for r in rows[1:]) == [
        ("amount_differs", "1000000001", differs["order_no"], "299.00", "300.00", ""),
        ("missing_here", "1000000001", unrecorded["order_no"], "", "200.00", "yes"),
        ("missing_there", "1000000001", ghost_no, "50.00", "", ""),
    ]
    # and an audit finding for each trade that did not match
    session.rollback()
    mismatch = [r for r in all_rules() if r.code == "BZ-STATEMENT-MISMATCH"]
    run_rules(session, Scope(), RuleContext(today=dt.date(2026, 3, 3)), rules=mismatch)
    session.commit()
    found = {f.evidence["order_no"]: f.evidence["kind"] for f in session.scalars(select(Finding))}
    assert found == {
        unrecorded["order_no"]: "missing_here",
        ghost_no: "missing_there",
        differs["order_no"]: "amount_differs",
    }


def test_an_approved_refund_goes_back_through_the_provider(world, session, api, client, alipay) -> None:
    order = _order(world, api, amount="300.00")  # nothing owed: all of it becomes balance
    _open_cashier(order["pay_url"])
    alipay.pay(order["order_no"], notify=False)
    assert client.post(NOTIFY, data=alipay.notice(order["order_no"])).get_data(as_text=True) == "success"
    clerk, admin = api.as_token(world.token("clerk")), api.as_token(world.token("admin"))

    def refund(amount: str) -> None:
        body = {"kind": "refund", "account_no": "1000000001", "amount": amount, "reason": "moving away"}
        request = clerk.post("/api/v1/billing/adjustments", body)
        assert request.status_code == 201, request.get_json()
        decided = admin.post(f"/api/v1/billing/adjustments/{request.get_json()['id']}/decision", {"approve": True})
        assert decided.status_code == 200, decided.get_json()

    assert alipay.trades[order["order_no"]].refunded == Decimal("0.00")
    refund("120.00")
    assert alipay.trades[order["order_no"]].refunded == Decimal("120.00")
    assert _status(world, api, order["order_no"])["status"] == "partly_refunded"
    refund("180.00")
    assert alipay.trades[order["order_no"]].refunded == Decimal("300.00")
    assert _status(world, api, order["order_no"])["status"] == "refunded"
    session.rollback()
    assert list(session.scalars(select(PaymentRefund.status))) == ["confirmed", "confirmed"]
    assert session.scalar(select(Account.balance).where(Account.account_no == "1000000001")) == Decimal("0.00")
