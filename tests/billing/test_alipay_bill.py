"""Alipay's trade statement file: a zip of GBK CSV files with '#' lines before and after the table, cells padded
with tabs, member names in GBK without the zip's UTF-8 flag; refunds are not payments."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest

from billing.online.alipay_bill import StatementFormatError, parse_trade_bill, trade_bill_zip
from core import clock

# A 业务明细 file as Alipay writes it: comment lines, the header, rows padded with tabs, a refund, the footer.
SAMPLE = """#支付宝业务明细查询
#账号：[20880000000000000156]
#起始日期：[2026年03月02日 00:00:00]   终止日期：[2026年03月03日 00:00:00]
#-----------------------------------------业务明细列表----------------------------------------
支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注
2026030222001400001000000001\t,GD2026030209595912345678\t,交易\t,电费 1000000001\t\
,2026-03-02 09:59:59\t,2026-03-02 10:00:05\t,\t,\t,\t,\t\
,138****0000\t,1626.00\t,1626.00\t,0.00\t,0.00\t,0.00\t,0.00\t,0.00\t,\t,0.00\t,0.00\t,\t,-9.76\t,0.00\t,\t
2026030222001400001000000001\t,GD2026030209595912345678\t,退款\t,电费 1000000001\t\
,2026-03-02 09:59:59\t,2026-03-02 11:00:00\t,\t,\t,\t,\t\
,138****0000\t,-26.00\t,-26.00\t,0.00\t,0.00\t,0.00\t,0.00\t,0.00\t,\t,0.00\t,0.00\t,RF1\t,0.16\t,0.00\t,\t
#-----------------------------------------业务明细列表结束------------------------------------
#交易合计：1笔，商家实收共1626.00元，商家优惠共0.00元
#退款合计：1笔，商家实收退款共-26.00元，商家优惠退款共0.00元
#导出时间：[2026年03月03日 09:00:00]
"""


class _GbkNamed(zipfile.ZipInfo):
    def _encodeFilenameFlags(self) -> tuple[bytes, int]:  # noqa: N802
        return self.filename.encode("gbk"), self.flag_bits


def _zip(members: dict[str, bytes], *, utf8_names: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            if utf8_names:
                archive.writestr(name, content)
            else:  # the names as Alipay stores them: GBK bytes, no UTF-8 flag (zipfile reads them as cp437)
                archive.writestr(_GbkNamed(name), content)
    return buffer.getvalue()


@pytest.mark.parametrize("utf8_names", [False, True])
def test_a_statement_as_alipay_writes_it_gives_its_payments_only(utf8_names: bool) -> None:
    data = _zip(
        {
            "20880000000000_20260302_业务明细.csv": SAMPLE.encode("gbk"),
            "20880000000000_20260302_业务明细(汇总).csv": "#支付宝业务汇总查询\n门店编号,门店名称\n,合计\n".encode(
                "gbk"
            ),
        },
        utf8_names=utf8_names,
    )
    [row] = parse_trade_bill(data)
    assert (row.order_no, row.trade_no, row.amount) == (
        "GD2026030209595912345678",
        "2026030222001400001000000001",
        Decimal("1626.00"),
    )
    assert row.paid_at == clock.from_provider("2026-03-02 10:00:05")


def test_the_simulators_file_is_alipays_format_and_reads_back() -> None:
    trades = [
        {"out_trade_no": f"GD{n}", "trade_no": f"T{n}", "subject": "电费 1000000001", "created": "2026-03-02 09:00:00",
         "paid": "2026-03-02 09:00:07", "amount": amount}
        for n, amount in enumerate(("100.00", "0.01", "12345.67"))
    ]  # fmt: skip
    data = trade_bill_zip("208800000000", dt.date(2026, 3, 2), trades)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        assert all(not i.flag_bits & 0x800 for i in infos)  # GBK names, as Alipay's
        names = sorted(i.filename.encode("cp437").decode("gbk") for i in infos)
        assert names == ["208800000000_20260302_业务明细(汇总).csv", "208800000000_20260302_业务明细.csv"]
        text = archive.read(infos[0]).decode("gbk")
    assert text.startswith("#支付宝业务明细查询") and "#交易合计：3笔" in text and "\t," in text
    rows = parse_trade_bill(data)
    assert [(r.order_no, r.trade_no, r.amount) for r in rows] == [
        (t["out_trade_no"], t["trade_no"], Decimal(t["amount"])) for t in trades
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"not a zip",
        _zip({"summary_业务明细(汇总).csv": b"x"}),
        _zip({"x_业务明细.csv": "#only comments\n".encode("gbk")}),
        _zip({"x_业务明细.csv": "商户订单号,订单金额（元）\nGD1,1.00\n".encode("gbk")}),
    ],
    ids=["not-zip", "no-detail-file", "no-header", "missing-columns"],
)
def test_what_is_no_statement_is_refused(data: bytes) -> None:
    with pytest.raises(StatementFormatError):
        parse_trade_bill(data)
