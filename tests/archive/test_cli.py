"""The archive CLI: reindex rebuilds from the database, verify reports problems, import files a batch."""

from __future__ import annotations

import csv
import io
import json
import zipfile

from sqlalchemy import func, select

from archive.interfaces import IndexEntry
from archive.models import Document
from archive.registry import search_backend
from archive.search import SearchQuery
from tests.archive.helpers import file_via_api, open_dossier, pdf_bytes, tampered, vanished


def _file_two(client, world, session) -> list[int]:
    token = world.token("archivist")
    open_dossier(client, token, "1000000001")
    ids = [
        file_via_api(client, token, "1000000001", pdf_bytes("双方签订供用电合同。")).get_json()["id"],
        file_via_api(client, token, "1000000001", pdf_bytes("停电通知：线路检修。"), formed_on="2024-06-01").get_json()[
            "id"
        ],
    ]
    session.rollback()
    return ids


def test_reindex_rebuilds_the_index_from_the_database(app, app_search, client, world, session):
    ids = _file_two(client, world, session)
    search_backend().clear()
    assert search_backend().search(SearchQuery(q="供用电合同")).total == 0
    result = app.test_cli_runner().invoke(args=["griddesk", "archive", "reindex", "--batch", "1"])
    assert result.exit_code == 0, result.output
    assert "indexed 2 documents" in result.output
    assert "documents caught up after the swap: 0 " in result.output
    assert sorted(i for i, _ in search_backend().fingerprints()) == sorted(ids)
    assert search_backend().search(SearchQuery(q='"线路检修"')).total == 1


def test_reindex_keeps_searches_answering_and_catches_up_changes_made_meanwhile(
    app, app_search, search_kind, client, world, session
):
    first, second = _file_two(client, world, session)
    backend = search_backend()
    seen_during: list[int] = []
    real_rebuild = backend.rebuild

    def rebuild_and_look():  # in the middle of the rebuild: search the live index, and withdraw a document
        import contextlib

        @contextlib.contextmanager
        def wrapped():
            with real_rebuild() as fresh:
                yield fresh
                seen_during.append(backend.search(SearchQuery(q="供用电合同")).total)
                response = client.post(
                    f"/api/v1/archive/documents/{second}/withdrawal",
                    json={"reason": "重复归档", "authorised_by": "王科长"},
                    headers=world.headers("archivist"),
                )
                assert response.status_code == 201, response.get_json()

        return wrapped()

    backend.rebuild = rebuild_and_look  # type: ignore[method-assign]
    try:
        result = app.test_cli_runner().invoke(args=["griddesk", "archive", "reindex"])
    finally:
        del backend.rebuild
    assert result.exit_code == 0, result.output
    assert seen_during == [2]  # the live index was never emptied
    # Whoosh's task removed the withdrawn document from the live index only, so the swap brings it back until the
    # catch-up removes it; PostgreSQL's removal reaches the generation being built too: nothing left to catch up
    caught_up = 1 if search_kind == "whoosh" else 0
    assert f"documents caught up after the swap: {caught_up} " in result.output
    assert sorted(i for i, _ in backend.fingerprints()) == [first]  # the withdrawal made meanwhile is not lost
    session.rollback()


