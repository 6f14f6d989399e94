"""Each step's sheet as a PDF, and its filing with the customer's papers into the account's dossier.

A done step's sheet (the application, the survey sheet, the supply plan reply, the check reports, the contract,
the installation record, the hand-over) is formed on the step's day. Papers wait until the application has an
account: a change's papers are filed as its steps are done, a new connection's all at once when its connection
step opens the account and its dossier, each with its own date, so the catalogue lists them in the order of the
work and pages them continuously. Filing is idempotent: a paper's document number is the application number
with the step's place in the flow (``-02``) or the upload's number (``-U7``), and a paper already in the dossier
is not filed again.
"""

from __future__ import annotations

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

from archive.commands import FileDocument
from archive.models import Document
from archive.services import create_dossier, dossier_for, file_document
from archive.vocabulary import DOC_TYPE_LABELS_ZH
from billing.models import Account
from core.db import db
from core.identity import Unit, User
from core.pdf import a4_document, literal, register_font

from . import flows, labels
from .models import Application, ApplicationStep, ApplicationUpload

RETENTION = "permanent"  # business handling papers are kept as long as the account
_UPLOAD_DOC_TYPE = "customer_application"  # the customer's papers belong to the application (用电申请)


def _facts(application: Application, step: ApplicationStep, handler: str, account_no: str | None) -> list[list[str]]:
    rows = [
        ["申请编号", application.application_no],
        ["业务类型", labels.TYPE_ZH[application.type]],
        ["户号", account_no or "（新装，接电时立户）"],
        ["申请人", application.applicant_name],
        ["联系电话", application.applicant_phone],
        ["用电地址", application.address],
        ["受理日期", application.received_on.isoformat()],
    ]
    if application.capacity_kva is not None:
        rows.append(["申请容量", f"{application.capacity_kva} kVA"])
    if application.category:
        rows.append(["用电类别", labels.CATEGORY_ZH.get(application.category, application.category)])
    if application.new_holder_name:
        rows.append(["新户名", application.new_holder_name])
    for name, value in (step.fields or {}).items():
        rows.append([labels.FIELD_ZH.get(name, name), labels.field_value(name, value)])
    rows += [["办理环节", labels.STEP_ZH[step.step]], ["完成日期", step.done_on.isoformat() if step.done_on else ""]]
    rows.append(["经办人", handler])
    return rows


def sheet_pdf(application: Application, step: ApplicationStep, *, handler: str, account_no: str | None) -> bytes:
    """The step's sheet: its title, the application's and the step's facts in a grid, the signature lines."""
    font = register_font()
    heading = ParagraphStyle("heading", fontName=font, fontSize=16, leading=22, alignment=1, spaceAfter=8)
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=14, wordWrap="CJK")
    title = paper_title(application, step.step)
    buffer = io.BytesIO()
    doc = a4_document(buffer, title=f"{title} {application.application_no}", author="GridDesk")
    table = Table(
        [[label, literal(str(value), body)] for label, value in _facts(application, step, handler, account_no)],
        colWidths=[34 * mm, 136 * mm],
    )
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
    signatures = Paragraph("客户签字：______________　　经办人签字：______________　　日期：______________", body)
    doc.build([Paragraph(title, heading), table, Spacer(1, 12 * mm), signatures])
    return buffer.getvalue()


def paper_title(application: Application, step: str) -> str:
    doc_type = next(s.paper for s in flows.steps_of(application.type) if s.name == step)
    return f"{labels.TYPE_ZH[application.type]}{DOC_TYPE_LABELS_ZH.get(doc_type or '', labels.STEP_ZH[step])}"


def sheet_number(application: Application, step: ApplicationStep) -> str:
    return f"{application.application_no}-{step.position + 1:02d}"


_RECORD_SHEET = "usage_record_sheet"  # 用户用电档案单: the new account's record card, in every dossier


def record_sheet_number(application: Application) -> str:
    return f"{application.application_no}-A"


def _opening_step(application: Application) -> str | None:
    return next((s.name for s in flows.steps_of(application.type) if s.applies), None)


