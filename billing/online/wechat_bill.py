"""WeChat Pay's trade bill (交易账单, ``GET /v3/bill/tradebill``) as WeChat Pay writes it.

The signed answer to ``/v3/bill/tradebill`` gives a ``download_url`` and the SHA1 of the bill; the file (gzip when
asked with ``tar_type=GZIP``) is UTF-8 CSV text:

- a header line (``HEADER`` for ``bill_type=ALL``: 交易时间, 公众账号ID, 商户号, …, 微信订单号, 商户订单号, …,
  交易状态, …, 订单金额, 申请退款金额, 费率备注);
- one line per trade or refund, every cell prefixed with a backtick (`` ` ``, so that spreadsheet programs keep
  long numbers as text);
- a summary header (总交易单数, 应结订单总金额, 退款总金额, 充值券退款总金额, 手续费总金额, 订单总金额, 申请退款总金额)
  and one backticked summary line.

``parse_trade_bill`` reads the payments (交易状态 ``SUCCESS``; refund lines are no payments) as ``StatementRow`` with
订单金额 as the amount, checks the row count against 总交易单数, and refuses anything else. ``trade_bill`` writes the
same format (the simulator serves it).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from core import clock

from .providers import StatementRow

HEADER = [
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
]
SUMMARY_HEADER = [
    "总交易单数",
    "应结订单总金额",
    "退款总金额",
    "充值券退款总金额",
    "手续费总金额",
    "订单总金额",
    "申请退款总金额",
]
NEEDED = ("交易时间", "微信订单号", "商户订单号", "交易状态", "订单金额")
PAID = "SUCCESS"


class StatementFormatError(ValueError):
    """The file is not a WeChat Pay trade bill (or not all of one)."""


def _cell(text: str) -> str:
    return text.strip().removeprefix("`").strip()


def parse_trade_bill(data: bytes) -> list[StatementRow]:
    """The paid trades of a trade bill (the file's bytes, already unzipped)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StatementFormatError("not UTF-8 text") from exc
    lines = [row for row in csv.reader(io.StringIO(text)) if any(c.strip() for c in row)]
    if not lines:
        raise StatementFormatError("empty")
    header = [c.strip() for c in lines[0]]
    missing = [name for name in NEEDED if name not in header]
    if missing:
        raise StatementFormatError(f"missing columns: {', '.join(missing)}")
    column = {name: header.index(name) for name in NEEDED}
    try:
        end = next(i for i, row in enumerate(lines) if row and row[0].strip() == SUMMARY_HEADER[0])
    except StopIteration:
        raise StatementFormatError("no summary (a cut file)") from None
    body = lines[1:end]
    if len(lines) < end + 2:
        raise StatementFormatError("no summary line")
    try:
        count = int(_cell(lines[end + 1][0]))
    except (ValueError, IndexError):
        raise StatementFormatError("unreadable summary") from None
    if count != len(body):
        raise StatementFormatError(f"summary says {count} lines, the file has {len(body)}")
    rows: list[StatementRow] = []
    for number, row in enumerate(body, start=2):
        if len(row) < len(header) or not row[0].strip().startswith("`"):
            raise StatementFormatError(f"line {number} is not a bill line")
        cells = {name: _cell(row[i]) for name, i in column.items()}
        if cells["交易状态"] != PAID:
            continue  # REFUND lines and others: no payment
        try:
            amount = Decimal(cells["订单金额"])
            paid_at = clock.from_provider(cells["交易时间"])
        except (InvalidOperation, ValueError):
            raise StatementFormatError(f"line {number}: unreadable amount or time") from None
        if not amount.is_finite():
            raise StatementFormatError(f"line {number}: unreadable amount")
        rows.append(
            StatementRow(order_no=cells["商户订单号"], trade_no=cells["微信订单号"], amount=amount, paid_at=paid_at)
        )
    return rows


def trade_bill(appid: str, mchid: str, trades: Iterable[dict[str, str]]) -> bytes:
    """A trade bill (``bill_type=ALL``) for ``trades`` (dicts: paid (Beijing time), trade_no, out_trade_no, amount,
    subject, openid; refunds are not written): UTF-8 CSV, cells prefixed with backticks, then the summary."""
    out = io.StringIO()
    out.write(",".join(HEADER) + "\r\n")
    count, total = 0, Decimal("0.00")
    for t in trades:
        amount = Decimal(t["amount"])
        cells = [
            t["paid"],
            appid,
            mchid,
            "0",
            "",
            t["trade_no"],
            t["out_trade_no"],
            t.get("openid", ""),
            "MWEB",
            PAID,
            "OTHERS",
            "CNY",
            f"{amount:.2f}",
            "0.00",
            "0",
            "0",
            "0.00",
            "0.00",
            "",
            "",
            t.get("subject", "").replace(",", " "),
            "",
            f"{amount * Decimal('0.006'):.5f}",
            "0.60%",
            f"{amount:.2f}",
            "0.00",
            "",
        ]
        out.write(",".join("`" + c for c in cells) + "\r\n")
        count, total = count + 1, total + amount
    out.write(",".join(SUMMARY_HEADER) + "\r\n")
    fee = total * Decimal("0.006")
    summary = [str(count), f"{total:.2f}", "0.00", "0.00", f"{fee:.5f}", f"{total:.2f}", "0.00"]
    out.write(",".join("`" + c for c in summary) + "\r\n")
    return out.getvalue().encode("utf-8")
