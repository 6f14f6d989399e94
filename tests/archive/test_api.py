"""The archive API: dossiers, filing, documents and content, withdrawals and corrections, the catalog."""

from __future__ import annotations

from sqlalchemy import func, select

from archive.models import Document, DossierAttempt
from core.trail import TrailEvent
from tests.archive.helpers import file_via_api, open_dossier, pdf_bytes, tampered, vanished
from tests.support import staff_sign_in


def test_filing_keeps_order_of_formation_and_numbers_pages_continuously(client, world, session):
    token = world.token("archivist")
    assert open_dossier(client, token, "1000000001").status_code == 201
    later = file_via_api(client, token, "1000000001", pdf_bytes(pages=3), formed_on="2024-05-01", title="后形成")
    assert later.status_code == 201, later.get_json()
    assert later.get_json()["pages"] == 3
    earlier = file_via_api(client, token, "1000000001", pdf_bytes(pages=2), formed_on="2024-01-10", title="先形成")
    assert earlier.status_code == 201
    dossier = client.get("/api/v1/archive/dossiers/1000000001", headers=world.headers("supervisor")).get_json()
    rows = [(d["item_no"], d["title"], d["page_from"], d["page_to"]) for d in dossier["documents"]]
    assert rows == [(1, "先形成", 1, 2), (2, "后形成", 3, 5)]
    assert dossier["page_count"] == 5
    assert dossier["cover"]["start_date"] == "2024-01-10"
    assert dossier["cover"]["end_date"] == "2024-05-01"


def test_second_dossier_for_same_account_is_refused_and_recorded(client, world, session):
    token = world.token("archivist")
    assert open_dossier(client, token, "1000000001").status_code == 201
    again = open_dossier(client, token, "1000000001")
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "dossier_exists"
    session.rollback()
    attempts = session.scalars(select(DossierAttempt)).all()
    assert [(a.account_no, a.actor_id) for a in attempts] == [("1000000001", world.users["archivist"].id)]
    actions = session.scalars(
        select(TrailEvent.action).where(TrailEvent.entity == "dossier").order_by(TrailEvent.id)
    ).all()
    assert actions == ["dossier.created", "dossier.second_attempt_refused"]


def test_filing_date_is_set_by_the_system_and_cannot_be_given(client, world, session):
    token = world.token("archivist")
    open_dossier(client, token, "1000000001")
    response = file_via_api(client, token, "1000000001", pdf_bytes(), filed_at="1999-01-01T00:00:00+00:00")
    assert response.status_code == 201
    assert not response.get_json()["filed_at"].startswith("1999")


def test_all_field_problems_are_reported_at_once(client, world):
    token = world.token("archivist")
    open_dossier(client, token, "1000000001")
    response = file_via_api(
        client, token, "1000000001", pdf_bytes(), doc_type="letter", formed_on="2024-13-01", writing_material="ink"
    )
    assert response.status_code == 422
    fields = response.get_json()["error"]["details"]["fields"]
    assert set(fields) == {"doc_type", "formed_on", "writing_material"}


def test_content_streams_the_original_with_its_type(app_blobs, client, world):
    token = world.token("archivist")
    open_dossier(client, token, "1000000001")
    content = pdf_bytes()
    document = file_via_api(client, token, "1000000001", content, name="../../etc/passwd.exe").get_json()
    assert document["original_name"] == "passwd.pdf"
    response = client.get(f"/api/v1/archive/documents/{document['id']}/content", headers=world.headers("archivist"))
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.get_data() == content
    staff_sign_in(client, "archivist-a")
    page = client.get(f"/staff/archive/documents/{document['id']}/content")
    assert page.status_code == 200 and page.get_data() == content


def test_a_damaged_or_missing_file_is_refused_never_served(app_blobs, client, world):
    token = world.token("archivist")
    open_dossier(client, token, "1000000001")
    document = file_via_api(client, token, "1000000001", pdf_bytes()).get_json()
    url = f"/api/v1/archive/documents/{document['id']}/content"
    with tampered(app_blobs, document["sha256"], pdf_bytes("被改动的内容。")):
        damaged = client.get(url, headers=world.headers("archivist"))
        assert damaged.status_code == 409 and damaged.get_json()["error"]["code"] == "blob_corrupt"
        staff_sign_in(client, "archivist-a")
        assert client.get(f"/staff/archive/documents/{document['id']}/content").status_code == 409
    with vanished(app_blobs, document["sha256"]):
        missing = client.get(url, headers=world.headers("archivist"))
        assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "blob_missing"


