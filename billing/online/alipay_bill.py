"""Alipay's trade statement (对账单, ``bill_type=trade``) as Alipay serves it: a zip of GBK-encoded CSV files.

``alipay.data.dataservice.bill.downloadurl.query`` answers an address of a zip holding, for a day,
``<pid>_<yyyymmdd>_业务明细.csv`` (one row per trade or refund) and ``<pid>_<yyyymmdd>_业务明细(汇总).csv`` (the
totals). The member names are GBK without the zip's UTF-8 flag. Each file is GBK text: ``#`` lines before the
header (``#支付宝业务明细查询``, ``#账号：[...]``, ``#起始日期：[...]``, a ``#---业务明细列表---`` rule), then the
header and the rows, then ``#`` lines after them (``#---业务明细列表结束---``, ``#交易合计：...``, ``#导出时间：...``).
Cells are padded with tabs and spaces (so spreadsheet programs keep long numbers as text).

``parse_trade_bill`` reads the payments (业务类型 ``交易``) as ``StatementRow``; refunds are not payments.
``trade_bill_zip`` writes the same format (the simulator serves it).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from core import clock

from .providers import StatementRow

DETAIL_SUFFIX = "业务明细.csv"
SUMMARY_SUFFIX = "业务明细(汇总).csv"
HEADER = [
    "支付宝交易号",
    "商户订单号",
    "业务类型",
    "商品名称",
    "创建时间",
    "完成时间",
    "门店编号",
    "门店名称",
    "操作员",
    "终端号",
    "对方账户",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝红包（元）",
    "集分宝（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "券核销金额（元）",
    "券名称",
    "商家红包消费金额（元）",
    "卡消费金额（元）",
    "退款批次号/请求号",
    "服务费（元）",
    "分润（元）",
    "备注",
]
PAYMENT = "交易"
MAX_MEMBER = 64 << 20  # a day's file larger than this is refused (a zip bomb, not a statement)


class StatementFormatError(ValueError):
    """The file is not an Alipay trade statement."""


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name: GBK bytes read by zipfile as cp437 unless the UTF-8 flag is set."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _key(name: str) -> str:
    return name.strip().replace("(", "（").replace(")", "）")


def parse_trade_bill(data: bytes) -> list[StatementRow]:
    """The payments of an Alipay trade statement zip (its 业务明细 file)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise StatementFormatError("not a zip file") from exc
    with archive:
        details = [
            i for i in archive.infolist() if _member_name(i).endswith(DETAIL_SUFFIX) and "汇总" not in _member_name(i)
        ]
        if len(details) != 1:
            raise StatementFormatError("no single 业务明细 file in the zip")
        if details[0].file_size > MAX_MEMBER:
            raise StatementFormatError("statement file too large")
        text = archive.read(details[0]).decode("gb18030")
    return parse_detail_csv(text)


def parse_detail_csv(text: str) -> list[StatementRow]:
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise StatementFormatError("no header")
    reader = csv.reader(lines)
    header = [_key(h) for h in next(reader)]
    try:
        at = {
            name: header.index(_key(name))
            for name in ("支付宝交易号", "商户订单号", "业务类型", "完成时间", "订单金额（元）")
        }
    except ValueError as exc:
        raise StatementFormatError(f"missing column: {exc}") from exc
    rows = []
    for cells in reader:
        cells = [c.strip() for c in cells]
        if len(cells) < len(header) or cells[at["业务类型"]] != PAYMENT:
            continue
        try:
            amount = Decimal(cells[at["订单金额（元）"]])
        except InvalidOperation as exc:
            raise StatementFormatError(f"bad amount {cells[at['订单金额（元）']]!r}") from exc
        rows.append(
            StatementRow(
                order_no=cells[at["商户订单号"]],
                trade_no=cells[at["支付宝交易号"]],
                amount=amount,
                paid_at=clock.from_provider(cells[at["完成时间"]]),
            )
        )
    return rows


class _GbkName(zipfile.ZipInfo):
    """A member whose name is stored in GBK without the UTF-8 flag, as Alipay's files are."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.filename.encode("gbk"), self.flag_bits


def trade_bill_zip(pid: str, day: dt.date, trades: Iterable[dict[str, str]]) -> bytes:
    """An Alipay trade statement zip for ``day``: ``trades`` carry ``trade_no``, ``out_trade_no``, ``subject``,
    ``created``, ``paid`` (Beijing time ``YYYY-MM-DD HH:MM:SS``) and ``amount``."""
    stamp = day.strftime("%Y%m%d")
    date_zh = day.strftime("%Y年%m月%d日")
    next_zh = (day + dt.timedelta(days=1)).strftime("%Y年%m月%d日")
    out = io.StringIO()
    out.write("#支付宝业务明细查询\n")
    out.write(f"#账号：[{pid}0156]\n")
    out.write(f"#起始日期：[{date_zh} 00:00:00]   终止日期：[{next_zh} 00:00:00]\n")
    out.write("#-----------------------------------------业务明细列表----------------------------------------\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    total, count = Decimal("0.00"), 0
    for t in trades:
        amount = Decimal(t["amount"])
        total, count = total + amount, count + 1
        row = [""] * len(HEADER)
        row[0], row[1], row[2], row[3] = t["trade_no"], t["out_trade_no"], PAYMENT, t.get("subject", "")
        row[4], row[5], row[11], row[12] = t["created"], t["paid"], f"{amount:.2f}", f"{amount:.2f}"
        row[22] = f"{-(amount * Decimal('0.006')).quantize(Decimal('0.01'))}"
        writer.writerow([f"{cell}\t" for cell in row])
    out.write("#-----------------------------------------业务明细列表结束------------------------------------\n")
    out.write(f"#交易合计：{count}笔，商家实收共{total:.2f}元，商家优惠共0.00元\n")
    out.write("#退款合计：0笔，商家实收退款共0.00元，商家优惠退款共0.00元\n")
    out.write(f"#导出时间：[{next_zh} 09:00:00]\n")
    summary = (
        "#支付宝业务汇总查询\n"
        f"#账号：[{pid}0156]\n"
        "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）\n"
        f",合计,{count},0,{total:.2f},{total:.2f}\n"
        f"#导出时间：[{next_zh} 09:00:00]\n"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in (
            (f"{pid}_{stamp}_{DETAIL_SUFFIX}", out.getvalue()),
            (f"{pid}_{stamp}_{SUMMARY_SUFFIX}", summary),
        ):
            info = _GbkName(name, date_time=(day.year, day.month, day.day, 9, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content.encode("gbk"))
    return buffer.getvalue()
