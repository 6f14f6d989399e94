"""Processed sheets filed by the system: an approved late-fee waiver's approval sheet and an outage notice served
on named accounts go into each account's dossier as a PDF, once; an area announcement files nothing; the audit
finds the work whose sheet never reached the dossier after the filing deadline (FL-SHEET-UNFILED)."""

from __future__ import annotations

import datetime as dt

from pypdf import PdfReader
from sqlalchemy import select

from archive.models import Document
from archive.registry import blob_store
from audit.engine import Scope, run_rules
from audit.models import Finding
from audit.rules import RuleContext, get_rule
from core import clock
from tests.billing.support import add_tariffs, bill_with
from tests.notifications.helpers import SQUARE

WHEN = {"title": "专线检修停电", "body": "10千伏专线检修", "starts_at": "2026-12-05T08:30:00+08:00"}
ENDS = "2026-12-05T17:30:00+08:00"


def _sheets(session, account_no: str, doc_type: str) -> list[Document]:
    session.rollback()
    return list(
        session.scalars(select(Document).where(Document.account_no == account_no, Document.doc_type == doc_type))
    )


def _text(document: Document) -> str:
    return "".join(page.extract_text() for page in PdfReader(blob_store().open(document.sha256)).pages)


def _findings(session, today: dt.date) -> list[str]:
    rule = get_rule("FL-SHEET-UNFILED")
    assert rule is not None
    run_rules(session, Scope(), RuleContext(today=today), rules=[rule])
    session.commit()
    return sorted(session.scalars(select(Finding.subject).where(Finding.rule == rule.code, Finding.status == "open")))


def _approve_waiver(world, session, api) -> int:  # type: ignore[no-untyped-def]
    add_tariffs(session)
    bill_with(session, world.own_account, "2026-01", 100)
    session.commit()
    body = {"kind": "waiver", "account_no": "1000000001", "period": "2026-01", "amount": "1.00", "reason": "住院"}
    created = api.as_token(world.token("clerk")).post("/api/v1/billing/adjustments", body)
    assert created.status_code == 201, created.get_json()
    adj_id = created.get_json()["id"]
    done = api.as_token(world.token("admin")).post(f"/api/v1/billing/adjustments/{adj_id}/decision", {"approve": True})
    assert done.get_json()["status"] == "approved"
    return int(adj_id)


def test_an_approved_waiver_files_its_approval_sheet_once(world, session, api) -> None:
    adj_id = _approve_waiver(world, session, api)
    [sheet] = _sheets(session, "1000000001", "late_fee_waiver")
    assert sheet.document_no == f"JM-{adj_id}" and sheet.formed_on == clock.today_local()
    assert sheet.content_type == "application/pdf" and sheet.retention == "10y"
    assert f"JM-{adj_id}" in _text(sheet) and "住院" in _text(sheet)
    from archive.sheets import file_processed_sheet

    record = {"doc_type": "late_fee_waiver", "account_no": "1000000001", "document_no": f"JM-{adj_id}",
              "title": "x", "formed_on": "2026-12-01"}  # fmt: skip
    session.rollback()
    assert file_processed_sheet.delay(record).get() is None  # a redelivery files nothing twice
    assert len(_sheets(session, "1000000001", "late_fee_waiver")) == 1
    later = clock.today_local() + dt.timedelta(days=60)
    assert _findings(session, later) == []


def test_a_waiver_whose_sheet_never_arrived_is_a_finding_after_the_deadline(world, session, api) -> None:
    adj_id = _approve_waiver(world, session, api)
    [sheet] = _sheets(session, "1000000001", "late_fee_waiver")
    sheet.withdrawn_at = clock.now_local()  # a withdrawn sheet is no longer in the dossier
    session.commit()
    today = clock.today_local()
    assert _findings(session, today + dt.timedelta(days=30)) == []  # inside the 30 days
    assert _findings(session, today + dt.timedelta(days=31)) == [f"sheet:1000000001:JM-{adj_id}"]
    evidence = session.scalar(select(Finding.evidence).where(Finding.rule == "FL-SHEET-UNFILED"))
    assert (evidence["source"], evidence["doc_type"], evidence["deadline_days"]) == ("waiver", "late_fee_waiver", 30)


def test_an_outage_served_on_named_accounts_files_a_sheet_into_each_dossier(client, world, session) -> None:
    body = {**WHEN, "ends_at": ENDS, "account_nos": [world.own_account.account_no]}
    response = client.post("/api/v1/notices/outages", json=body, headers=world.headers("clerk"))
    assert response.status_code == 202, response.get_json()
    notice_id = response.get_json()["notice_id"]
    [sheet] = _sheets(session, world.own_account.account_no, "outage_notice")
    assert sheet.document_no == f"TD-{notice_id}" and "专线检修停电" in _text(sheet)
    assert _findings(session, dt.date(2027, 3, 1)) == []


def test_an_area_announcement_files_nothing_and_is_no_finding(client, world, session) -> None:
    body = {**WHEN, "ends_at": ENDS, "area": SQUARE}
    assert client.post("/api/v1/notices/outages", json=body, headers=world.headers("clerk")).status_code == 202
    assert _sheets(session, world.own_account.account_no, "outage_notice") == []
    assert _findings(session, dt.date(2027, 3, 1)) == []


def test_an_outage_sheet_lost_is_a_finding_30_days_after_the_outage_ended(client, world, session) -> None:
    from core.db import db
    from core.outbox import OutboxMessage

    body = {**WHEN, "ends_at": ENDS, "account_nos": [world.own_account.account_no]}
    response = client.post("/api/v1/notices/outages", json=body, headers=world.headers("clerk"))
    notice_id = response.get_json()["notice_id"]
    session.rollback()
    with db.transaction() as s:  # the sheet is lost: withdrawn from the dossier
        from sqlalchemy import update

        s.execute(update(Document).where(Document.doc_type == "outage_notice").values(withdrawn_at=clock.now_local()))
        s.execute(OutboxMessage.__table__.delete())
    assert _findings(session, dt.date(2027, 1, 4)) == []  # the outage ended on 5 December: 30 days to file
    assert _findings(session, dt.date(2027, 1, 5)) == [f"sheet:{world.own_account.account_no}:TD-{notice_id}"]
