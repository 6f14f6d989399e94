"""Upload checks: each refused upload answers 422 with its code and leaves no file, no row, no index entry."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfWriter
from sqlalchemy import func, select

from archive.models import Document
from archive.registry import search_backend
from archive.uploads import DOCX, PDF, inspect_upload, safe_name
from tests.archive.active_pdfs import ACTIVE, HARMLESS
from tests.archive.helpers import file_via_api, open_dossier, pdf_bytes, stored_names


def _encrypted_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("1", (width, height), 1).save(out, format="PNG")
    return out.getvalue()


def _docx_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document>" + "A" * (60 * 1024 * 1024) + "</w:document>")
    return out.getvalue()


REFUSED = {
    "unsupported_type": lambda: b"MZ\x90\x00 this is a windows program pretending to be a PDF",
    "pdf_encrypted": _encrypted_pdf,
    "pdf_broken": lambda: b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF",
    "decompression_bomb": lambda: _png(12_000, 12_000),
    "file_empty": lambda: b"",
}


def _files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _assert_refused_leaving_nothing(app, client, world, session, content: bytes, code: str) -> None:
    token = world.token("archivist")
    open_dossier(client, token, "1000000001")
    blob_root = Path(app.config["BLOB_DIR"])
    before = _files_under(blob_root)
    response = file_via_api(client, token, "1000000001", content, name="合同.pdf")
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == code
    session.rollback()
    assert session.scalar(select(func.count(Document.id))) == 0
    assert _files_under(blob_root) == before
    assert list(search_backend().fingerprints()) == []


@pytest.mark.parametrize("code", sorted(REFUSED))
def test_refused_upload_leaves_no_file_no_row_no_index_entry(code, app, app_search, client, world, session):
    _assert_refused_leaving_nothing(app, client, world, session, REFUSED[code](), code)


@pytest.mark.parametrize("kind", sorted(ACTIVE))
def test_pdf_with_active_content_is_refused_leaving_no_file_no_row_no_index_entry(
    kind, app, app_search, client, world, session
):
    _assert_refused_leaving_nothing(app, client, world, session, ACTIVE[kind](), "pdf_active_content")


@pytest.mark.parametrize("kind", sorted(HARMLESS))
def test_pdf_with_only_harmless_navigation_is_accepted(kind):
    assert inspect_upload(io.BytesIO(HARMLESS[kind]()), "合同.pdf", max_bytes=1_000_000).pages == 1


def test_oversized_upload_is_refused(app, client, world, session):
    token = world.token("archivist")
    open_dossier(client, token, "1000000001")
    app.config["ARCHIVE_MAX_UPLOAD_BYTES"] = 1000
    try:
        response = file_via_api(client, token, "1000000001", pdf_bytes())
    finally:
        app.config["ARCHIVE_MAX_UPLOAD_BYTES"] = 50 * 1024 * 1024
    assert response.get_json()["error"]["code"] == "file_too_large"
    session.rollback()
    assert session.scalar(select(func.count(Document.id))) == 0


def test_zip_bomb_disguised_as_docx_is_refused():
    with pytest.raises(Exception) as caught:
        inspect_upload(io.BytesIO(_docx_bomb()), "a.docx", max_bytes=50 * 1024 * 1024)
    assert caught.value.code == "decompression_bomb"  # type: ignore[attr-defined]


def test_type_comes_from_the_content_not_the_name():
    info = inspect_upload(io.BytesIO(pdf_bytes()), "photo.jpg", max_bytes=10**7)
    assert info.content_type == PDF and info.safe_name == "photo.pdf" and info.pages == 1
    import docx

    out = io.BytesIO()
    docx.Document().save(out)
    assert inspect_upload(io.BytesIO(out.getvalue()), "x.pdf", max_bytes=10**7).content_type == DOCX


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd.pdf"),
        ("C:\\tmp\\合同 2024.PDF", "合同 2024.pdf"),
        ("", "document.pdf"),
        ('a<b>|"c".pdf', "a_b_c.pdf"),
    ],
)
def test_names_are_made_safe(given, expected):
    assert safe_name(given, PDF) == expected


def test_same_content_is_stored_once(app_blobs, client, world, session):
    token = world.token("archivist")
    open_dossier(client, token, "1000000001")
    content = pdf_bytes()
    first = file_via_api(client, token, "1000000001", content).get_json()
    blobs_after_first = stored_names(app_blobs)
    second = file_via_api(client, token, "1000000001", content).get_json()
    assert first["sha256"] == second["sha256"] and first["id"] != second["id"]
    assert stored_names(app_blobs) == blobs_after_first == [first["sha256"]]


def test_a_rolled_back_filing_removes_the_blob_it_created(app, app_blobs, world, session):
    from archive.services import store_upload
    from core.db import db

    content = pdf_bytes("只在回滚的归档里出现的内容。")
    with app.app_context():
        local = db.new_session()
        sha = store_upload(local, io.BytesIO(content))
        assert app_blobs.exists(sha)
        local.scalar(select(func.count(Document.id)))  # the filing's transaction
        local.rollback()
        local.close()
    assert not app_blobs.exists(sha)


def test_a_rolled_back_filing_keeps_a_blob_that_a_committed_document_shares(app, app_blobs, client, world, session):
    from archive.services import store_upload
    from core.db import db

    token = world.token("archivist")
    open_dossier(client, token, "1000000001")
    content = pdf_bytes("两次归档的同一份文件。")
    with app.app_context():
        loser = db.new_session()
        sha = store_upload(loser, io.BytesIO(content))  # stored first, by the filing that will roll back
        # meanwhile another filing of the same content stores nothing new and commits
        winner = file_via_api(client, token, "1000000001", content)
        assert winner.status_code == 201 and winner.get_json()["sha256"] == sha
        loser.scalar(select(func.count(Document.id)))  # (SQLite would have queued the two; PostgreSQL races)
        loser.rollback()
        loser.close()
    assert app_blobs.exists(sha) and app_blobs.verify(sha) == "ok"
    download = client.get(
        f"/api/v1/archive/documents/{winner.get_json()['id']}/content", headers=world.headers("archivist")
    )
    assert download.status_code == 200 and download.data == content
