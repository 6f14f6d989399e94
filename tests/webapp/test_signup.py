"""Sign-up proves the phone with an SMS code, and one address cannot open accounts or send codes without end."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.identity import User
from notifications import runtime
from tests.support import csrf_token, sign_up_code

BODY = {"password": "long-enough", "name": "王芳"}


def _customers(session) -> int:  # type: ignore[no-untyped-def]
    session.rollback()
    return session.scalar(select(func.count()).select_from(User).where(User.role == "customer"))


def test_a_sign_up_without_the_right_code_opens_no_account(api, client, session) -> None:
    code = sign_up_code(client, "13712345678")
    wrong = "000000" if code != "000000" else "111111"
    reply = api.post("/api/v1/customers", {**BODY, "phone": "13712345678", "code": wrong})
    assert reply.status_code == 422
    assert reply.get_json()["error"]["details"]["problems"]["code"]["code"] == "wrong_code"
    other_phone = api.post("/api/v1/customers", {**BODY, "phone": "13712345679", "code": code})
    assert other_phone.get_json()["error"]["details"]["problems"]["code"]["code"] == "code_expired"
    assert _customers(session) == 0
    assert api.post("/api/v1/customers", {**BODY, "phone": "13712345678", "code": code}).status_code == 201
    assert _customers(session) == 1


def test_a_code_is_not_sent_to_a_registered_number(client, world) -> None:
    reply = client.post("/api/v1/customers/verification-codes", json={"phone": "13900000001"})
    assert (reply.status_code, reply.get_json()["error"]["code"]) == (409, "username_taken")


def test_one_number_gets_one_code_a_minute(client) -> None:
    sign_up_code(client, "13712345678")
    again = client.post("/api/v1/customers/verification-codes", json={"phone": "13712345678"})
    assert (again.status_code, again.get_json()["error"]["code"]) == (429, "code_sent_recently")


def test_one_address_opens_only_so_many_accounts(app, api, client, session) -> None:
    """30 accounts a minute came from one address."""
    app.config["RATELIMIT_SIGNUP"] = "3 per hour"
    try:
        for n in range(3):
            phone = f"1371234560{n}"
            assert (
                api.post("/api/v1/customers", {**BODY, "phone": phone, "code": sign_up_code(client, phone)}).status_code
                == 201
            )
        phone = "13712345609"
        refused = api.post("/api/v1/customers", {**BODY, "phone": phone, "code": sign_up_code(client, phone)})
        assert (refused.status_code, refused.get_json()["error"]["code"]) == (429, "too_many_attempts")
        assert _customers(session) == 3
    finally:
        app.config["RATELIMIT_SIGNUP"] = "10 per hour;30 per day"


def test_one_address_sends_only_so_many_codes(app, client) -> None:
    app.config["RATELIMIT_SMS_CODE"] = "2 per hour"
    try:
        sign_up_code(client, "13712345601")
        sign_up_code(client, "13712345602")
        refused = client.post("/api/v1/customers/verification-codes", json={"phone": "13712345603"})
        assert refused.status_code == 429
        assert runtime.current().sms.last_code("13712345603") is None
    finally:
        app.config["RATELIMIT_SMS_CODE"] = "5 per hour;20 per day"


def test_the_sign_up_page_sends_the_code_then_asks_for_the_rest(client, session) -> None:
    form = {"phone": "13612345678", "name": "王芳", "password": "long-enough", "password2": "long-enough"}
    token = csrf_token(client.get("/signup").get_data(as_text=True))
    sent = client.post("/signup/code", data={"phone": form["phone"], "csrf_token": token})
    html = sent.get_data(as_text=True)
    assert sent.status_code == 200 and "验证码已发往该号码" in html and 'value="13612345678"' in html
    code = runtime.current().sms.last_code("13612345678")
    assert code is not None
    done = client.post("/signup", data={**form, "code": code, "csrf_token": csrf_token(html)})
    assert done.status_code == 302
    assert _customers(session) == 1


@pytest.mark.parametrize("phone", ["12", "1361234567x"])
def test_the_sign_up_page_refuses_to_send_to_a_bad_number(client, phone: str) -> None:
    token = csrf_token(client.get("/signup").get_data(as_text=True))
    reply = client.post("/signup/code", data={"phone": phone, "csrf_token": token})
    assert reply.status_code == 422 and "须为11位手机号码" in reply.get_data(as_text=True)
