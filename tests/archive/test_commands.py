"""The archive's commands: filing, withdrawing and correcting are checked once, so the API and the archivist's
pages refuse the same input with the same codes (the page had no length limits of its own before)."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from archive.commands import CorrectDocument, FileDocument, RecordHandover, WithdrawDocument
from core import clock
from core.errors import InvalidInput
from tests.archive.helpers import FIELDS, file_via_api, open_dossier, pdf_bytes
from tests.support import csrf_token, staff_sign_in
from webapp.errors import render

ZH = {"Accept-Language": "zh-CN"}


def _codes(error: InvalidInput) -> dict[str, str]:
    return {field: problem.code for field, problem in error.problems.items()}


def _shown(app, label: str, code: str, **params: object) -> str:  # type: ignore[no-untyped-def]
    with app.test_request_context(headers=ZH):
        return f"{label}：{render(code, params)}"  # type: ignore[arg-type]


def test_filing_reports_every_problem_at_once_with_the_file() -> None:
    tomorrow_but_one = (clock.today_local() + dt.timedelta(days=2)).isoformat()  # the company's day, not UTC's
    with pytest.raises(InvalidInput) as caught:
        FileDocument.parse({**FIELDS, "doc_type": "letter", "title": " ", "formed_on": tomorrow_but_one, "pages": "0"})
    assert _codes(caught.value) == {
        "doc_type": "not_a_choice",
        "title": "required",
        "formed_on": "in_future",
        "pages": "at_least",
        "file": "required",
    }


def test_a_form_leaves_optional_fields_blank() -> None:
    command = FileDocument.parse(
        {**FIELDS, "retention": "", "pages": "", "handover_id": "", "file": io.BytesIO(b"x"), "filename": "a.pdf"}
    )
    assert (command.retention, command.pages, command.handover_id) == ("permanent", None, None)


def test_a_correction_names_only_correctable_fields() -> None:
    for changes, code in (({}, "nothing_to_correct"), ({"sha256": "x"}, "not_correctable")):
        with pytest.raises(InvalidInput) as caught:
            CorrectDocument.parse({"reason": "笔误", "authorised_by": "王科长", "changes": changes})
        assert _codes(caught.value) == {"changes": code}


def test_a_handover_needs_both_departments() -> None:
    with pytest.raises(InvalidInput) as caught:
        RecordHandover.parse({"handed_over_on": "2024-03-05", "handed_by": "周敏", "received_by": "李静"})
    assert _codes(caught.value) == {"from_department": "required", "to_department": "required"}


def test_withdrawal_limits_are_the_same_for_the_api_and_the_page(app, client, world) -> None:
    token = world.token("archivist")
    open_dossier(client, token, "1000000001")
    document_id = file_via_api(client, token, "1000000001", pdf_bytes()).get_json()["id"]
    body = {"reason": "重复归档", "authorised_by": "王" * 65}
    with pytest.raises(InvalidInput) as caught:
        WithdrawDocument.parse(body)
    assert _codes(caught.value) == {"authorised_by": "too_long"}
    api = client.post(
        f"/api/v1/archive/documents/{document_id}/withdrawal", json=body, headers=world.headers("archivist")
    )
    assert api.status_code == 422
    assert api.get_json()["error"]["details"]["problems"] == {
        "authorised_by": {"code": "too_long", "params": {"max": 64}}
    }
    staff_sign_in(client, "archivist-a")
    page_url = f"/staff/archive/documents/{document_id}"
    form_token = csrf_token(client.get(page_url).get_data(as_text=True))
    client.post(f"{page_url}/withdrawal", data={**body, "csrf_token": form_token})
    page = client.get(page_url, headers=ZH).get_data(as_text=True)
    assert _shown(app, "批准人", "too_long", max=64) in page
    document = client.get(f"/api/v1/archive/documents/{document_id}", headers=world.headers("archivist")).get_json()
    assert document["withdrawn_at"] is None


def test_filing_without_a_file_is_refused_by_the_api_and_the_page(app, client, world) -> None:
    token = world.token("archivist")
    open_dossier(client, token, "1000000001")
    api = client.post(
        "/api/v1/archive/dossiers/1000000001/documents",
        data=dict(FIELDS),
        headers=world.headers("archivist"),
        content_type="multipart/form-data",
    )
    assert api.status_code == 422
    assert api.get_json()["error"]["details"]["problems"] == {"file": {"code": "required", "params": {}}}
    staff_sign_in(client, "archivist-a")
    form_token = csrf_token(client.get("/staff/archive/dossiers/1000000001").get_data(as_text=True))
    page = client.post(
        "/staff/archive/dossiers/1000000001/documents",
        data={**FIELDS, "csrf_token": form_token},
        headers=ZH,
        content_type="multipart/form-data",
    )
    assert page.status_code == 422
    assert _shown(app, "文件（PDF、JPEG、PNG、TIFF、DOCX）", "required") in page.get_data(as_text=True)
