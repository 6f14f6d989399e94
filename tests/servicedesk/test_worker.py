"""A real Celery worker on Redis: a closed complaint's notices reach the reporter and its record the dossier."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from archive.models import Document
from notifications.models import Message, Notice
from tests.notifications.test_worker import _count, _wait_until
from tests.servicedesk.helpers import move, open_ticket

pytestmark = pytest.mark.service


def test_a_closed_complaint_is_told_to_the_reporter_and_filed_by_the_worker(
    client, world, session, live_worker
) -> None:
    ticket_no = open_ticket(client, world).get_json()["ticket_no"]
    assert move(client, world, ticket_no, to="contacted").status_code == 200
    assert move(client, world, ticket_no, to="closed", note="已核实处理").status_code == 200
    customer = world.users["customer"].id
    told = (
        select(func.count())
        .select_from(Message)
        .join(Notice, Notice.id == Message.notice_id)
        .where(Message.user_id == customer, Notice.kind == "ticket_update")
    )
    _wait_until(lambda: _count(session, told) == 3)  # received, contacted, closed
    filed = (
        select(func.count())
        .select_from(Document)
        .where(Document.doc_type == "complaint_record", Document.document_no == ticket_no)
    )
    _wait_until(lambda: _count(session, filed) == 1)