def test_withdrawal_and_correction_are_recorded_events_and_keep_the_original(client, world, session):
    token = world.token("archivist")
    open_dossier(client, token, "1000000001")
    first = file_via_api(client, token, "1000000001", pdf_bytes(), title="原题名").get_json()
    second = file_via_api(client, token, "1000000001", pdf_bytes(pages=2), formed_on="2024-04-01").get_json()
    headers = world.headers("archivist")
    refused = client.post(
        f"/api/v1/archive/documents/{first['id']}/corrections", json={"changes": {"title": "x"}}, headers=headers
    )
    assert refused.status_code == 422
    corrected = client.post(
        f"/api/v1/archive/documents/{first['id']}/corrections",
        json={
            "changes": {"title": "更正后的题名", "paper_size": "A3"},
            "reason": "题名录入错误",
            "authorised_by": "王主任",
        },
        headers=headers,
    )
    assert corrected.status_code == 201, corrected.get_json()
    body = corrected.get_json()
    assert body["title"] == "更正后的题名" and body["paper_size"] == "A3"
    assert body["events"][0]["changes"]["title"] == {"from": "原题名", "to": "更正后的题名"}
    withdrawn = client.post(
        f"/api/v1/archive/documents/{second['id']}/withdrawal",
        json={"reason": "重复归档", "authorised_by": "王主任"},
        headers=headers,
    )
    assert withdrawn.status_code == 201
    session.rollback()
    stored = session.get(Document, first["id"])
    assert stored.title == "原题名"  # the captured value is never edited in place
    assert session.scalar(select(func.count(Document.id))) == 2  # nothing deleted
    dossier = client.get("/api/v1/archive/dossiers/1000000001", headers=headers).get_json()
    assert [d["id"] for d in dossier["documents"]] == [first["id"]]
    assert dossier["withdrawn"][0]["id"] == second["id"]
    actions = set(session.scalars(select(TrailEvent.action).where(TrailEvent.entity == "document")))
    assert {"document.filed", "document.corrected", "document.withdrawn"} <= actions


def test_handover_can_be_referenced_by_a_document(client, world):
    token = world.token("archivist")
    open_dossier(client, token, "1000000001")
    handover = client.post(
        "/api/v1/archive/handovers",
        json={
            "account_no": "1000000001",
            "from_department": "市场拓展部",
            "to_department": "营销部",
            "handed_over_on": "2024-03-05",
            "handed_by": "周敏",
            "received_by": "李静",
            "item_count": 3,
        },
        headers=world.headers("archivist"),
    )
    assert handover.status_code == 201
    document = file_via_api(client, token, "1000000001", pdf_bytes(), handover_id=handover.get_json()["id"])
    assert document.get_json()["handover_id"] == handover.get_json()["id"]
    missing = file_via_api(client, token, "1000000001", pdf_bytes(), handover_id=99999)
    details = missing.get_json()["error"]["details"]
    assert details["problems"]["handover_id"] == {"code": "unknown_handover", "params": {}}
    assert details["fields"]["handover_id"] == "交接记录不存在"


def test_customers_and_clerks_have_no_archive_access(client, world):
    for role in ("customer", "clerk"):
        assert open_dossier(client, world.token(role), "1000000001").status_code == 403


def test_dossier_outside_the_unit_is_not_found(client, world):
    assert open_dossier(client, world.token("archivist"), "2000000001").status_code == 404


def test_an_archivist_with_the_longest_allowed_name_opens_a_dossier(client, world, session):
    session.get(type(world.users["archivist"]), world.users["archivist"].id).name = "档" * 128
    session.commit()
    response = open_dossier(client, world.token("archivist"), "1000000001")
    assert response.status_code == 201, response.get_json()
