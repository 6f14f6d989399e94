"""Errors are rendered in the reader's language: API messages and field problems, and the error pages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import Blueprint, abort

from core.errors import Conflict, InvalidInput, Problem
from webapp.errors import form_errors

from ..support import fix_now, staff_sign_in

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en-GB,en;q=0.8"}
HAN = re.compile(r"[\u4e00-\u9fff]")


def _error(response) -> dict:  # type: ignore[no-untyped-def]
    return response.get_json()["error"]


@pytest.mark.parametrize(
    ("language", "message", "required"),
    [(ZH, "部分输入无效。", "必填"), (EN, "Some of the input is not valid.", "required")],
)
def test_api_field_problems_in_the_readers_language(client, world, language, message, required) -> None:
    response = client.post("/api/v1/admin/units", json={"code": "U9"}, headers={**world.headers("admin"), **language})
    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "invalid_input" and error["message"] == message
    assert error["details"]["fields"] == {"name": required}
    assert error["details"]["problems"] == {"name": {"code": "required", "params": {}}}


def test_api_message_is_chinese_with_zh_cn_and_english_with_en(client, world) -> None:
    body = {"account_no": "1000000001", "period": "2026-01", "reading": "100"}
    assert client.post("/api/v1/billing/readings", json=body, headers=world.headers("clerk")).status_code == 201
    chinese = client.post("/api/v1/billing/readings", json=body, headers={**world.headers("clerk"), **ZH})
    english = client.post("/api/v1/billing/readings", json=body, headers={**world.headers("clerk"), **EN})
    assert chinese.status_code == english.status_code == 409
    assert _error(chinese)["code"] == _error(english)["code"] == "reading_exists"
    assert _error(chinese)["message"] == "2026-01 的抄表读数已存在；更正请提交调整申请。"
    assert _error(english)["message"] == "A reading for 2026-01 exists; corrections are adjustments."
    assert _error(english)["details"] == {"period": "2026-01"}


def test_without_a_language_the_api_answers_in_chinese(client, world) -> None:
    missing = client.get("/api/v1/accounts/2000000001", headers=world.headers("clerk"))
    assert missing.status_code == 404
    assert _error(missing) == {"code": "account_not_found", "message": "户号不存在。"}


def test_a_chosen_language_beats_the_browsers(client) -> None:
    page = client.get("/no-such-page?lang=en", headers=ZH)
    assert page.status_code == 404 and "Not found" in page.get_data(as_text=True)


def test_pydantic_problems_become_the_same_codes(client, world) -> None:
    body = {"username": "x" * 65, "password": "short", "role": "king", "unit_code": "UA", "extra": 1}
    response = client.post("/api/v1/admin/users", json=body, headers={**world.headers("admin"), **EN})
    problems = _error(response)["details"]["problems"]
    assert problems["username"] == {"code": "too_long", "params": {"max": 64}}
    assert problems["password"] == {"code": "too_short", "params": {"min": 10}}
    assert problems["role"]["code"] == "not_a_choice" and "clerk" in problems["role"]["params"]["allowed"]
    assert problems["extra"] == {"code": "unknown_field", "params": {}}
    assert _error(response)["details"]["fields"]["username"] == "at most 64 characters"
    unparsable = client.post("/api/v1/admin/units", data="{", headers={**world.headers("admin"), **EN})
    assert _error(unparsable) == {"code": "malformed_json", "message": "The request body is not valid JSON."}


def test_rows_of_a_file_are_reported_row_by_row(client, world, monkeypatch) -> None:
    fix_now(monkeypatch, dt.datetime(2026, 2, 12, tzinfo=dt.UTC))
    csv = "account_no,amount,paid_at,channel,reference\n1000000001,abc,2026-02-10T09:00:00+08:00,bank,B-1\n"
    response = client.post(
        "/api/v1/billing/payment-imports",
        data={"file": (__import__("io").BytesIO(csv.encode()), "p.csv")},
        headers={**world.headers("clerk"), **ZH},
        content_type="multipart/form-data",
    )
    error = _error(response)
    assert error["code"] == "payment_file_invalid"
    assert error["details"]["rows"] == {"2": {"amount": "须为正数，单位元，最多两位小数"}}
    assert error["details"]["row_problems"] == {"2": {"amount": {"code": "payment_amount", "params": {}}}}


@pytest.mark.parametrize(
    ("headers", "title", "text"), [(ZH, "未找到", "您要找的页面或记录不存在"), (EN, "Not found", "does not exist")]
)
def test_not_found_page_in_the_readers_language(client, headers, title, text) -> None:
    page = client.get("/no-such-page", headers=headers)
    html = page.get_data(as_text=True)
    assert page.status_code == 404 and f"<h1>{title}</h1>" in html and text in html


def test_forbidden_page_is_chinese(client, world) -> None:
    staff_sign_in(client, "clerk-a")
    page = client.get("/staff/units")
    assert page.status_code == 403
    html = page.get_data(as_text=True)
    assert "<h1>无权访问</h1>" in html and "您无权执行此操作。" in html


def test_csrf_failure_page_is_chinese(client) -> None:
    page = client.post("/login", data={"phone": "13900000001", "password": "x"})
    assert page.status_code == 400
    assert "表单已过期，请刷新页面后重试。" in page.get_data(as_text=True)


def test_too_many_attempts_page_and_api_reply_are_chinese(client, world) -> None:
    for _ in range(11):
        reply = client.post("/api/v1/auth/token", json={"username": "clerk-a", "password": "wrong"})
    assert reply.status_code == 429
    assert _error(reply) == {"code": "too_many_attempts", "message": "失败次数过多，请稍后再试。"}


def test_method_not_allowed_and_server_errors_are_chinese(app) -> None:
    from webapp import create_app

    fresh = create_app({"TESTING": True})
    bp = Blueprint("boom_page", __name__)

    @bp.get("/_boom")
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals")

    @bp.get("/_gone")
    def gone():  # type: ignore[no-untyped-def]
        abort(410)

    fresh.register_blueprint(bp)
    with fresh.test_client() as client:
        crashed = client.get("/_boom", headers=ZH).get_data(as_text=True)
        assert "<h1>出错了</h1>" in crashed and "secret internals" not in crashed
        assert "该地址不接受此类请求。" in client.post("/_boom", headers=ZH).get_data(as_text=True)
        gone = client.get("/_gone", headers=EN)
        assert gone.status_code == 410 and "The request could not be handled (HTTP 410)." in gone.get_data(as_text=True)


def test_form_errors_use_the_pages_labels_and_never_an_unlabelled_field_name(app) -> None:
    error = InvalidInput.fields({"title": Problem("required"), "secret_code": Problem("too_long", max=5)})
    with app.test_request_context(headers=ZH):
        shown = form_errors(error, {"title": "题名"})
    assert shown.summary == ["题名：必填", "最多 5 个字符"]
    assert shown.fields == {"title": "必填", "secret_code": "最多 5 个字符"}


def test_a_specific_error_leads_the_summary(app) -> None:
    with app.test_request_context(headers=EN):
        shown = form_errors(Conflict("dossier_exists", account_no="1000000001"), {})
        upload = form_errors(InvalidInput.fields({"file": Problem("file_empty")}, "file_empty"), {"file": "File"})
    assert shown.summary == ["Account 1000000001 already has a dossier."]
    assert upload.summary == ["File: The file is empty."]
    assert all(HAN.search(line) is None for line in shown.summary + upload.summary)


def test_a_users_saved_locale_beats_the_browsers(client, world, session) -> None:
    world.users["clerk"].locale = "en"
    session.commit()
    missing = client.get("/api/v1/accounts/2000000001", headers={**world.headers("clerk"), **ZH})
    assert _error(missing)["message"] == "No such account."
    chosen = client.get("/api/v1/accounts/2000000001?lang=zh_CN", headers=world.headers("clerk"))
    assert _error(chosen)["message"] == "户号不存在。"
