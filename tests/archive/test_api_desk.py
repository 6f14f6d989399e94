"""The archivist's desk through the API (webapp/api/archive_desk.py): batch imports, saved searches and search
results as CSV, on the same domain functions as the pages."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from archive.models import Document
from tests.archive.helpers import pdf_bytes
from tests.archive.test_desk import _batch, _zip_with


def _upload(api, token: str, content: bytes):  # type: ignore[no-untyped-def]
    return api.as_token(token).post(
        "/api/v1/archive/imports",
        json=None,
        data={"file": (io.BytesIO(content), "batch.zip")},
        content_type="multipart/form-data",
    )


def test_a_batch_import_started_through_the_api_reports_its_progress_and_refused_rows(
    app_search, api, world, session
) -> None:
    rows = [
        {"file": "a.pdf", "account_no": "1000000001", "title": "供用电合同", "formed_on": "2024-01-02"},
        {"file": "missing.pdf", "account_no": "1000000001", "title": "缺文件", "formed_on": "2024-01-05"},
    ]
    started = _upload(api, world.tokens["archivist"], _batch(rows, {"a.pdf": pdf_bytes("供用电合同正文。")}))
    assert started.status_code == 202, started.get_json()
    job = started.get_json()
    assert job["total"] == 2 and job["filename"] == "batch.zip"
    polled = api.as_token(world.tokens["supervisor"]).get(f"/api/v1/archive/imports/{job['id']}").get_json()
    assert (polled["status"], polled["progress"], polled["filed"], polled["refused"]) == ("done", 1.0, 1, 1)
    assert [(line["line"], line["status"], line["params"]["fields"]["file"][0]) for line in polled["report"]] == [
        (3, "error", "import_file_missing")
    ]  # the row's problem by code and field, for the caller to word
    assert session.scalars(select(Document.title)).all() == ["供用电合同"]
    listed = api.as_token(world.tokens["archivist"]).get("/api/v1/archive/imports").get_json()
    assert [item["id"] for item in listed["items"]] == [job["id"]]

    refused = _upload(api, world.tokens["archivist"], _zip_with("file,account_no\n"))
    assert refused.status_code == 422
    assert "file" in refused.get_json()["error"]["details"]["fields"]


def test_saved_searches_through_the_api_are_the_owners_and_shared_ones_reach_the_unit(api, world) -> None:
    archivist = api.as_token(world.tokens["archivist"])
    supervisor = api.as_token(world.tokens["supervisor"])
    body = {"q": "签订", "doc_type": "power_supply_contract"}
    mine = archivist.post("/api/v1/archive/saved-searches", json={**body, "name": "合同（只我）"})
    shared = archivist.post("/api/v1/archive/saved-searches", json={**body, "name": "本所合同", "shared": True})
    assert (mine.status_code, shared.status_code) == (201, 201)
    assert mine.get_json()["filters"] == {"doc_type": "power_supply_contract"} and mine.get_json()["mine"] is True
    assert [s["name"] for s in archivist.get("/api/v1/archive/saved-searches").get_json()["items"]] == [
        "合同（只我）",
        "本所合同",
    ]
    seen = supervisor.get("/api/v1/archive/saved-searches").get_json()["items"]
    assert [(s["name"], s["mine"]) for s in seen] == [("本所合同", False)]  # the same unit: the shared one only

    shared_id, mine_id = shared.get_json()["id"], mine.get_json()["id"]
    renamed = archivist.put(f"/api/v1/archive/saved-searches/{mine_id}", json={**body, "name": "合同", "q": "合同"})
    assert renamed.status_code == 200 and renamed.get_json()["q"] == "合同"
    taken = archivist.put(f"/api/v1/archive/saved-searches/{mine_id}", json={**body, "name": "本所合同"})
    assert taken.status_code == 409 and taken.get_json()["error"]["code"] == "saved_search_name_taken"
    assert supervisor.put(f"/api/v1/archive/saved-searches/{shared_id}", json={"name": "改"}).status_code == 404
    assert supervisor.delete(f"/api/v1/archive/saved-searches/{shared_id}").status_code == 404  # only its owner
    assert supervisor.delete(f"/api/v1/archive/saved-searches/{mine_id}").status_code == 404  # private: not seen
    assert archivist.delete(f"/api/v1/archive/saved-searches/{shared_id}").status_code == 204
    assert [s["name"] for s in archivist.get("/api/v1/archive/saved-searches").get_json()["items"]] == ["合同"]


def test_search_results_as_csv_through_the_api_are_the_pages_export(app_search, api, client, world) -> None:
    from tests.archive.test_desk import _file, _open

    token = _open(client)
    for n in range(2):
        _file(client, token, f"第{n}份 签订 正文。", f"合同{n}")
    reply = api.as_token(world.tokens["supervisor"]).get("/api/v1/archive/search.csv?q=签订")
    assert reply.status_code == 200 and reply.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(reply.get_data(as_text=True).lstrip("\ufeff"))))
    page = client.get("/staff/archive/search.csv?q=签订").get_data(as_text=True)
    assert rows == list(csv.reader(io.StringIO(page.lstrip("\ufeff"))))
    assert sorted(r[2] for r in rows[1:]) == ["合同0", "合同1"]
    assert api.as_token(world.tokens["supervisor"]).get("/api/v1/archive/search.csv").status_code == 422
