"""Filing announces the document in its transaction; the archive's subscriber queues its indexing from that."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from archive.commands import FileDocument, WithdrawDocument
from archive.models import Document
from archive.registry import search_backend
from archive.search import SearchQuery
from archive.services import create_dossier, file_document, withdraw_document
from archive.topics import DOCUMENT_FILED
from core import outbox
from core.db import db
from tests.archive.helpers import FIELDS, pdf_bytes


def _file(session, world):  # type: ignore[no-untyped-def]
    dossier = create_dossier(session, world.own_account, world.users["archivist"])
    command = FileDocument.parse({**FIELDS, "file": io.BytesIO(pdf_bytes()), "filename": "合同.pdf"})
    return file_document(session, dossier, command, world.users["archivist"])


def _status(session, document_id: int) -> str:
    session.expire_all()
    status = session.scalar(select(Document.index_status).where(Document.id == document_id))
    session.rollback()  # SQLite: give the write lock back before the relay's task writes
    return status


def test_a_filing_rolled_back_announces_nothing(world, session, held_outbox) -> None:
    _file(session, world)
    session.rollback()
    assert held_outbox.messages() == []
    assert session.scalar(select(func.count()).select_from(Document)) == 0


def test_a_filed_document_is_indexed_from_its_announcement_once_however_often_relayed(
    world, session, held_outbox
) -> None:
    document = _file(session, world)
    session.commit()
    document_id = document.id
    assert held_outbox.messages(DOCUMENT_FILED) == [{"document_id": document_id, "account_no": "1000000001"}]
    assert _status(session, document_id) == "pending"  # nothing is queued until the relay hands the message over
    assert held_outbox.relay() == 1
    assert _status(session, document_id) == "indexed"
    with db.transaction() as other:  # relayed again, as after a relay that died before deleting its batch
        outbox.put(other, DOCUMENT_FILED, {"document_id": document_id, "account_no": "1000000001"})
    assert held_outbox.relay() == 1
    assert _status(session, document_id) == "indexed"
    assert search_backend().search(SearchQuery(q="供用电合同")).total == 1


def test_a_withdrawal_is_pending_until_the_document_is_indexed_again(world, session) -> None:
    document = _file(session, world)
    session.commit()  # eager tasks: the relay after the commit indexed it
    document_id = document.id
    assert _status(session, document_id) == "indexed"
    document = session.get(Document, document_id)
    first_indexed_at = document.indexed_at
    withdraw = WithdrawDocument.parse({"reason": "重复归档", "authorised_by": "王主任"})
    withdraw_document(session, document, world.users["archivist"], withdraw)
    assert document.index_status == "pending"  # a lost re-index task is sent again by archive-requeue-stale
    session.commit()
    assert _status(session, document_id) == "indexed"
    assert session.scalar(select(Document.indexed_at).where(Document.id == document_id)) > first_indexed_at