def test_verify_reports_missing_stale_orphaned_entries_and_bad_blobs(
    app, app_blobs, app_search, client, world, session
):
    first, second = _file_two(client, world, session)
    runner = app.test_cli_runner()
    clean = runner.invoke(args=["griddesk", "archive", "verify"])
    assert clean.exit_code == 0 and "OK" in clean.output
    backend = search_backend()
    backend.delete([first])
    import datetime as dt

    stale = IndexEntry(
        second,
        "1000000001",
        "张伟",
        "/",
        "outage_notice",
        "旧",
        "旧文本",
        dt.date(2024, 1, 1),
        dt.date(2024, 1, 1),
        "old",
    )
    orphan = IndexEntry(
        999, "1000000001", "张伟", "/", "outage_notice", "无", "无", dt.date(2024, 1, 1), dt.date(2024, 1, 1), "x"
    )
    backend.upsert([stale, orphan])
    sha, other_sha = session.get(Document, first).sha256, session.get(Document, second).sha256
    session.rollback()
    with tampered(app_blobs, sha), vanished(app_blobs, other_sha):
        result = runner.invoke(args=["griddesk", "archive", "verify", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["missing_from_index"] == [first]
    assert report["stale_in_index"] == [second]
    assert report["orphaned_in_index"] == [999]
    assert report["corrupt_blobs"] == [sha]
    assert report["missing_blobs"] == [other_sha]


def _manifest(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    fields = [
        "file",
        "account_no",
        "doc_type",
        "title",
        "formed_on",
        "responsible_unit",
        "writing_material",
        "paper_size",
    ]
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in fields})
    return out.getvalue()


GOOD = {
    "responsible_unit": "营销部",
    "writing_material": "print",
    "paper_size": "A4",
    "doc_type": "power_supply_contract",
}


def test_import_files_good_rows_reports_bad_ones_and_a_rerun_files_nothing_twice(
    app, app_search, world, session, tmp_path
):
    session.rollback()
    rows = [
        {"file": "a.pdf", "account_no": "1000000001", "title": "供用电合同", "formed_on": "2024-01-02", **GOOD},
        {
            "file": "b.pdf",
            "account_no": "1000000001",
            "title": "电费交纳协议",
            "formed_on": "2024-01-03",
            **GOOD,
            "doc_type": "fee_payment_agreement",
        },
        {"file": "c.pdf", "account_no": "9999999999", "title": "无此户", "formed_on": "2024-01-04", **GOOD},
        {"file": "a.pdf", "account_no": "1000000001", "title": "坏日期", "formed_on": "2024-02-30", **GOOD},
        {"file": "missing.pdf", "account_no": "1000000001", "title": "缺文件", "formed_on": "2024-01-05", **GOOD},
        {"file": "../secret.pdf", "account_no": "1000000001", "title": "越界", "formed_on": "2024-01-05", **GOOD},
        {"file": "bad.pdf", "account_no": "1000000001", "title": "坏文件", "formed_on": "2024-01-05", **GOOD},
    ]
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("manifest.csv", _manifest(rows))
        zf.writestr("a.pdf", pdf_bytes("供用电合同正文。"))
        zf.writestr("b.pdf", pdf_bytes("电费交纳协议正文。"))
        zf.writestr("bad.pdf", b"not a pdf at all")
    report = tmp_path / "report.csv"
    runner = app.test_cli_runner()
    first = runner.invoke(args=["griddesk", "archive", "import", str(archive), "--report", str(report)])
    assert first.exit_code == 0, first.output
    assert "7 rows: 2 filed, 0 already filed, 5 refused" in first.output
    statuses = {r["line"]: (r["status"], r["detail"].split(":")[0]) for r in csv.DictReader(report.open())}
    assert statuses["4"] == ("error", "account_not_found")
    assert statuses["5"] == ("error", "invalid_input")
    assert statuses["6"] == ("error", "file_missing")
    assert statuses["7"] == ("error", "file_missing")
    assert statuses["8"] == ("error", "unsupported_type")
    again = runner.invoke(args=["griddesk", "archive", "import", str(archive)])
    assert "7 rows: 0 filed, 2 already filed, 5 refused" in again.output
    assert session.scalar(select(func.count(Document.id))) == 2
    assert search_backend().search(SearchQuery(q="电费交纳协议")).total == 1


def test_import_from_a_folder_stays_inside_it(app, world, session, tmp_path):
    session.rollback()
    (tmp_path / "outside.pdf").write_bytes(pdf_bytes())
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "a.pdf").write_bytes(pdf_bytes())
    rows = [
        {"file": "a.pdf", "account_no": "1000000001", "title": "合同", "formed_on": "2024-01-02", **GOOD},
        {"file": "../outside.pdf", "account_no": "1000000001", "title": "越界", "formed_on": "2024-01-02", **GOOD},
    ]
    (folder / "manifest.csv").write_text(_manifest(rows), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["griddesk", "archive", "import", str(folder)])
    assert "2 rows: 1 filed, 0 already filed, 1 refused" in result.output, result.output
