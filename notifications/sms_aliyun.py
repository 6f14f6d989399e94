"""Alibaba Cloud SMS (短信服务, ``SendSms`` of dysmsapi 2017-05-25) through its official SDK.

Chinese SMS providers send only approved templates under an approved signature: one template for verification
codes (variable ``code``) and one for notices (variables ``title`` and ``body``). Settings: ``SMS_GATEWAY=aliyun``
and the ``SMS_ALIYUN_*`` keys (docs/notifications.md).
"""

from __future__ import annotations

import json
from typing import Any

from .interfaces import DeliveryError, Outgoing

# a notice's variables are cut to what a template variable takes
NOTICE_VARIABLE_MAX = 35
# the provider's codes that no retry will change (bad number, template or signature; the number's daily cap)
PERMANENT_CODES = frozenset(
    {
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.SMS_TEMPLATE_ILLEGAL",
        "isv.SMS_SIGNATURE_ILLEGAL",
        "isv.INVALID_PARAMETERS",
        "isv.BUSINESS_LIMIT_CONTROL",
        "isv.AMOUNT_NOT_ENOUGH",
    }
)


class AliyunSmsGateway:
    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        code_template: str,
        notice_template: str,
        endpoint: str = "dysmsapi.aliyuncs.com",
        protocol: str = "https",
        timeout_ms: int = 10_000,
    ):
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi import models as openapi

        config = openapi.Config(
            access_key_id=access_key_id,
            access_key_secret=access_key_secret,
            endpoint=endpoint,
            protocol=protocol,
            read_timeout=timeout_ms,
            connect_timeout=timeout_ms,
        )
        self.client = Client(config)
        self.sign_name = sign_name
        self.code_template = code_template
        self.notice_template = notice_template

    def _send(self, phone: str, template: str, params: dict[str, str]) -> None:
        from alibabacloud_dysmsapi20170525 import models

        request = models.SendSmsRequest(
            phone_numbers=phone,
            sign_name=self.sign_name,
            template_code=template,
            template_param=json.dumps(params, ensure_ascii=False),
        )
        try:
            reply: Any = self.client.send_sms(request)
        except Exception as exc:  # the SDK raises its own errors for transport and HTTP failures
            raise DeliveryError(f"SMS gateway unreachable: {type(exc).__name__}") from exc
        code = getattr(reply.body, "code", None)
        if code != "OK":
            raise DeliveryError(
                f"SMS refused: {code} {getattr(reply.body, 'message', '')}", permanent=code in PERMANENT_CODES
            )

    def send(self, phone: str, outgoing: Outgoing) -> None:
        title, body = outgoing.title[:NOTICE_VARIABLE_MAX], outgoing.body[:NOTICE_VARIABLE_MAX]
        self._send(phone, self.notice_template, {"title": title, "body": body})

    def send_code(self, phone: str, code: str) -> None:
        self._send(phone, self.code_template, {"code": code})
