"""The clerk's pages through the Flask test client: ledger, counter payment and receipt, payment files,
approvals by a second person, scoping and roles."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from flask import g
from sqlalchemy import func, select

from billing.commands import RecordPayment
from billing.models import Adjustment, Payment, PaymentImport
from billing.payments import record_payment, request_hash
from core.identity import Role, create_user
from tests.billing.support import add_tariffs, bill_with
from tests.support import PASSWORD, csrf_token, fix_now, staff_sign_in

HEADER = "account_no,amount,paid_at,channel,reference\n"


def _payment_count(session) -> int:  # type: ignore[no-untyped-def]
    session.rollback()
    return int(session.scalar(select(func.count(Payment.id))) or 0)


@pytest.fixture
def billed(world, session):  # type: ignore[no-untyped-def]
    """Own account: 2026-01 200 kWh = 107.60 (due 02-15), 2026-02 100 kWh = 53.80 (due 03-15); the
    January bill paid at the counter on 02-10 (before its due date)."""
    add_tariffs(session)
    bill_with(session, world.own_account, "2026-01", 200)
    bill_with(session, world.own_account, "2026-02", 100)
    bill_with(session, world.foreign_account, "2026-01", 100)
    # seeded history: a counter payment of February, recorded directly (a hand entry is always "now")
    fields = {
        "account_no": "1000000001",
        "amount": Decimal("107.60"),
        "channel": "counter",
        "paid_at": dt.datetime(2026, 2, 10, 1, tzinfo=dt.UTC),
        "reference": "R-0001",
    }
    record_payment(
        session,
        world.own_account,
        fields,
        idempotency_key="seed-1",
        digest=request_hash(fields, True),
        actor_id=world.users[Role.CLERK].id,
    )
    session.commit()
    return world


def test_ledger_shows_bills_payments_and_hand_checked_position(client, billed, monkeypatch) -> None:
    # 2026-03-20: the February bill (53.80) is 5 days late: 53.80 x 0.001 x 5 = 0.27, charged as the 1.00 minimum
    monkeypatch.setattr("core.clock.today_local", lambda: dt.date(2026, 3, 20))
    staff_sign_in(client, "clerk-a")
    html = client.get("/staff/billing/accounts/1000000001").get_data(as_text=True)
    assert "¥107.60" in html and "¥53.80" in html  # the two bills
    assert "2026-02-15" in html and "2026-03-15" in html  # due dates
    assert "200.00" in html and "100.00" in html  # kWh
    # February's row: start and end readings, multiplier, kWh
    assert re.search(r"<td>2026-02</td><td[^>]*>200.00</td>\s*<td[^>]*>300.00</td>\s*<td[^>]*>1.00</td>", html)
    assert "已缴清" in html and "未缴" in html  # paid / unpaid
    assert "R-0001" in html and "柜台" in html  # the payment, its channel
    assert "2026-01：本金 ¥107.60，违约金 ¥0.00" in html  # where it went
    facts = re.sub(r"\s+", " ", html)
    assert "<dt>欠费</dt><dd>¥53.80</dd>" in facts
    assert "<dt>今日违约金</dt><dd>¥1.00</dd>" in facts
    assert "<dt>预存余额</dt><dd>¥0.00</dd>" in facts
    assert 'name="idempotency_key"' in html  # the clerk may record a payment


def test_counter_payment_is_recorded_once_on_double_submit_and_receipt_shows_it(client, billed, session) -> None:
    token = staff_sign_in(client, "clerk-a")
    page = client.get("/staff/billing/accounts/1000000001").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert key
    form = {"csrf_token": token, "idempotency_key": key.group(1), "amount": "60.00", "reference": "柜-42"}
    first = client.post("/staff/billing/accounts/1000000001/payments", data=form)
    second = client.post("/staff/billing/accounts/1000000001/payments", data=form)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert _payment_count(session) == 2  # the seeded one and this one, not a third
    payment = session.scalar(select(Payment).where(Payment.reference == "柜-42"))
    assert payment is not None and payment.channel == "counter" and payment.amount == Decimal("60.00")
    receipt = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "未重复记账" in receipt  # the second submit said so
    for text in ("电费缴费收据", str(payment.id), "1000000001", "张伟", "¥60.00", "柜-42", "clerk A", "柜台"):
        assert text in receipt, text
    applied = sum((a.principal + a.late_fee for a in payment.applications), Decimal(0))
    assert applied == Decimal("60.00")  # all of it went to the February bill (its late fee first)
    assert "2026-02" in receipt and "@media print" in receipt


def test_a_reused_form_with_another_amount_records_nothing(client, billed, session) -> None:
    token = staff_sign_in(client, "clerk-a")
    form = {"csrf_token": token, "idempotency_key": "k-1", "amount": "10.00", "reference": "R-9"}
    assert client.post("/staff/billing/accounts/1000000001/payments", data=form).status_code == 302
    reply = client.post("/staff/billing/accounts/1000000001/payments", data={**form, "amount": "11.00"})
    assert reply.status_code == 409
    assert _payment_count(session) == 2


def test_a_receipt_number_entered_again_on_a_new_form_names_the_first_payment(client, billed, session) -> None:
    token = staff_sign_in(client, "clerk-a")
    form = {"csrf_token": token, "idempotency_key": "form-1", "amount": "10.00", "reference": "GT-20261207-0001"}
    assert client.post("/staff/billing/accounts/1000000001/payments", data=form).status_code == 302
    first = session.scalar(select(Payment).where(Payment.reference == "GT-20261207-0001"))
    session.rollback()
    again = client.post("/staff/billing/accounts/1000000001/payments", data={**form, "idempotency_key": "form-2"})
    html = again.get_data(as_text=True)
    assert again.status_code == 409
    assert f"单据号 GT-20261207-0001 已用于第 {first.id} 号缴费" in html
    assert _payment_count(session) == 2


def test_bad_amount_is_reported_and_records_nothing(client, billed, session) -> None:
    token = staff_sign_in(client, "clerk-a")
    reply = client.post(
        "/staff/billing/accounts/1000000001/payments",
        data={"csrf_token": token, "idempotency_key": "k-2", "amount": "-3", "reference": ""},
    )
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert "金额（元）：须为正数" in html and "票据号或流水号：柜台缴费须填写票据号" in html  # both at once, in Chinese
    assert _payment_count(session) == 1


def test_foreign_account_and_its_payment_are_not_found(client, billed, session) -> None:
    token = staff_sign_in(client, "clerk-a")
    assert client.get("/staff/billing/accounts/2000000001").status_code == 404
    reply = client.post(
        "/staff/billing/accounts/2000000001/payments",
        data={"csrf_token": token, "idempotency_key": "k-3", "amount": "1.00", "reference": ""},
    )
    assert reply.status_code == 404
    assert _payment_count(session) == 1
    # a payment of unit B's account, recorded by B's own clerk
    clerk_b = create_user(session, "clerk-b", PASSWORD, Role.CLERK, billed.unit_b)
    fields = RecordPayment.parse(
        {"account_no": "2000000001", "amount": "5.00", "channel": "counter", "reference": "B"}
    ).fields()
    foreign, _ = record_payment(
        session,
        billed.foreign_account,
        fields,
        idempotency_key="b-1",
        digest=request_hash(fields, False),
        actor_id=clerk_b.id,
    )
    session.commit()
    assert client.get(f"/staff/billing/payments/{foreign.id}/receipt").status_code == 404
    assert "/staff/billing/accounts/2000000001" not in client.get("/staff/billing?q=20000").get_data(as_text=True)


def test_supervisor_reads_but_cannot_post_a_payment(client, billed, session) -> None:
    token = staff_sign_in(client, "supervisor-a")
    page = client.get("/staff/billing/accounts/1000000001")
    assert page.status_code == 200
    assert 'name="idempotency_key"' not in page.get_data(as_text=True)
    reply = client.post(
        "/staff/billing/accounts/1000000001/payments",
        data={"csrf_token": token, "idempotency_key": "k-4", "amount": "1.00", "reference": ""},
    )
    assert reply.status_code == 403
    assert _payment_count(session) == 1
    assert client.get("/staff/billing/approvals").status_code == 200
    assert client.get("/staff/billing/imports").status_code == 200


@pytest.mark.parametrize("username", ["archivist-a", "13900000001"])
def test_archivists_and_customers_have_no_clerk_pages(client, billed, username) -> None:  # type: ignore[no-untyped-def]
    if username == "archivist-a":
        staff_sign_in(client, username)
    else:  # a customer signs in on the portal
        page = client.get("/login")
        client.post(
            "/login",
            data={"phone": username, "password": PASSWORD, "csrf_token": csrf_token(page.get_data(as_text=True))},
        )
        assert client.get("/home").status_code == 200  # signed in
    for path in (
        "/staff/billing",
        "/staff/billing/accounts/1000000001",
        "/staff/billing/imports",
        "/staff/billing/approvals",
    ):
        assert client.get(path).status_code == 403, path


def test_clerk_nav_has_the_billing_pages(client, billed) -> None:
    staff_sign_in(client, "clerk-a")
    html = client.get("/staff/").get_data(as_text=True)
    for path in ("/staff/billing", "/staff/billing/imports", "/staff/billing/approvals"):
        assert f'href="{path}"' in html
    assert 'href="/staff/billing/accounts/1000000001"' in client.get("/staff/accounts/1000000001").get_data(
        as_text=True
    )
    found = client.get("/staff/billing?q=1000000001")
    assert found.status_code == 302 and found.headers["Location"].endswith("/staff/billing/accounts/1000000001")


def _upload(client, token: str, text: str, name: str = "bank.csv"):  # type: ignore[no-untyped-def]
    return client.post(
        "/staff/billing/imports",
        data={"csrf_token": token, "file": (io.BytesIO(text.encode()), name)},
        content_type="multipart/form-data",
    )


def test_import_good_file_shows_report_and_a_rerun_imports_nothing(client, billed, session, monkeypatch) -> None:
    fix_now(monkeypatch, dt.datetime(2026, 2, 25, tzinfo=dt.UTC))
    token = staff_sign_in(client, "clerk-a")
    text = HEADER + (
        "1000000001,10.00,2026-02-20T09:00:00+08:00,bank,B-1\n"
        "2000000001,10.00,2026-02-20T09:00:00+08:00,bank,B-2\n"
        "1000000001,10.00,2026-02-20T09:00:00+08:00,bank,B-1\n"
    )
    first = _upload(client, token, text)
    assert first.status_code == 302
    report = client.get(first.headers["Location"]).get_data(as_text=True)
    outcomes = re.findall(r'<tr><td>(\d+)</td>.*?<td class="outcome-(\w+)">([^<]+)</td>', report, re.S)
    assert outcomes == [
        ("2", "amount_mismatch", "金额不符"),
        ("3", "unknown_account", "户号不存在"),  # unit B's account is not the clerk's to credit
        ("4", "duplicate", "重复"),
    ]
    assert _payment_count(session) == 2
    again = _upload(client, token, text)
    assert again.status_code == 302
    assert _payment_count(session) == 2
    second = session.scalar(select(PaymentImport).order_by(PaymentImport.id.desc()))
    assert (second.matched, second.amount_mismatch, second.duplicate, second.unknown_account) == (0, 0, 2, 1)
    listing = client.get("/staff/billing/imports").get_data(as_text=True)
    assert listing.count("bank.csv") == 2


def test_import_bad_file_imports_nothing_and_says_why(client, billed, session) -> None:
    token = staff_sign_in(client, "clerk-a")
    text = HEADER + "1000000001,10.00,2026-02-20T09:00:00+08:00,bank,B-9\n1000000001,abc,2026-02-20,counter,\n"
    reply = _upload(client, token, text)
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert "未导入任何记录" in html and "<td>3</td>" in html  # the bad line is named
    assert _payment_count(session) == 1
    session.rollback()
    assert session.scalar(select(func.count(PaymentImport.id))) == 0
    assert _upload(client, token, "not,a,payment,file\n1,2,3,4\n").status_code == 422
    supervisor = staff_sign_in(client, "supervisor-a")
    assert _upload(client, supervisor, HEADER + "1000000001,1.00,2026-02-20T09:00:00+08:00,bank,S\n").status_code == 403


def _file_correction(client, token: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/staff/billing/accounts/1000000001/requests",
        data={"csrf_token": token, "kind": "correction", "period": "2026-02", "amount": "-3.80", "reason": "抄表错误"},
    )


def test_request_is_approved_by_another_clerk_never_by_its_requester(client, billed, session) -> None:
    token = staff_sign_in(client, "clerk-a")
    assert _file_correction(client, token).status_code == 302
    adj = session.scalar(select(Adjustment))
    assert adj is not None and adj.status == "pending"
    page = client.get("/staff/billing/approvals").get_data(as_text=True)
    assert "抄表错误" in page and 'value="approve"' not in page  # no button for one's own request
    refused = client.post(
        f"/staff/billing/approvals/{adj.id}/decision", data={"csrf_token": token, "decision": "approve", "note": "ok"}
    )
    assert refused.status_code == 302
    assert "另一位收费员" in client.get(refused.headers["Location"]).get_data(as_text=True)
    session.expire_all()
    assert session.get(Adjustment, adj.id).status == "pending"

    other = create_user(session, "clerk-a2", PASSWORD, Role.CLERK, billed.unit_a, name="clerk A2")
    session.commit()
    token = staff_sign_in(client, "clerk-a2")
    assert 'value="approve"' in client.get("/staff/billing/approvals").get_data(as_text=True)
    no_reason = client.post(
        f"/staff/billing/approvals/{adj.id}/decision", data={"csrf_token": token, "decision": "reject", "note": ""}
    )
    assert no_reason.status_code == 302
    session.expire_all()
    assert session.get(Adjustment, adj.id).status == "pending"
    done = client.post(
        f"/staff/billing/approvals/{adj.id}/decision",
        data={"csrf_token": token, "decision": "approve", "note": "核实无误"},
    )
    assert done.status_code == 302
    session.expire_all()
    decided = session.get(Adjustment, adj.id)
    assert decided.status == "approved" and decided.decided_by == other.id
    ledger = client.get("/staff/billing/accounts/1000000001").get_data(as_text=True)
    assert "¥50.00" in ledger  # February now charges 53.80 - 3.80
    assert "核实无误" in ledger


def test_supervisor_cannot_decide_and_bad_requests_are_reported(client, billed, session) -> None:
    token = staff_sign_in(client, "clerk-a")
    bad = client.post(
        "/staff/billing/accounts/1000000001/requests",
        data={"csrf_token": token, "kind": "refund", "period": "", "amount": "5.00", "reason": "多缴"},
    )
    assert bad.status_code == 422  # the balance is 0.00
    assert "不能超过预存余额 0.00" in bad.get_data(as_text=True)
    assert _file_correction(client, token).status_code == 302
    adj = session.scalar(select(Adjustment))
    supervisor = staff_sign_in(client, "supervisor-a")
    assert 'value="approve"' not in client.get("/staff/billing/approvals").get_data(as_text=True)
    reply = client.post(
        f"/staff/billing/approvals/{adj.id}/decision", data={"csrf_token": supervisor, "decision": "approve"}
    )
    assert reply.status_code == 403


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="simultaneous submits are tested on PostgreSQL (SQLite serialises every transaction)",
)
def test_simultaneous_submits_of_one_form_record_one_payment(app, billed, session) -> None:
    session.commit()
    clients = [app.test_client() for _ in range(4)]
    tokens = []
    for c in clients:
        g.pop("csrf_token", None)  # the test's app context is shared by these clients' requests: no stale token
        tokens.append(staff_sign_in(c, "clerk-a"))
    barrier = threading.Barrier(len(clients))

    def submit(i: int) -> tuple[int, str]:
        barrier.wait()
        form = {"csrf_token": tokens[i], "idempotency_key": "same-form", "amount": "20.00", "reference": "柜-7"}
        reply = clients[i].post("/staff/billing/accounts/1000000001/payments", data=form)
        return reply.status_code, reply.headers.get("Location", "")

    with ThreadPoolExecutor(len(clients)) as pool:
        results = list(pool.map(submit, range(len(clients))))
    assert {status for status, _ in results} == {302}
    assert len({location for _, location in results}) == 1
    assert _payment_count(session) == 2
