"""Processed sheets (已办工单) filed by the system: the late-fee waiver's approval sheet (违约金减免申请及审批, from
billing) and the outage notice served on named accounts (停电通知单, from notifications).

Chapter 6 (2.4.3) puts the sheets of work already done into the customer's dossier by account number. The domain
that did the work announces it with the sheet's whole record (``billing.waiver_approved``,
``notifications.outage_sheets_due``); the archive reads none of their tables. Each record becomes a one-page A4 PDF
(the sheet's facts in a grid, signature lines) filed into the account's dossier, opened if the account has none.
Filing is idempotent: the sheet's document number (``JM-<adjustment>``, ``TD-<notice>``) is unique per account
and type, and a sheet already filed (and not withdrawn) is not filed again. The audit's ``FL-SHEET-UNFILED`` finds
the work whose sheet is still not in the dossier after the filing deadline.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from celery import shared_task
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from billing.models import Account
from core.db import db
from core.identity import Unit
from core.pdf import a4_document, literal, register_font

from .commands import FileDocument
from .models import Document
from .services import create_dossier, dossier_for, file_document
from .vocabulary import DOC_TYPE_LABELS_ZH, DocType

# the sheets filed this way, and how long they are kept
SHEET_TYPES = (DocType.LATE_FEE_WAIVER.value, DocType.OUTAGE_NOTICE.value)
RETENTION = "10y"


def waiver_number(adjustment_id: int) -> str:
    return f"JM-{adjustment_id}"


def outage_number(notice_id: int) -> str:
    return f"TD-{notice_id}"


def sheet_pdf(record: dict[str, Any]) -> bytes:
    """The sheet as an A4 PDF: its title, its facts in a grid, the signature lines."""
    font = register_font()
    heading = ParagraphStyle("heading", fontName=font, fontSize=16, leading=22, alignment=1, spaceAfter=8)
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=14, wordWrap="CJK")
    label = DOC_TYPE_LABELS_ZH.get(record["doc_type"], record["doc_type"])
    buffer = io.BytesIO()
    doc = a4_document(buffer, title=f"{label} {record['document_no']}", author=str(record.get("unit") or ""))
    rows = [["编号", record["document_no"]], ["户号", record["account_no"]]]
    rows += [[str(name), literal(str(value), body)] for name, value in record.get("facts", [])]
    table = Table(rows, colWidths=[34 * mm, 136 * mm])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTSIZE", (0, 0), (-1, -1), 10),
            ]
        )
    )
    signatures = Paragraph("经办人签字：______________　　审批人签字：______________　　日期：______________", body)
    doc.build([Paragraph(label, heading), table, Spacer(1, 12 * mm), signatures])
    return buffer.getvalue()


def already_filed(session: Session, account_no: str, doc_type: str, document_no: str) -> bool:
    found = session.scalar(
        select(Document.id).where(
            Document.account_no == account_no,
            Document.doc_type == doc_type,
            Document.document_no == document_no,
            Document.withdrawn_at.is_(None),
        )
    )
    return found is not None


def file_sheet(session: Session, record: dict[str, Any]) -> Document | None:
    """File the sheet into the account's dossier (opened if the account has none); None if already filed or the
    account is unknown."""
    account_no, doc_type, number = str(record["account_no"]), str(record["doc_type"]), str(record["document_no"])
    if doc_type not in SHEET_TYPES or already_filed(session, account_no, doc_type, number):
        return None
    account = session.scalar(select(Account).where(Account.account_no == account_no))
    if account is None:
        return None
    dossier = dossier_for(session, account_no) or create_dossier(session, account, None, source="system")
    filing_unit = session.get(Unit, dossier.filing_unit_id)
    command = FileDocument.parse(
        {
            "doc_type": doc_type,
            "title": str(record["title"]),
            "formed_on": dt.date.fromisoformat(str(record["formed_on"])),
            "responsible_unit": filing_unit.name if filing_unit else str(record.get("unit") or ""),
            "writing_material": "print",
            "paper_size": "A4",
            "retention": RETENTION,
            "document_no": number,
            "file": io.BytesIO(sheet_pdf(record)),
            "filename": f"{number}-{account_no}.pdf",
        }
    )
    return file_document(session, dossier, command, None)


@shared_task(name="archive.file_processed_sheet", acks_late=True, autoretry_for=(OperationalError,), max_retries=5)
def file_processed_sheet(record: dict[str, Any]) -> int | None:
    """File one processed sheet; the document's id, or None when it was filed before (idempotent)."""
    with db.transaction() as session:
        document = file_sheet(session, record)
        document_id = document.id if document is not None else None
    return document_id


def waivers_approved(payloads: list[dict[str, Any]]) -> None:
    """The archive's subscriber of ``billing.waiver_approved``: queue each sheet's filing."""
    for payload in payloads:
        file_processed_sheet.delay({**payload, "doc_type": DocType.LATE_FEE_WAIVER.value})


def outage_sheets_due(payloads: list[dict[str, Any]]) -> None:
    """The archive's subscriber of ``notifications.outage_sheets_due``: one sheet per account served."""
    for payload in payloads:
        for account_no in payload.get("account_nos", []):
            file_processed_sheet.delay({**payload, "account_no": account_no, "doc_type": DocType.OUTAGE_NOTICE.value})
