"""The archivist's desk: several files filed at once from the dossier page, and batch imports from the web."""

from __future__ import annotations

import csv
import html
import io
import re
import zipfile

from sqlalchemy import func, select

from archive.models import ArchiveImport, Document
from archive.registry import search_backend
from archive.search import SearchQuery
from tests.archive.helpers import FIELDS, pdf_bytes, stored_names
from tests.support import csrf_token, staff_sign_in


def _open(client) -> str:  # type: ignore[no-untyped-def]
    staff_sign_in(client, "archivist-a")
    token = csrf_token(client.get("/staff/archive?q=1000000001").get_data(as_text=True))
    assert client.post("/staff/archive", data={"account_no": "1000000001", "csrf_token": token}).status_code == 302
    return csrf_token(client.get("/staff/archive/dossiers/1000000001").get_data(as_text=True))


def test_five_files_at_once_each_with_its_own_metadata_and_a_refused_one_leaves_nothing(
    app_search, app_blobs, client, world, session
):
    token = _open(client)
    page = client.get("/staff/archive/dossiers/1000000001").get_data(as_text=True)
    assert re.search(r'<input type="file" name="files" multiple', page) and "data-dropzone" in page
    files = [
        (io.BytesIO(pdf_bytes("供用电合同正文，编号FY-88123。")), "合同.pdf"),
        (io.BytesIO(pdf_bytes("电费交纳协议正文。")), "协议.pdf"),
        (io.BytesIO(b"this is no pdf, whatever its name says"), "坏文件.pdf"),
        (io.BytesIO(pdf_bytes("用电检查工作单正文。")), "检查.pdf"),
        (io.BytesIO(pdf_bytes("计量装置封印记录。")), "封印.pdf"),
    ]
    data = {
        **FIELDS,
        "csrf_token": token,
        "files": files,
        "file-1-doc_type": "fee_payment_agreement",
        "file-1-title": "电费交纳协议",
        "file-2-title": "坏文件",
        "file-3-title": "用电检查工作单",
        "file-3-formed_on": "2024-05-06",
        # file 4 has nothing of its own: the first file's metadata
    }
    response = client.post(
        "/staff/archive/dossiers/1000000001/documents/batch", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "5 份文件中已归档 4 份" in body
    assert re.search(r"坏文件\.pdf</td>\s*<td><span class=\"refused\">未归档：文件：只能归档", body)
    documents = session.scalars(select(Document).order_by(Document.id)).all()
    shown = [(d.title, d.doc_type, d.formed_on.isoformat(), d.responsible_unit) for d in documents]
    assert shown == [
        ("供用电合同", "power_supply_contract", "2024-03-01", "湖滨供电所"),
        ("电费交纳协议", "fee_payment_agreement", "2024-03-01", "湖滨供电所"),
        ("用电检查工作单", "power_supply_contract", "2024-05-06", "湖滨供电所"),
        ("供用电合同", "power_supply_contract", "2024-03-01", "湖滨供电所"),
    ]
    assert len(stored_names(app_blobs)) == 4  # the refused file stored nothing
    assert search_backend().search(SearchQuery(q="whatever")).total == 0
    assert search_backend().search(SearchQuery(q="封印")).total == 1


def test_a_multi_file_filing_without_files_is_refused_in_chinese(client, world):
    token = _open(client)
    response = client.post(
        "/staff/archive/dossiers/1000000001/documents/batch",
        data={**FIELDS, "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert re.search(r'role="alert">((?!</div>).)*文件：必填', response.get_data(as_text=True), re.S)


def _manifest(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    fields = ["file", "account_no", "doc_type", "title", "formed_on", "responsible_unit", "writing_material"]
    writer = csv.DictWriter(out, fieldnames=[*fields, "paper_size"])
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                "doc_type": "power_supply_contract",
                "responsible_unit": "营销部",
                "writing_material": "print",
                "paper_size": "A4",
                **row,
            }
        )
    return out.getvalue()


def _batch(rows: list[dict[str, str]], files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("manifest.csv", _manifest(rows))
        for name, content in files.items():
            zf.writestr(name, content)
    return out.getvalue()


def test_a_batch_imported_from_the_web_shows_its_progress_and_reports_what_was_refused(
    app_search, app_blobs, client, world, session
):
    token = staff_sign_in(client, "archivist-a")
    rows = [
        {"file": "a.pdf", "account_no": "1000000001", "title": "供用电合同", "formed_on": "2024-01-02"},
        {"file": "b.pdf", "account_no": "2000000001", "title": "别的单位的户", "formed_on": "2024-01-03"},
        {"file": "bad.pdf", "account_no": "1000000001", "title": "坏文件", "formed_on": "2024-01-04"},
        {"file": "a.pdf", "account_no": "1000000001", "title": "坏日期", "formed_on": "2024-02-30"},
        {"file": "missing.pdf", "account_no": "1000000001", "title": "缺文件", "formed_on": "2024-01-05"},
    ]
    batch = _batch(rows, {"a.pdf": pdf_bytes("供用电合同正文。"), "b.pdf": pdf_bytes("别的"), "bad.pdf": b"nope"})
    started = client.post(
        "/staff/archive/imports",
        data={"csrf_token": token, "file": (io.BytesIO(batch), "batch.zip")},
        content_type="multipart/form-data",
    )
    assert started.status_code == 302
    progress = client.get(started.headers["Location"] + "/progress").get_json()
    print(session.scalars(select(ArchiveImport)).one().report)
    assert progress == {
        "id": progress["id"],
        "status": "done",
        "progress": 1.0,
        "total": 5,
        "done": 5,
        "filed": 1,
        "skipped": 0,
        "refused": 4,
    }
    page = client.get(started.headers["Location"]).get_data(as_text=True)
    assert '<progress id="import-progress" max="1" value="1.0">' in page
    reasons = dict(
        re.findall(r"<tr><td>(\d+)</td><td>[^<]*</td><td>\d+</td>\s*<td class=\"refused\">([^<]*)</td>", page)
    )
    assert set(reasons) == {"3", "4", "5", "6"}
    assert reasons["3"] == "户号不存在。"  # another unit's account is not the archivist's to file into
    assert "只能归档" in reasons["4"] and "形成日期" in reasons["5"] and "批次中没有这个文件" in reasons["6"]
    assert session.scalars(select(Document.account_no)).all() == ["1000000001"]
    assert len(stored_names(app_blobs)) == 1  # the batch itself is gone once imported
    assert search_backend().search(SearchQuery(q="供用电合同")).total == 1
    again = client.post(
        "/staff/archive/imports",
        data={"csrf_token": token, "file": (io.BytesIO(batch), "batch.zip")},
        content_type="multipart/form-data",
    )
    assert client.get(again.headers["Location"] + "/progress").get_json()["skipped"] == 1
    assert session.scalar(select(func.count(Document.id))) == 1


def test_an_upload_that_is_no_batch_is_refused_and_another_unit_never_sees_an_import(client, world, session):
    token = staff_sign_in(client, "archivist-a")
    refused = client.post(
        "/staff/archive/imports",
        data={"csrf_token": token, "file": (io.BytesIO(b"plain text"), "batch.zip")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "manifest.csv" in refused.get_data(as_text=True)
    no_columns = client.post(
        "/staff/archive/imports",
        data={"csrf_token": token, "file": (io.BytesIO(_zip_with("file,title\nx.pdf,t\n")), "batch.zip")},
        content_type="multipart/form-data",
    )
    assert no_columns.status_code == 422 and "account_no" in no_columns.get_data(as_text=True)
    assert session.scalar(select(func.count(ArchiveImport.id))) == 0
    job = ArchiveImport(filename="x.zip", sha256="0" * 64, unit_id=world.unit_b.id, status="done")
    session.add(job)
    session.commit()
    assert client.get(f"/staff/archive/imports/{job.id}").status_code == 404
    assert client.get(f"/staff/archive/imports/{job.id}/progress").status_code == 404


def _zip_with(manifest: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("manifest.csv", manifest)
    return out.getvalue()


def _file(client, token: str, body: str, title: str) -> None:  # type: ignore[no-untyped-def]
    filed = client.post(
        "/staff/archive/dossiers/1000000001/documents",
        data={**FIELDS, "title": title, "csrf_token": token, "file": (io.BytesIO(pdf_bytes(body)), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert filed.status_code == 302


def test_saved_searches_are_the_owners_and_shared_ones_reach_the_unit(app_search, client, world, session):
    token = _open(client)
    _file(client, token, "双方签订供用电合同。", "供用电合同")
    search = "/staff/archive/search?q=签订&doc_type=power_supply_contract"
    page = client.get(search).get_data(as_text=True)
    assert 'action="/staff/archive/searches"' in page
    data = {"csrf_token": token, "q": "签订", "doc_type": "power_supply_contract"}
    mine = client.post("/staff/archive/searches", data={**data, "name": "合同（只我）"})
    shared = client.post("/staff/archive/searches", data={**data, "name": "本所合同", "shared": "1"})
    assert (mine.status_code, shared.status_code) == (302, 302)
    assert (
        "q=%E7%AD%BE%E8%AE%A2" in mine.headers["Location"]
        and "doc_type=power_supply_contract" in mine.headers["Location"]
    )
    unnamed = client.post("/staff/archive/searches", data={**data, "name": ""})
    assert unnamed.status_code == 422
    assert re.search(r'role="alert">((?!</div>).)*检索名称：必填', unnamed.get_data(as_text=True), re.S)
    own = client.get("/staff/archive/search").get_data(as_text=True)
    assert "合同（只我）" in own and "本所合同" in own

    staff_sign_in(client, "supervisor-a")  # the same unit: the shared one only, and no delete button
    other = client.get("/staff/archive/search").get_data(as_text=True)
    assert "本所合同" in other and "合同（只我）" not in other and "/deletion" not in other
    link = re.search(r'<a href="(/staff/archive/search\?[^"]+)">本所合同</a>', other).group(1)
    assert "找到 1 份文件" in client.get(html.unescape(link)).get_data(as_text=True)
    from archive.models import SavedSearch

    shared_id = session.scalar(select(SavedSearch.id).where(SavedSearch.name == "本所合同"))
    session.rollback()
    other_token = csrf_token(other)
    assert (
        client.post(f"/staff/archive/searches/{shared_id}/deletion", data={"csrf_token": other_token}).status_code
        == 404
    )


def test_search_results_download_as_csv_with_every_page_and_plain_text(app_search, client, world):
    token = _open(client)
    for n in range(3):
        _file(client, token, f'第{n}份 签订 =HYPERLINK("x") 正文。', f"合同{n}")
    response = client.get("/staff/archive/search.csv?q=签订")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["文件序号", "户号", "题名", "文件类别", "形成日期", "页码", "命中文字", "链接"]
    assert sorted(r[2] for r in rows[1:]) == ["合同0", "合同1", "合同2"]
    assert all("<mark" not in r[6] and "签订" in r[6] for r in rows[1:])
    assert all(r[3] == "供用电合同" and r[7].endswith(f"/staff/archive/documents/{r[0]}") for r in rows[1:])
    assert client.get("/staff/archive/search.csv").status_code == 400


def test_the_reference_sheet_is_recorded_signed_by_two_people_and_printed(client, world, session):
    from pypdf import PdfReader

    token = _open(client)
    sheet = "/staff/archive/dossiers/1000000001/reference-sheet"
    lacking = client.post(sheet, data={"csrf_token": token, "filer_name": "王立卷", "checked_on": "2024-05-06"})
    assert lacking.status_code == 422  # a check date needs its checker
    assert re.search(r'role="alert">((?!</div>).)*检查人：必填', lacking.get_data(as_text=True), re.S)
    unsigned = client.post(f"{sheet}/signatures", data={"csrf_token": token, "role": "checker"})
    assert "请先记录姓名" in client.get(unsigned.headers["Location"]).get_data(as_text=True)
    recorded = client.post(
        sheet,
        data={
            "csrf_token": token,
            "filer_name": "王立卷",
            "checker_name": "李检查",
            "checked_on": "2024-05-06",
            "notes": "缺第3页原件，以复印件代替。",
        },
    )
    assert recorded.status_code == 302
    assert client.post(f"{sheet}/signatures", data={"csrf_token": token, "role": "filer"}).status_code == 302
    same = client.post(f"{sheet}/signatures", data={"csrf_token": token, "role": "checker"})
    assert "您已作为立卷人签名" in client.get(same.headers["Location"]).get_data(as_text=True)
    admin_token = staff_sign_in(client, "admin-a")
    assert client.post(f"{sheet}/signatures", data={"csrf_token": admin_token, "role": "checker"}).status_code == 302
    page = client.get("/staff/archive/dossiers/1000000001").get_data(as_text=True)
    assert "王立卷 · 由 archivist A 签名" in page and "李检查 · 由 admin A 签名" in page and "2024-05-06" in page
    text = "".join(
        p.extract_text()
        for p in PdfReader(io.BytesIO(client.get("/staff/archive/dossiers/1000000001/catalog.pdf").get_data())).pages
    ).replace("\n", "")
    assert "王立卷（电子签名：archivist A" in text and "李检查（电子签名：admin A" in text
    assert "20240506" in text and "缺第3页原件" in text
    # changing the checker voids the checker's signature, not the filer's
    client.post(
        sheet,
        data={"csrf_token": admin_token, "filer_name": "王立卷", "checker_name": "赵检查", "checked_on": "2024-05-06"},
    )
    page = client.get("/staff/archive/dossiers/1000000001").get_data(as_text=True)
    assert "王立卷 · 由 archivist A 签名" in page and "赵检查 · 未签名" in page
