"""Index maintenance: verify's fingerprints from plain rows agree with the entries the index is written from."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from archive.maintenance import stored_states
from archive.models import Document, DocumentText, Dossier
from archive.search import entry_for
from tests.archive.helpers import file_via_api, open_dossier, pdf_bytes


def test_stored_states_fingerprint_what_entry_for_indexes(client, world, session):
    token = world.token("archivist")
    headers = world.headers("archivist")
    open_dossier(client, token, "1000000001")
    ids = [
        file_via_api(
            client, token, "1000000001", pdf_bytes(f"第{i}份停电通知：线路检修。"), title=f"通知{i}"
        ).get_json()["id"]
        for i in range(4)
    ]
    corrected = client.post(
        f"/api/v1/archive/documents/{ids[0]}/corrections",
        json={
            "changes": {"title": "更正后的题名", "title_supplied": True, "formed_on": "2023-12-01"},
            "reason": "题名录入错误",
            "authorised_by": "王主任",
        },
        headers=headers,
    )
    assert corrected.status_code == 201, corrected.get_json()
    again = client.post(
        f"/api/v1/archive/documents/{ids[0]}/corrections",
        json={"changes": {"title": "再次更正"}, "reason": "再次核对", "authorised_by": "王主任"},
        headers=headers,
    )
    assert again.status_code == 201, again.get_json()
    withdrawn = client.post(
        f"/api/v1/archive/documents/{ids[1]}/withdrawal",
        json={"reason": "重复归档", "authorised_by": "王主任"},
        headers=headers,
    )
    assert withdrawn.status_code == 201
    session.rollback()
    session.execute(delete(DocumentText).where(DocumentText.document_id == ids[2]))  # no text extracted
    session.commit()

    expected = {}
    for document in session.scalars(
        select(Document).options(
            selectinload(Document.events),
            selectinload(Document.text),
            selectinload(Document.dossier).selectinload(Dossier.account),
        )
    ):
        text = document.text.text if document.text is not None else ""
        expected[document.id] = (
            document.withdrawn,
            "" if document.withdrawn else entry_for(document, text).fingerprint,
        )
    session.rollback()
    states = [state for batch in stored_states(session, size=3) for state in batch]  # batches of 3: two of them
    session.rollback()
    assert [s.document_id for s in states] == sorted(ids)
    assert {s.document_id: (s.withdrawn, s.fingerprint) for s in states} == expected
    assert all(s.fingerprint for s in states if not s.withdrawn)
