"""The complaint file: a closed complaint, report or meter dispute becomes a PDF record in its account's dossier,
formed on the closing day, once; the audit finds closed complaints never filed."""

from __future__ import annotations

import datetime as dt

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from archive.models import Document
from archive.registry import blob_store
from audit.engine import Scope, run_rules
from audit.models import Finding
from audit.rules import RuleContext, get_rule
from core import clock
from servicedesk.models import Ticket
from tests.servicedesk.helpers import move, open_ticket

# which kinds go into the complaint file, written down here (not imported): a new kind fails until classified
FILED = {"complaint": True, "report": True, "meter_check": True}
NOT_FILED = {"fault_repair", "opinion", "suggestion", "praise", "enquiry"}


def test_the_split_covers_every_kind() -> None:
    from servicedesk.models import TicketKind

    assert set(FILED) | NOT_FILED == {k.value for k in TicketKind}


def _records(session, account_no: str) -> list[Document]:
    session.rollback()
    return list(
        session.scalars(
            select(Document).where(Document.account_no == account_no, Document.doc_type == "complaint_record")
        )
    )


@pytest.mark.parametrize("kind", sorted(FILED) + sorted(NOT_FILED - {"fault_repair"}))
def test_a_closed_ticket_is_filed_into_the_dossier_only_for_complaints_reports_and_meter_disputes(
    client, world, session, kind
) -> None:
    ticket_no = open_ticket(client, world, kind=kind, description="电表走得太快").get_json()["ticket_no"]
    assert move(client, world, ticket_no, to="closed", note="已处理").status_code == 200
    records = _records(session, world.own_account.account_no)
    if kind not in FILED:
        assert records == []
        return
    assert [r.document_no for r in records] == [ticket_no]
    record = records[0]
    closed_at = session.scalar(select(Ticket.closed_at).where(Ticket.ticket_no == ticket_no))
    assert record.formed_on == clock.local(closed_at).date()
    assert record.retention == "10y" and record.content_type == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(blob_store().open(record.sha256)).pages)
    assert ticket_no in text and "电表走得太快" in text


def test_a_closing_announced_twice_files_one_record(client, world, session, held_outbox) -> None:
    ticket_no = open_ticket(client, world).get_json()["ticket_no"]
    move(client, world, ticket_no, to="closed")
    [record] = held_outbox.messages("servicedesk.ticket_closed")
    held_outbox.relay()
    from archive.complaints import file_complaint_record

    assert file_complaint_record.delay(record).get() is None
    assert len(_records(session, world.own_account.account_no)) == 1


def test_the_audit_finds_a_closed_complaint_never_filed(client, world, session, held_outbox) -> None:
    filed_no = open_ticket(client, world).get_json()["ticket_no"]
    move(client, world, filed_no, to="closed")
    held_outbox.relay()
    lost_no = open_ticket(client, world).get_json()["ticket_no"]
    move(client, world, lost_no, to="closed")
    session.rollback()
    from core.db import db

    with db.transaction() as s:  # the filing of the second closing is lost with its message
        from core.outbox import OutboxMessage

        s.execute(OutboxMessage.__table__.delete())
    rule = get_rule("FL-COMPLAINT-UNFILED")
    assert rule is not None
    today = clock.today_local()
    run_rules(session, Scope(), RuleContext(today=today), rules=[rule])
    assert session.scalars(select(Finding.subject).where(Finding.rule == rule.code)).all() == []  # closed today
    run_rules(session, Scope(), RuleContext(today=today + dt.timedelta(days=2)), rules=[rule])
    session.commit()
    found = session.scalars(select(Finding.subject).where(Finding.rule == rule.code)).all()
    assert found == [f"ticket:{lost_no}"]


def test_a_reopened_complaint_closed_again_files_a_supplement_whose_pages_follow_the_first(
    client, world, session, held_outbox
) -> None:
    ticket_no = open_ticket(client, world, description="电表走得太快").get_json()["ticket_no"]
    move(client, world, ticket_no, to="closed", note="已处理")
    held_outbox.relay()
    reopened = client.post(
        f"/api/v1/tickets/{ticket_no}/reopen", json={"reason": "问题没有解决"}, headers=world.headers("customer")
    )
    assert reopened.status_code == 200, reopened.get_json()
    assert [e["action"] for e in reopened.get_json()["timeline"]][-1] == "reopened"
    move(client, world, ticket_no, to="closed", note="已更换电表")
    [record] = held_outbox.messages("servicedesk.ticket_closed")
    held_outbox.relay()
    first, supplement = sorted(_records(session, world.own_account.account_no), key=lambda d: d.id)
    assert (first.document_no, supplement.document_no) == (ticket_no, f"{ticket_no}-1")
    assert "补充" in supplement.title
    texts = [[p.extract_text() for p in PdfReader(blob_store().open(d.sha256)).pages] for d in (first, supplement)]
    numbers = [f"第 {n} 页" for n in range(1, first.pages + supplement.pages + 1)]
    assert [n in page for n, page in zip(numbers, texts[0] + texts[1], strict=True)] == [True] * len(numbers)
    assert "问题没有解决" in "".join(texts[1]) and "重新打开" in "".join(texts[1]) and "已更换电表" in "".join(texts[1])
    session.rollback()
    from archive.complaints import file_complaint_record

    assert file_complaint_record.delay(record).get() is None  # announced again: still one supplement
    assert len(_records(session, world.own_account.account_no)) == 2
    rule = get_rule("FL-COMPLAINT-UNFILED")
    assert rule is not None
    run_rules(session, Scope(), RuleContext(today=clock.today_local() + dt.timedelta(days=2)), rules=[rule])
    session.commit()
    assert session.scalars(select(Finding.subject).where(Finding.rule == rule.code)).all() == []


def test_a_reopened_complaint_without_its_supplement_is_found_by_the_audit(client, world, session, held_outbox) -> None:
    ticket_no = open_ticket(client, world).get_json()["ticket_no"]
    move(client, world, ticket_no, to="closed")
    held_outbox.relay()
    client.post(f"/api/v1/tickets/{ticket_no}/reopen", json={"reason": "没解决"}, headers=world.headers("customer"))
    move(client, world, ticket_no, to="closed")
    session.rollback()
    from core.db import db
    from core.outbox import OutboxMessage

    with db.transaction() as s:  # the second closing's filing is lost with its message
        s.execute(OutboxMessage.__table__.delete())
    rule = get_rule("FL-COMPLAINT-UNFILED")
    assert rule is not None
    run_rules(session, Scope(), RuleContext(today=clock.today_local() + dt.timedelta(days=2)), rules=[rule])
    session.commit()
    assert session.scalars(select(Finding.subject).where(Finding.rule == rule.code)).all() == [f"ticket:{ticket_no}"]
