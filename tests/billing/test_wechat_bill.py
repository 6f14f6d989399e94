"""WeChat Pay's trade bill read as WeChat Pay writes it: backtick-prefixed cells, refund lines, the summary."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billing.online.wechat_bill import HEADER, StatementFormatError, parse_trade_bill, trade_bill
from core import clock

# a day as WeChat Pay's bill_type=ALL file gives it: one payment, one refund of an earlier payment
SAMPLE = (
    ",".join(HEADER)
    + "\r\n"
    + "`2026-03-02 10:00:05,`wx2421b1c4370ec43b,`10000100,`0,`,`4200000123202603021234567890,`GD2026030210000012345678,"
    "`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`MWEB,`SUCCESS,`OTHERS,`CNY,`1626.00,`0.00,`0,`0,`0.00,`0.00,`,`,`电费 1000000001,"
    "`,`9.75600,`0.60%,`1626.00,`0.00,`\r\n"
    + "`2026-03-02 11:20:00,`wx2421b1c4370ec43b,`10000100,`0,`,`4200000123202603011111111111,`GD2026030109000087654321,"
    "`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`MWEB,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50300000012026030200000001,"
    "`RF00000000010000000002,`120.00,`0.00,`ORIGINAL,`SUCCESS,`电费 1000000001,`,`-0.72000,`0.60%,`300.00,`120.00,`\r\n"
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n"
    "`2,`1626.00,`120.00,`0.00,`9.03600,`1926.00,`120.00\r\n"
).encode()


def test_a_bill_as_wechat_pay_writes_it() -> None:
    rows = parse_trade_bill(SAMPLE)
    assert [(r.order_no, r.trade_no, r.amount, r.paid_at) for r in rows] == [
        (
            "GD2026030210000012345678",
            "4200000123202603021234567890",
            Decimal("1626.00"),
            dt.datetime(2026, 3, 2, 10, 0, 5, tzinfo=clock.PROVIDER_OFFSET),
        )
    ]  # the refund line is no payment


def test_the_simulator_writes_what_the_parser_reads() -> None:
    trades = [
        {"paid": "2026-03-02 10:00:00", "trade_no": "42001", "out_trade_no": "GD1", "amount": "12.30", "subject": "a,b"}
    ]
    assert [(r.order_no, r.amount) for r in parse_trade_bill(trade_bill("wx1", "1900000109", trades))] == [
        ("GD1", Decimal("12.30"))
    ]
    assert parse_trade_bill(trade_bill("wx1", "1900000109", [])) == []


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (SAMPLE.split(b"\xe6\x80\xbb\xe4\xba\xa4\xe6\x98\x93")[0], "no summary"),  # cut before 总交易单数
        (SAMPLE.replace(b"`2,`1626.00", b"`3,`1626.00"), "summary says 3"),
        (SAMPLE.replace("商户订单号".encode(), b"order"), "missing columns"),
        (SAMPLE.replace(b"`1626.00,`0.00,`", b"`x,`0.00,`"), "unreadable amount"),
        ("交易时间".encode("gbk") + b",x\r\n", "not UTF-8"),
        (b"", "empty"),
    ],
)
def test_anything_else_is_refused(data: bytes, why: str) -> None:
    with pytest.raises(StatementFormatError, match=why):
        parse_trade_bill(data)
