"""The complaint file (客户投诉档案): each closed complaint, report of misconduct or meter dispute of an account is
filed into the account's dossier as a one-document PDF record, formed on the day the ticket closed.

The service desk announces the closed ticket with its whole record (``servicedesk.ticket_closed``); the archive
reads nothing of the service desk's tables. Filing is idempotent: the record's document number is the ticket
number, and a ticket already filed (and not withdrawn) is not filed again.

A ticket the reporter reopened and that closed again is filed again as a supplementary record (补充记录): its
document number is the ticket number and the times reopened (``<ticket_no>-1`` after the first reopening), it
carries the whole timeline with the reopening and its reason, and its pages are numbered on from the ticket's
earlier records (the first record's pages 1 and 2, the supplement's 3 and on), so the ticket's pages in the
dossier run continuously. The earlier record stays as filed: a filed document is never rewritten.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from celery import shared_task
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table, TableStyle
from sqlalchemy import func, or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from billing.models import Account
from core.db import db
from core.identity import Unit
from core.pdf import a4_document, literal
from core.pdf import register_font as _register_font

from .commands import FileDocument
from .models import Document
from .services import create_dossier, dossier_for, file_document
from .vocabulary import DocType

RETENTION = "10y"  # complaint records are kept ten years


def record_number(record: dict[str, Any]) -> str:
    """The record's document number: the ticket number, then ``-<n>`` for the record filed after the n-th
    reopening."""
    reopened = int(record.get("reopened") or 0)
    return str(record["ticket_no"]) + (f"-{reopened}" if reopened else "")


def record_pdf(record: dict[str, Any], first_page: int = 1) -> bytes:
    """The record as an A4 PDF: the ticket's facts in a grid, then its timeline; each page numbered at its foot
    from ``first_page`` on (a supplementary record continues the ticket's earlier records)."""
    font = _register_font()
    heading = ParagraphStyle("heading", fontName=font, fontSize=16, leading=22, alignment=1, spaceAfter=8)
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=14, wordWrap="CJK")
    buffer = io.BytesIO()
    supplement = int(record.get("reopened") or 0)
    doc = a4_document(buffer, title=f"客户投诉档案 {record_number(record)}", author=str(record.get("unit") or ""))
    grid = TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("FONTSIZE", (0, 0), (-1, -1), 10),
        ]
    )
    facts = [
        ["工单编号", record["ticket_no"]],
        ["类别", record["kind_label"] + ("（重复投诉）" if record.get("repeated") else "")],
        ["户号", record["account_no"]],
        ["受理时间", record["received_at"]],
        ["办结时间", record["closed_at"]],
        ["承办单位", literal(str(record.get("unit") or ""), body)],
        ["承办人", literal(str(record.get("handler") or ""), body)],
        ["诉求内容", literal(record["description"], body)],
        ["答复内容", literal(record.get("reply") or "", body)],
    ]
    if record.get("reopened"):
        facts.append(["重新打开", f"{record['reopened']} 次"])
    table = Table(facts, colWidths=[30 * mm, 140 * mm])
    table.setStyle(grid)
    steps = [["时间", "处理", "说明"]] + [
        [item["at"], item["action"], literal(item.get("note") or "", body)] for item in record.get("timeline", [])
    ]
    timeline = Table(steps, colWidths=[36 * mm, 28 * mm, 106 * mm], repeatRows=1)
    timeline.setStyle(grid)
    title = f"客户投诉档案（补充记录，第{supplement}次重新打开后）" if supplement else "客户投诉档案"
    story: list[Any] = [Paragraph(title, heading), table, Spacer(1, 6 * mm), Paragraph("处理过程", heading)]
    story.append(timeline)

    def page_number(canvas: Any, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 9)
        canvas.drawCentredString(A4[0] / 2, 10 * mm, f"第 {first_page + canvas.getPageNumber() - 1} 页")
        canvas.restoreState()

    doc.build(story, onFirstPage=page_number, onLaterPages=page_number)
    return buffer.getvalue()


def _earlier_pages(session: Session, account_no: str, ticket_no: str) -> int:
    """Pages of the ticket's records filed before (the first record and earlier supplements, not withdrawn)."""
    pages = session.scalar(
        select(func.coalesce(func.sum(Document.pages), 0)).where(
            Document.account_no == account_no,
            Document.doc_type == DocType.COMPLAINT_RECORD,
            or_(Document.document_no == ticket_no, Document.document_no.startswith(f"{ticket_no}-")),
            Document.withdrawn_at.is_(None),
        )
    )
    return int(pages or 0)


def already_filed(session: Session, account_no: str, ticket_no: str) -> bool:
    return (
        session.scalar(
            select(Document.id).where(
                Document.account_no == account_no,
                Document.doc_type == DocType.COMPLAINT_RECORD,
                Document.document_no == ticket_no,
                Document.withdrawn_at.is_(None),
            )
        )
        is not None
    )


def file_record(session: Session, record: dict[str, Any]) -> Document | None:
    """File the record into the account's dossier (opened if the account has none); None if already filed. After
    a reopening, the supplementary record (numbered ``<ticket_no>-<n>``, pages continuing the earlier ones)."""
    account_no, ticket_no = str(record["account_no"]), str(record["ticket_no"])
    number = record_number(record)
    if already_filed(session, account_no, number):
        return None
    account = session.scalar(select(Account).where(Account.account_no == account_no))
    if account is None:
        return None
    dossier = dossier_for(session, account_no) or create_dossier(session, account, None, source="servicedesk")
    filing_unit = session.get(Unit, dossier.filing_unit_id)
    command = FileDocument.parse(
        {
            "doc_type": DocType.COMPLAINT_RECORD.value,
            "title": f"{record['kind_label']}工单 {ticket_no} "
            + (f"补充处理记录（第{record['reopened']}次重新打开）" if number != ticket_no else "处理记录"),
            "formed_on": dt.date.fromisoformat(str(record["closed_on"])),
            "responsible_unit": filing_unit.name if filing_unit else str(record.get("unit") or "95598"),
            "writing_material": "print",
            "paper_size": "A4",
            "retention": RETENTION,
            "document_no": number,
            "file": io.BytesIO(record_pdf(record, _earlier_pages(session, account_no, ticket_no) + 1)),
            "filename": f"complaint-{number}.pdf",
        }
    )
    return file_document(session, dossier, command, None)


@shared_task(name="archive.file_complaint_record", acks_late=True, autoretry_for=(OperationalError,), max_retries=5)
def file_complaint_record(record: dict[str, Any]) -> int | None:
    """File a closed ticket's record into its account's dossier; the document's id, or None when it was filed
    before. Idempotent: the ticket number is the record's document number."""
    with db.transaction() as session:
        document = file_record(session, record)
        document_id = document.id if document is not None else None
    return document_id


def file_closed_tickets(payloads: list[dict[str, Any]]) -> None:
    """The archive's subscriber of ``servicedesk.ticket_closed``: queue each record's filing."""
    for payload in payloads:
        file_complaint_record.delay(payload)