def record_sheet_pdf(account: Account, unit_name: str, application: Application) -> bytes:
    """The customer record sheet (用户用电档案单) of the account a new connection opened."""
    font = register_font()
    heading = ParagraphStyle("heading", fontName=font, fontSize=16, leading=22, alignment=1, spaceAfter=8)
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=14, wordWrap="CJK")
    buffer = io.BytesIO()
    doc = a4_document(buffer, title=f"用户用电档案单 {account.account_no}", author=unit_name)
    rows = [
        ["户号", account.account_no],
        ["户名", account.holder_name],
        ["用电地址", account.address],
        ["用电类别", labels.CATEGORY_ZH.get(account.category, account.category)],
        ["合同容量", f"{account.capacity_kva} kVA"],
        ["电价", account.tariff_code],
        ["接电日期", account.connected_on.isoformat() if account.connected_on else ""],
        ["供电单位", unit_name],
        ["报装申请", application.application_no],
    ]
    table = Table([[k, literal(str(v or ""), body)] for k, v in rows], colWidths=[34 * mm, 136 * mm])
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
    signatures = Paragraph("建档人签字：______________　　日期：______________", body)
    doc.build([Paragraph("用户用电档案单", heading), table, Spacer(1, 12 * mm), signatures])
    return buffer.getvalue()


def _filed_numbers(session: Session, account_no: str, prefix: str) -> set[str]:
    return set(
        session.scalars(
            select(Document.document_no).where(
                Document.account_no == account_no,
                Document.document_no.like(f"{prefix}%"),
                Document.withdrawn_at.is_(None),
            )
        )
    )


def _file(session: Session, dossier: Any, unit_name: str, data: dict[str, Any], content: bytes, name: str) -> None:
    command = FileDocument.parse(
        {
            **data,
            "responsible_unit": unit_name,
            "writing_material": "print",
            "paper_size": "A4",
            "retention": RETENTION,
            "file": io.BytesIO(content),
            "filename": name,
        }
    )
    file_document(session, dossier, command, None)


def file_papers(session: Session, application: Application) -> int:
    """File the application's done steps' sheets and its uploads not yet in the account's dossier (opened if the
    account has none); how many were filed. Nothing before the application has an account."""
    if application.account_id is None:
        return 0
    account = session.get(Account, application.account_id)
    assert account is not None
    dossier = dossier_for(session, account.account_no) or create_dossier(session, account, None, source="connections")
    unit = session.get(Unit, dossier.filing_unit_id) or session.get(Unit, application.unit_id)
    unit_name = unit.name if unit else ""
    filed = _filed_numbers(session, account.account_no, application.application_no)
    count = 0
    papers = {s.name: s.paper for s in flows.steps_of(application.type)}
    record_no = record_sheet_number(application)
    opening = _opening_step(application) if application.type in flows.NEW_CONNECTIONS else None
    for step in application.steps:
        number = sheet_number(application, step)
        if step.done_on is not None and number not in filed and papers.get(step.step) is not None:
            handler = session.get(User, step.done_by_id) if step.done_by_id else None
            content = sheet_pdf(
                application,
                step,
                handler=(handler.name or handler.username) if handler else "",
                account_no=account.account_no,
            )
            data = {
                "doc_type": papers[step.step],
                "title": paper_title(application, step.step),
                "formed_on": step.done_on,
                "document_no": number,
            }
            _file(session, dossier, unit_name, data, content, f"{number}.pdf")
            count += 1
        if step.step == opening and step.done_on is not None and record_no not in filed:
            # the new account's record sheet, filed right after the connection's sheet (dates stay in order)
            data = {
                "doc_type": _RECORD_SHEET,
                "title": DOC_TYPE_LABELS_ZH[_RECORD_SHEET],
                "formed_on": step.done_on,
                "document_no": record_no,
            }
            _file(
                session, dossier, unit_name, data, record_sheet_pdf(account, unit_name, application), f"{record_no}.pdf"
            )
            count += 1
    uploads = session.scalars(select(ApplicationUpload).where(ApplicationUpload.application_id == application.id))
    for upload in uploads:
        number = f"{application.application_no}-U{upload.id}"
        if number in filed:
            continue
        title = upload.title or labels.UPLOAD_ZH[upload.kind]
        data = {
            "doc_type": _UPLOAD_DOC_TYPE,
            "title": f"[{title}]",
            "formed_on": application.received_on,
            "document_no": number,
        }
        extension = {"application/pdf": "pdf", "image/png": "png"}.get(upload.content_type, "jpg")
        _file(session, dossier, unit_name, data, upload.content, f"{number}.{extension}")
        count += 1
    return count


@shared_task(name="connections.file_papers", acks_late=True, autoretry_for=(OperationalError,), max_retries=5)
def file_papers_task(application_id: int) -> int:
    """File what the application has not yet filed; idempotent (document numbers), so a retry files nothing
    twice."""
    session = db.new_session()
    try:
        application = session.get(Application, application_id, with_for_update=True)
        count = file_papers(session, application) if application is not None else 0
        session.commit()
        return count
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def papers_due(payloads: list[dict[str, Any]]) -> None:
    """Business handling's subscriber of its own ``connections.papers_due``: queue each application's filing."""
    for application_id in sorted({int(p["application_id"]) for p in payloads}):
        file_papers_task.delay(application_id)
