"""The Alibaba Cloud SMS adapter speaks SendSms to an HTTP server: here a local one standing in for
dysmsapi.aliyuncs.com, which reads what arrives and answers as the provider does."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from notifications import sms_gateway
from notifications.interfaces import DeliveryError, Outgoing


class FakeProvider:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answer = {"Code": "OK", "Message": "OK", "BizId": "900", "RequestId": "r-1"}


@pytest.fixture
def provider() -> Iterator[tuple[FakeProvider, str]]:
    state = FakeProvider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            url = urlsplit(self.path)
            state.requests.append({"query": {k: v[0] for k, v in parse_qs(url.query).items()}, "headers": self.headers})
            body = json.dumps(state.answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _gateway(endpoint: str) -> Any:
    return sms_gateway(
        {
            "SMS_GATEWAY": "aliyun",
            "SMS_ALIYUN_ACCESS_KEY_ID": "LTAI-test",
            "SMS_ALIYUN_ACCESS_KEY_SECRET": "secret",
            "SMS_ALIYUN_SIGN_NAME": "国网电力",
            "SMS_ALIYUN_CODE_TEMPLATE": "SMS_100",
            "SMS_ALIYUN_NOTICE_TEMPLATE": "SMS_200",
            "SMS_ALIYUN_ENDPOINT": endpoint,
            "SMS_ALIYUN_PROTOCOL": "http",
        }
    )


def test_a_code_goes_out_signed_through_the_code_template(provider) -> None:
    state, endpoint = provider
    _gateway(endpoint).send_code("13800000000", "123456")
    [sent] = state.requests
    assert sent["headers"]["x-acs-action"] == "SendSms"
    assert sent["headers"]["Authorization"].startswith("ACS3-HMAC-SHA256 Credential=LTAI-test,")
    assert sent["query"] == {
        "PhoneNumbers": "13800000000",
        "SignName": "国网电力",
        "TemplateCode": "SMS_100",
        "TemplateParam": json.dumps({"code": "123456"}),
    }


def test_a_notice_goes_through_the_notice_template_cut_to_the_variables_length(provider) -> None:
    state, endpoint = provider
    _gateway(endpoint).send("13800000000", Outgoing(message_id=1, title="停电通知", body="检修" * 40))
    params = json.loads(state.requests[0]["query"]["TemplateParam"])
    assert state.requests[0]["query"]["TemplateCode"] == "SMS_200"
    assert params == {"title": "停电通知", "body": ("检修" * 40)[:35]}


@pytest.mark.parametrize(("code", "permanent"), [("isv.MOBILE_NUMBER_ILLEGAL", True), ("isp.SYSTEM_ERROR", False)])
def test_a_refusal_is_a_delivery_error_permanent_when_no_retry_helps(provider, code: str, permanent: bool) -> None:
    state, endpoint = provider
    state.answer = {"Code": code, "Message": "no", "RequestId": "r-2"}
    with pytest.raises(DeliveryError) as refused:
        _gateway(endpoint).send_code("13800000000", "123456")
    assert refused.value.permanent is permanent


def test_an_unreachable_gateway_is_a_retryable_delivery_error() -> None:
    with pytest.raises(DeliveryError) as refused:
        _gateway("127.0.0.1:9").send_code("13800000000", "123456")
    assert refused.value.permanent is False


def test_the_demo_gateway_logs_the_code() -> None:
    gateway = sms_gateway({"SMS_GATEWAY": "log"})
    gateway.send_code("13800000000", "654321")
    assert gateway.last_code("13800000000") == "654321"
    with pytest.raises(ValueError):
        sms_gateway({"SMS_GATEWAY": "pigeon"})
