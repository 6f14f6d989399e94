"""The printable dossier (GB/T 11822-2008 forms): cover 案卷封面, catalog 卷内目录, reference sheet 备考表.

One A4 PDF with the embedded CJK font of ``core.pdf``. These sheets are not paginated (docs/archive.md).
"""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, Spacer, Table, TableStyle

from core import clock
from core.pdf import FONT_NAME, a4_document, literal, register_font  # noqa: F401  (FONT_NAME: tests)

from .models import Dossier
from .queries import cover
from .services import catalog
from .vocabulary import RETENTION_LABELS_ZH


def _date8(value: Any) -> str:
    return value.strftime("%Y%m%d") if value else ""


def _signed(name: str, signer: Any, at: Any) -> str:
    """A person's line of the reference sheet: the name, and the electronic signature (who, local time) if signed."""
    if signer is None or at is None:
        return name or ""
    return f"{name}（电子签名：{signer.name}，{clock.local(at):%Y-%m-%d %H:%M}）"


def dossier_pdf(dossier: Dossier) -> bytes:
    """Cover, catalog and reference sheet of the dossier as PDF bytes."""
    font = register_font()
    title_style = ParagraphStyle("title", fontName=font, fontSize=20, leading=28, alignment=1, spaceAfter=12)
    heading = ParagraphStyle("heading", fontName=font, fontSize=16, leading=22, alignment=1, spaceAfter=8)
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=14, wordWrap="CJK")
    small = ParagraphStyle("small", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    info = cover(dossier)
    entries = catalog(dossier)
    buffer = io.BytesIO()
    doc = a4_document(buffer, title=f"{dossier.archive_code} {dossier.title}", author=info["filing_unit"])
    grid = TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("FONTSIZE", (0, 0), (-1, -1), 10),
        ]
    )
    story: list[Any] = [Spacer(1, 30 * mm), Paragraph("案卷封面", title_style), Spacer(1, 10 * mm)]
    cover_rows = [
        ["档号", info["archive_code"]],
        ["案卷题名", literal(info["title"], body)],
        ["立卷单位", info["filing_unit"]],
        ["起止日期", f"{_date8(info['start_date'])} — {_date8(info['end_date'])}"],
        ["保管期限", RETENTION_LABELS_ZH.get(info["retention"], info["retention"])],
        ["密级", info["classification"]],
        ["户号", dossier.account_no],
        ["户名", info["holder_name"]],
    ]
    cover_table = Table(cover_rows, colWidths=[35 * mm, 120 * mm], rowHeights=14 * mm)
    cover_table.setStyle(grid)
    story += [cover_table, PageBreak(), Paragraph("卷内目录", heading)]
    header = ["序号", "文件编号", "责任者", "题名", "日期", "页号", "备注"]
    rows: list[list[Any]] = [header]
    for entry in entries:
        values = entry.values
        shown = f"[{values['title']}]" if values["title_supplied"] else values["title"]
        pages = str(entry.page_from) if entry.page_from == entry.page_to else f"{entry.page_from}-{entry.page_to}"
        rows.append(
            [
                str(entry.item_no),
                literal(values["document_no"] or "", small),
                literal(values["responsible_unit"], small),
                literal(shown, small),
                _date8(values["formed_on"]),
                pages,
                literal("" if values["handover_id"] else "无交接记录", small),
            ]
        )
    catalog_table = Table(rows, colWidths=[12 * mm, 24 * mm, 28 * mm, 54 * mm, 20 * mm, 16 * mm, 16 * mm], repeatRows=1)
    catalog_table.setStyle(grid)
    page_count = entries[-1].page_to if entries else 0
    withdrawn = [d for d in dossier.documents if d.withdrawn]
    notes = dossier.notes or ""
    if withdrawn:
        notes += "".join(f"\n撤出：{d.title}（{_date8(d.withdrawn_at)}）" for d in withdrawn)
    story += [catalog_table, PageBreak(), Paragraph("备考表", heading), Spacer(1, 6 * mm)]
    reference_rows = [
        [
            "本卷情况说明",
            literal(f"本卷共有文件 {len(entries)} 件，{page_count} 页。" + notes, body),
        ],
        ["立卷人", literal(_signed(dossier.filer_name, dossier.filer_signed_by, dossier.filer_signed_at), body)],
        ["检查人", literal(_signed(dossier.checker_name, dossier.checker_signed_by, dossier.checker_signed_at), body)],
        ["立卷时间", _date8(dossier.created_at)],
        ["检查时间", _date8(dossier.checked_on)],
    ]
    reference_table = Table(
        reference_rows, colWidths=[35 * mm, 120 * mm], rowHeights=[60 * mm, 12 * mm, 12 * mm, 12 * mm, 12 * mm]
    )
    reference_table.setStyle(grid)
    story.append(reference_table)
    doc.build(story)
    return buffer.getvalue()
