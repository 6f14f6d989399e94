"""Billing's commands: every problem at once, and the API and the clerk's pages refuse the same input with the same
code (a counter payment needs its receipt number, a rejection its reason, a waiver its bill, a payment file must
be there, an invoice choice is one of the list), and each role records only its channels."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from sqlalchemy import select

from billing.adjustments import request_adjustment
from billing.commands import DecideAdjustment, RecordPayment, RecordReading, RequestAdjustment
from billing.models import Adjustment, Channel
from core.errors import Forbidden, InvalidInput, Problem
from core.identity import Role
from tests.billing.support import add_tariffs, bill_with
from tests.support import PASSWORD, csrf_token, staff_sign_in
from webapp.errors import render

ZH = {"Accept-Language": "zh-CN"}


def _shown(app, label: str, code: str) -> str:  # type: ignore[no-untyped-def]
    """How the Chinese page shows ``code`` beside its label."""
    with app.test_request_context(headers=ZH):
        return f"{label}：{render(code)}"


def _problems(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    problems = response.get_json()["error"]["details"]["problems"]
    return {field: problem["code"] for field, problem in problems.items()}


def test_a_payment_reports_every_problem_at_once() -> None:
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    with pytest.raises(InvalidInput) as caught:
        RecordPayment.parse({"account_no": "", "amount": "1.234", "channel": "cash", "paid_at": future, "x": 1})
    codes = {field: problem.code for field, problem in caught.value.problems.items()}
    assert codes == {
        "account_no": "required",
        "amount": "payment_amount",
        "channel": "not_a_choice",
        "paid_at": "in_future",
        "x": "unknown_field",
    }
    assert set(caught.value.problems["channel"].params["allowed"]) == {c.value for c in Channel}


def test_a_payment_from_a_form_reads_blank_as_absent() -> None:
    command = RecordPayment.parse({"account_no": "1000000001", "amount": "5", "channel": "bank", "paid_at": " "})
    assert command.paid_at is None and command.amount == Decimal("5") and command.reference == ""


@pytest.mark.parametrize("channel", list(Channel))
@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.CLERK, Role.ADMIN, Role.ARCHIVIST, Role.SUPERVISOR])
def test_each_role_records_only_its_channels(role: str, channel: Channel) -> None:
    command = RecordPayment.parse({"account_no": "1", "amount": "5", "channel": channel, "reference": "R-1"})
    staff_channels = {Channel.COUNTER, Channel.BANK, Channel.THIRD_PARTY}
    # nobody records an online payment by hand, and customers record nothing
    allowed = {Role.CLERK: staff_channels, Role.ADMIN: staff_channels}.get(role, set())
    if channel in allowed:
        command.check_recorder(role)
    else:
        with pytest.raises(Forbidden) as refused:
            command.check_recorder(role)
        assert refused.value.code == "channel_not_allowed"


def test_counter_payment_without_receipt_number_is_refused_by_the_api_and_the_page(app, client, world, session) -> None:
    add_tariffs(session)
    bill_with(session, world.own_account, "2026-01", 100)
    session.commit()
    body = {"account_no": "1000000001", "amount": "10.00", "channel": "counter"}
    api = client.post("/api/v1/payments", json=body, headers={**world.headers("clerk"), "Idempotency-Key": "k-1"})
    assert api.status_code == 422 and _problems(api) == {"reference": "receipt_number_required"}
    token = staff_sign_in(client, "clerk-a")
    page = client.post(
        "/staff/billing/accounts/1000000001/payments",
        data={"csrf_token": token, "idempotency_key": "k-2", "amount": "10.00", "reference": ""},
        headers=ZH,
    )
    assert page.status_code == 422
    assert _shown(app, "票据号或流水号", "receipt_number_required") in page.get_data(as_text=True)


def test_a_rejection_without_a_reason_is_refused_by_the_api_and_the_page(app, client, world, session) -> None:
    add_tariffs(session)
    bill_with(session, world.own_account, "2026-01", 100)
    command = RequestAdjustment.parse(
        {"kind": "correction", "account_no": "1000000001", "period": "2026-01", "amount": "-1.00", "reason": "x"}
    )
    adj = request_adjustment(session, world.own_account, command, actor=world.users["admin"], on=dt.date(2026, 2, 1))
    session.commit()
    api = client.post(
        f"/api/v1/billing/adjustments/{adj.id}/decision", json={"approve": False}, headers=world.headers("clerk")
    )
    assert api.status_code == 422 and _problems(api) == {"note": "rejection_needs_reason"}
    token = staff_sign_in(client, "clerk-a")
    client.post(
        f"/staff/billing/approvals/{adj.id}/decision", data={"csrf_token": token, "decision": "reject", "note": " "}
    )
    page = client.get("/staff/billing/approvals", headers=ZH).get_data(as_text=True)
    assert _shown(app, "审批意见", "rejection_needs_reason") in page
    session.rollback()
    assert session.scalar(select(Adjustment.status)) == "pending"


def test_a_waiver_without_its_bill_is_refused_by_the_api_and_the_page(app, client, world, session) -> None:
    body = {"kind": "waiver", "account_no": "1000000001", "amount": "1.00", "reason": "停电"}
    api = client.post("/api/v1/billing/adjustments", json=body, headers=world.headers("clerk"))
    assert api.status_code == 422 and _problems(api) == {"period": "required"}
    token = staff_sign_in(client, "clerk-a")
    page = client.post(
        "/staff/billing/accounts/1000000001/requests",
        data={"csrf_token": token, "kind": "waiver", "period": "", "amount": "1.00", "reason": "停电"},
        headers=ZH,
    )
    assert page.status_code == 422
    assert _shown(app, "账单（退补和违约金减免时选择）", "required") in page.get_data(as_text=True)


def test_a_missing_payment_file_is_refused_by_the_api_and_the_page(app, client, world) -> None:
    api = client.post(
        "/api/v1/billing/payment-imports", data={}, headers=world.headers("clerk"), content_type="multipart/form-data"
    )
    assert api.status_code == 422 and _problems(api) == {"file": "required"}
    token = staff_sign_in(client, "clerk-a")
    page = client.post(
        "/staff/billing/imports",
        data={"csrf_token": token, "file": (io.BytesIO(b""), "")},
        headers=ZH,
        content_type="multipart/form-data",
    )
    assert page.status_code == 422
    assert _shown(app, "缴费文件（CSV）", "required") in page.get_data(as_text=True)


def test_a_refund_or_waiver_is_never_negative() -> None:
    for kind in ("refund", "waiver"):
        with pytest.raises(InvalidInput) as caught:
            RequestAdjustment.parse(
                {"kind": kind, "account_no": "1", "period": "2026-01", "amount": "-5", "reason": "x"}
            )
        assert caught.value.problems == {"amount": Problem("adjustment_amount")}
    correction = {"kind": "correction", "account_no": "1", "period": "2026-01", "amount": "-5", "reason": "x"}
    assert RequestAdjustment.parse(correction).bill_period == "2026-01"


def test_an_approval_needs_no_note() -> None:
    assert DecideAdjustment.parse({"approve": True}).note == ""


def test_a_binding_without_details_is_refused_by_the_api_and_the_portal_alike(app, client, world) -> None:
    body = {"account_no": "1000000001", "holder_name": "", "id_last4": "12"}
    api = client.post("/api/v1/me/accounts", json=body, headers=world.headers("customer"))
    assert api.status_code == 422 and _problems(api) == {"holder_name": "required", "id_last4": "too_short"}
    page_form = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"phone": "13900000001", "password": PASSWORD, "csrf_token": csrf_token(page_form)})
    token = csrf_token(client.get("/bind").get_data(as_text=True))
    page = client.post("/bind", data={**body, "csrf_token": token}, headers=ZH)
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert _shown(app, "户主姓名", "required") in html


def test_an_invoice_choice_out_of_the_list_is_refused_by_the_api_and_the_portal_alike(app, client, world) -> None:
    body = {"mode": "weekly", "email": True}
    api = client.put("/api/v1/accounts/1000000001/invoice-preferences", json=body, headers=world.headers("customer"))
    assert api.status_code == 422 and _problems(api) == {"mode": "not_a_choice"}
    page_form = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"phone": "13900000001", "password": PASSWORD, "csrf_token": csrf_token(page_form)})
    token = csrf_token(client.get("/invoices").get_data(as_text=True))
    form = {"account_no": "1000000001", "mode": "weekly", "email": "on", "csrf_token": token}
    page = client.post("/invoices", data=form, headers=ZH)
    assert page.status_code == 422
    with app.test_request_context(headers=ZH):
        shown = render("not_a_choice", api.get_json()["error"]["details"]["problems"]["mode"]["params"])
    assert f"发票：{shown}" in page.get_data(as_text=True)


def test_a_reading_is_a_reading_or_three_bands() -> None:
    with pytest.raises(InvalidInput) as caught:
        RecordReading.parse({"account_no": "1", "period": "2026-13", "peak": "5", "flat": "-1"})
    assert {f: p.code for f, p in caught.value.problems.items()} == {
        "period": "not_a_period",
        "flat": "band_reading",
        "valley": "band_reading",
    }
    assert RecordReading.parse({"account_no": "1", "period": "2026-03", "peak": 1, "flat": 2, "valley": 3}).total == 6
