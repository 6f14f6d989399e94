"""The PDFs: an e-invoice laid out like China's electronic invoice (普通发票) and the monthly e-bill.

Built with ``core.pdf`` (the archive's A4 layout and CJK font). Every value from the database reaches reportlab's
markup through ``literal``; the QR code carries the verify address with the number and check code.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Spacer, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.models import Account
from core import clock
from core.pdf import a4_document, literal, register_font

from .models import Invoice

NOT_A_TAX_DOCUMENT = "本发票由网格通开具，仅供核对缴费，不作为税务凭证（not a tax document）"
ITEM_LABELS = {
    "tier_1": "第一档",
    "tier_2": "第二档",
    "tier_3": "第三档",
    "peak": "峰时段",
    "flat": "平时段",
    "valley": "谷时段",
    "energy": "电度电费",
}
CHANNEL_LABELS = {"counter": "柜台", "bank": "银行代扣", "app": "线上支付", "third_party": "第三方代收"}
_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS = ["", "拾", "佰", "仟"]
_GROUPS = ["", "万", "亿", "兆"]


def verify_url(base: str, invoice: Invoice) -> str:
    return f"{base}/invoices/verify?" + urlencode({"invoice_no": invoice.invoice_no, "check_code": invoice.check_code})


def _group(n: int) -> str:
    """A number below 10 000 in capital digits, zeros collapsed ('' for 0)."""
    out, zero = "", False
    for pos in range(3, -1, -1):
        digit = n // 10**pos % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS[digit] + _UNITS[pos]
    return out


def amount_in_words(amount: Decimal) -> str:
    """价税合计（大写）: 1234.50 -> 壹仟贰佰叁拾肆元伍角整, 0.05 -> 伍分, -300 (a red invoice) -> 负叁佰元整."""
    if amount < 0:
        return "负" + amount_in_words(-amount)
    cents = int((amount * 100).to_integral_value())
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    words, groups, index, need_zero = "", [], 0, False
    while yuan:
        groups.append((index, yuan % 10000))
        yuan //= 10000
        index += 1
    for index, value in reversed(groups):
        if value == 0:
            need_zero = bool(words)
            continue
        if words and (need_zero or value < 1000):
            words += "零"
        words += _group(value) + _GROUPS[index]
        need_zero = False
    text = words + "元" if words else ""
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif fen and text:
        text += "零"
    if fen:
        text += _DIGITS[fen] + "分"
    return text + ("整" if not fen else "") if text else "零元整"


def _styles() -> dict[str, ParagraphStyle]:
    font = register_font()
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=18, leading=24, alignment=1, spaceAfter=4),
        "body": ParagraphStyle("body", fontName=font, fontSize=10, leading=14, wordWrap="CJK"),
        "small": ParagraphStyle("small", fontName=font, fontSize=8, leading=11, wordWrap="CJK"),
        "warn": ParagraphStyle(
            "warn", fontName=font, fontSize=10, leading=14, alignment=1, textColor=colors.red, wordWrap="CJK"
        ),
    }


def _grid(font: str) -> TableStyle:
    return TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("FONTSIZE", (0, 0), (-1, -1), 9),
            ("GRID", (0, 0), (-1, -1), 0.6, colors.HexColor("#8b5a2b")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ]
    )


def _qr(text: str, size: float = 28 * mm) -> Drawing:
    widget = QrCodeWidget(text)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def invoice_pdf(invoice: Invoice, account_no: str, base_url: str, original_no: str = "") -> bytes:
    """The e-invoice as PDF bytes (its QR code leads to ``<base_url>/invoices/verify``); a red invoice says so in
    its title and names the invoice it cancels (``original_no``)."""
    s = _styles()
    font = s["body"].fontName
    buffer = io.BytesIO()
    doc = a4_document(buffer, title=f"电子发票 {invoice.invoice_no}", author=invoice.seller_name)
    issued = clock.local(invoice.issued_at)
    title = "电子发票（普通发票）" if invoice.tax_document else "电子发票（缴费凭证）"
    if invoice.original_id is not None:
        title = "电子发票（红字）" if invoice.tax_document else "电子发票（红字缴费凭证）"
    head = Table(
        [
            [
                _qr(verify_url(base_url, invoice)),
                literal(title, s["title"]),
                literal(
                    f"发票号码：{invoice.invoice_no}\n开票日期：{issued:%Y年%m月%d日}\n校验码：{invoice.check_code}",
                    s["small"],
                ),
            ]
        ],
        colWidths=[32 * mm, 76 * mm, 62 * mm],
    )
    head.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    parties = Table(
        [
            [
                literal("购买方信息", s["body"]),
                literal(f"名称：{invoice.buyer_name}\n户号：{account_no}", s["body"]),
                literal("销售方信息", s["body"]),
                literal(f"名称：{invoice.seller_name}", s["body"]),
            ]
        ],
        colWidths=[12 * mm, 73 * mm, 12 * mm, 73 * mm],
        rowHeights=[22 * mm],
    )
    parties.setStyle(_grid(font))
    covered = f"{invoice.period} 月缴费" if invoice.period else "缴费"
    rate = f"{invoice.tax_rate * 100:.0f}%"
    items = Table(
        [
            ["项目名称", "规格型号", "单位", "金额", "税率", "税额"],
            [
                literal(f"*供电*电费（{covered}）", s["body"]),
                "",
                "",
                _money(invoice.net_amount),
                rate,
                _money(invoice.tax_amount),
            ],
            ["合计", "", "", f"¥{_money(invoice.net_amount)}", "", f"¥{_money(invoice.tax_amount)}"],
            [
                "价税合计（大写）",
                literal(amount_in_words(invoice.amount), s["body"]),
                "",
                "（小写）",
                f"¥{_money(invoice.amount)}",
                "",
            ],
        ],
        colWidths=[50 * mm, 25 * mm, 15 * mm, 30 * mm, 20 * mm, 30 * mm],
    )
    items.setStyle(_grid(font))
    items.setStyle(TableStyle([("SPAN", (1, 3), (2, 3)), ("SPAN", (4, 3), (5, 3))]))
    notes = Table(
        [
            [
                literal("备注", s["body"]),
                literal(
                    (f"被红冲蓝字发票号码：{original_no}；退款冲红。" if invoice.original_id is not None else "")
                    + f"缴费记录 {len(invoice.payment_ids)} 笔；开票方 {invoice.issuer}",
                    s["small"],
                ),
            ]
        ],
        colWidths=[12 * mm, 158 * mm],
        rowHeights=[14 * mm],
    )
    notes.setStyle(_grid(font))
    story: list[Any] = [head, Spacer(1, 3 * mm), parties, items, notes, Spacer(1, 4 * mm)]
    if not invoice.tax_document:
        story.append(literal(NOT_A_TAX_DOCUMENT, s["warn"]))
    story.append(literal(f"查验：扫描二维码，或在 {base_url}/invoices/verify 输入发票号码和校验码。", s["small"]))
    doc.build(story)
    return buffer.getvalue()


def ebill_pdf(data: dict[str, Any]) -> bytes:
    """The monthly e-bill (``services.ebill``'s data) as PDF bytes."""
    s = _styles()
    font = s["body"].fontName
    account: Account = data["account"]
    bill = data["bill"]
    position = data["position"]
    buffer = io.BytesIO()
    seller = account.unit.name if account.unit is not None else ""
    doc = a4_document(buffer, title=f"电费电子账单 {bill.period} {account.account_no}", author=seller)
    info = Table(
        [
            ["户号", account.account_no, "账期", bill.period],
            ["户名", literal(account.holder_name, s["body"]), "供电单位", literal(seller, s["body"])],
            ["用电地址", literal(account.address or "", s["body"]), "缴费截止日", bill.due_date.isoformat()],
        ],
        colWidths=[22 * mm, 63 * mm, 22 * mm, 63 * mm],
    )
    info.setStyle(_grid(font))

    def num(value: Any) -> str:
        return "" if value is None else f"{value}"

    readings = Table(
        [
            ["上期示数", "本期示数", "倍率", "本期电量（千瓦时）"],
            [num(bill.start_reading), num(bill.end_reading), num(bill.multiplier), num(bill.kwh)],
        ],
        colWidths=[42 * mm, 42 * mm, 42 * mm, 44 * mm],
    )
    readings.setStyle(_grid(font))
    line_rows: list[list[Any]] = [["项目", "电量（千瓦时）", "单价（元）", "金额（元）"]]
    for line in data["lines"]:
        line_rows.append([ITEM_LABELS.get(line.item, line.item), num(line.kwh), num(line.price), _money(line.amount)])
    line_rows.append(["本期电费", "", "", _money(bill.amount)])
    lines = Table(line_rows, colWidths=[42 * mm, 42 * mm, 42 * mm, 44 * mm])
    lines.setStyle(_grid(font))
    pay_rows: list[list[Any]] = [["缴费时间", "渠道", "流水号", "金额（元）"]]
    for payment in data["payments"]:
        pay_rows.append(
            [
                f"{clock.local(payment.paid_at):%Y-%m-%d %H:%M}",
                CHANNEL_LABELS.get(payment.channel, payment.channel),
                literal(payment.reference or "", s["small"]),
                _money(payment.amount),
            ]
        )
    if len(pay_rows) == 1:
        pay_rows.append(["本月无缴费", "", "", ""])
    pays = Table(pay_rows, colWidths=[42 * mm, 30 * mm, 54 * mm, 44 * mm])
    pays.setStyle(_grid(font))
    balance = Table(
        [
            ["欠费本金", "违约金", "预存余额"],
            [_money(position.arrears), _money(position.late_fee_today), _money(position.balance)],
        ],
        colWidths=[56 * mm, 56 * mm, 58 * mm],
    )
    balance.setStyle(_grid(font))
    story: list[Any] = [
        literal(f"电费电子账单（{bill.period}）", s["title"]),
        info,
        Spacer(1, 4 * mm),
        literal("抄表示数", s["body"]),
        readings,
        Spacer(1, 4 * mm),
        literal("电费明细", s["body"]),
        lines,
        Spacer(1, 4 * mm),
        literal(f"{bill.period} 月缴费记录", s["body"]),
        pays,
        Spacer(1, 4 * mm),
        literal(f"账户结余（截至 {data['on'].isoformat()}）", s["body"]),
        balance,
    ]
    doc.build(story)
    return buffer.getvalue()


def document_pdf(session: Session, document: dict[str, Any], base_url: str) -> tuple[str, bytes]:
    """(file name, PDF) of an announced document (``billing.documents_issued``'s payload), for e-mailing."""
    from .services import ebill, find_invoice, original_invoice_no

    account = session.scalars(select(Account).where(Account.account_no == str(document["account_no"]))).one()
    if document["kind"] == "invoice":
        invoice = find_invoice(session, str(document["ref"]))
        return f"einvoice-{invoice.invoice_no}.pdf", invoice_pdf(
            invoice, account.account_no, base_url, original_invoice_no(session, invoice)
        )
    period = str(document["ref"])
    return f"ebill-{account.account_no}-{period}.pdf", ebill_pdf(ebill(session, account, period))
