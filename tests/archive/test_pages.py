"""Staff pages of the archive: dossiers, a dossier with the filing form, filing with upload, search, viewer."""

from __future__ import annotations

import io
import re

from tests.archive.helpers import FIELDS, pdf_bytes
from tests.support import csrf_token, staff_sign_in


def _csrf(client, url: str) -> str:
    return csrf_token(client.get(url).get_data(as_text=True))


def test_archivist_opens_a_dossier_files_with_upload_and_finds_it(app_search, app_blobs, client, world):
    staff_sign_in(client, "archivist-a")
    token = _csrf(client, "/staff/archive?q=1000000001")
    opened = client.post("/staff/archive", data={"account_no": "1000000001", "csrf_token": token})
    assert opened.status_code == 302
    page = client.get("/staff/archive/dossiers/1000000001").get_data(as_text=True)
    assert "卷内目录" in page and "归档文件" in page
    token = _csrf(client, "/staff/archive/dossiers/1000000001")
    bad = client.post(
        "/staff/archive/dossiers/1000000001/documents",
        data={**FIELDS, "formed_on": "", "csrf_token": token, "file": (io.BytesIO(b"nonsense"), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422  # the form names the missing date in its alert, not just as the field's label
    assert re.search(
        r'<div class="flash flash-error" role="alert">((?!</div>).)*形成日期', bad.get_data(as_text=True), re.S
    )
    original = pdf_bytes("双方签订供用电合同。")
    filed = client.post(
        "/staff/archive/dossiers/1000000001/documents",
        data={**FIELDS, "csrf_token": token, "file": (io.BytesIO(original), "合同.pdf")},
        content_type="multipart/form-data",
    )
    assert filed.status_code == 302
    viewer = client.get(filed.headers["Location"]).get_data(as_text=True)
    assert "供用电合同" in viewer and "<iframe" in viewer
    results = client.get('/staff/archive/search?q="供用电合同"').get_data(as_text=True)
    assert "找到 1 份文件" in results
    assert re.findall(r'<mark class="hit">([^<]*)</mark>', results) == ["供用电", "合同"] * 2
    content = client.get(re.search(r'src="(/staff/archive/documents/\d+/content)"', viewer).group(1))
    assert content.mimetype == "application/pdf" and content.get_data() == original


def test_supervisor_reads_but_cannot_file_and_foreign_dossiers_are_not_found(client, world):
    token = staff_sign_in(client, "supervisor-a")
    assert client.get("/staff/archive").status_code == 200
    assert client.get("/staff/archive/dossiers/2000000001").status_code == 404
    page = client.get("/staff/archive/dossiers/1000000001").get_data(as_text=True)
    assert "该户尚未建立案卷" in page and '<button type="submit">建立案卷' not in page
    opened = client.post("/staff/archive", data={"account_no": "1000000001", "csrf_token": token})
    filed = client.post(
        "/staff/archive/dossiers/1000000001/documents",
        data={**FIELDS, "csrf_token": token, "file": (io.BytesIO(pdf_bytes()), "合同.pdf")},
        content_type="multipart/form-data",
    )
    assert (opened.status_code, filed.status_code) == (403, 403)


def test_archivist_corrects_metadata_on_the_viewer_and_the_correction_is_recorded(client, world):
    staff_sign_in(client, "archivist-a")
    token = _csrf(client, "/staff/archive?q=1000000001")
    client.post("/staff/archive", data={"account_no": "1000000001", "csrf_token": token})
    token = _csrf(client, "/staff/archive/dossiers/1000000001")
    filed = client.post(
        "/staff/archive/dossiers/1000000001/documents",
        data={**FIELDS, "csrf_token": token, "file": (io.BytesIO(pdf_bytes("用电检查单。")), "检查.pdf")},
        content_type="multipart/form-data",
    )
    viewer_url = filed.headers["Location"]
    document_id = int(viewer_url.rstrip("/").rsplit("/", 1)[1])
    viewer = client.get(viewer_url).get_data(as_text=True)
    assert "更正著录信息" in viewer
    form = {
        name: re.search(rf'name="{name}"[^>]*value="([^"]*)"', viewer).group(1)
        for name in ("title", "document_no", "responsible_unit", "formed_on", "pages", "handover_id")
    }
    form.update({"doc_type": FIELDS["doc_type"], "writing_material": FIELDS["writing_material"]})
    form.update({"paper_size": FIELDS["paper_size"], "retention": FIELDS.get("retention", "permanent")})
    missing_why = client.post(
        f"/staff/archive/documents/{document_id}/corrections",
        data={**form, "formed_on": "2023-05-06", "csrf_token": _csrf(client, viewer_url)},
    )
    assert missing_why.status_code == 302
    assert "2023-05-06" not in client.get(viewer_url).get_data(as_text=True).split("更正著录信息")[0]
    unchanged = client.get(f"/api/v1/archive/documents/{document_id}", headers=world.headers("archivist"))
    assert unchanged.get_json()["formed_on"] == FIELDS["formed_on"]  # a correction without its reason is refused
    corrected = client.post(
        f"/staff/archive/documents/{document_id}/corrections",
        data={
            **form,
            "formed_on": "2023-05-06",
            "reason": "形成日期录入错误",
            "authorised_by": "王科长",
            "csrf_token": _csrf(client, viewer_url),
        },
    )
    assert corrected.status_code == 302
    page = client.get(viewer_url).get_data(as_text=True)
    assert "形成日期录入错误" in page and "王科长" in page and "formed_on" in page and "2023-05-06" in page
    api = client.get(f"/api/v1/archive/documents/{document_id}", headers=world.headers("archivist"))
    assert api.get_json()["formed_on"] == "2023-05-06"


def test_the_search_page_takes_an_account_number_beside_words_and_names_the_page_that_matched(
    app_search, client, world
):
    staff_sign_in(client, "archivist-a")
    token = _csrf(client, "/staff/archive?q=1000000001")
    client.post("/staff/archive", data={"account_no": "1000000001", "csrf_token": token})
    token = _csrf(client, "/staff/archive/dossiers/1000000001")
    content = pdf_bytes("附件说明，合同编号FY-88123。", pages=3)
    filed = client.post(
        "/staff/archive/dossiers/1000000001/documents",
        data={**FIELDS, "csrf_token": token, "file": (io.BytesIO(content), "合同.pdf")},
        content_type="multipart/form-data",
    )
    assert filed.status_code == 302
    page = client.get("/staff/archive/search?q=1000000001 FY-88123").get_data(as_text=True)
    assert "找到 1 份文件" in page and "检索词中含户号 1000000001：只查该户的文件。" in page
    assert re.search(r'<span class="page-no">第 1 页：</span> [^<]*<mark class="hit">FY-88123</mark>', page)
