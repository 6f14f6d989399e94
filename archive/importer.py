"""Bulk import: a folder or a zip plus a manifest CSV files a batch; bad rows are reported and skipped.

Manifest columns: ``file, account_no, doc_type, title, formed_on, responsible_unit, writing_material,
paper_size`` and optionally ``retention, pages, handover_id, document_no, title_supplied``. A row whose file is
already filed in that account's dossier with the same type and formation date is skipped, so a re-run files
nothing twice. Each row commits on its own: one bad row never undoes the others.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from tqdm import tqdm

from billing.models import Account
from core.db import db
from core.errors import DomainError
from core.identity import User

from .commands import DocumentMetadata, FileDocument
from .models import Document
from .services import create_dossier, dossier_for, file_document

REQUIRED_COLUMNS = ("file", "account_no", "doc_type", "title", "formed_on")


@dataclass
class RowResult:
    line: int
    file: str
    account_no: str
    status: str  # filed, skipped, error
    detail: str = ""
    document_id: int | None = None


@dataclass
class ImportResult:
    rows: list[RowResult] = field(default_factory=list)

    def counts(self) -> Counter[str]:
        return Counter(r.status for r in self.rows)

    def summary(self) -> str:
        counts = self.counts()
        filed, skipped, refused = counts["filed"], counts["skipped"], counts["error"]
        lines = [f"{len(self.rows)} rows: {filed} filed, {skipped} already filed, {refused} refused"]
        lines += [f"  line {r.line} ({r.file}): {r.detail}" for r in self.rows if r.status == "error"]
        return "\n".join(lines)

    def write_csv(self, path: Path) -> None:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["line", "file", "account_no", "status", "detail", "document_id"])
            for r in self.rows:
                writer.writerow([r.line, r.file, r.account_no, r.status, r.detail, r.document_id or ""])


class _Source:
    """Files of the batch, by the names the manifest uses; never outside the folder or the zip."""

    def __init__(self, path: Path):
        self.path = path
        self.zip = zipfile.ZipFile(path) if path.is_file() else None

    def manifest(self) -> str:
        if self.zip is not None:
            return self.zip.read("manifest.csv").decode("utf-8-sig")
        return (self.path / "manifest.csv").read_text(encoding="utf-8-sig")

    def open(self, name: str, max_bytes: int) -> IO[bytes]:
        if self.zip is not None:
            info = self.zip.getinfo(name)  # KeyError if absent
            if info.file_size > max_bytes:
                raise ValueError("file_too_large")
            return io.BytesIO(self.zip.read(info))
        root = self.path.resolve()
        target = (root / name).resolve()
        if root not in target.parents:
            raise ValueError("the file is outside the import folder")
        return open(target, "rb")


def run_import(
    source_path: Path, *, manifest: Path | None = None, username: str | None = None, progress: bool = False
) -> ImportResult:
    from flask import current_app

    source = _Source(source_path)
    text = manifest.read_text(encoding="utf-8-sig") if manifest else source.manifest()
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"the manifest lacks the columns: {', '.join(missing)}")
    rows = list(reader)
    max_bytes = int(current_app.config.get("ARCHIVE_MAX_UPLOAD_BYTES", 50 * 1024 * 1024))
    result = ImportResult()
    for line, row in enumerate(tqdm(rows, unit="row", desc="import", disable=not progress), start=2):
        result.rows.append(_import_row(source, line, row, username, max_bytes))
    return result


def _import_row(source: _Source, line: int, row: dict[str, Any], username: str | None, max_bytes: int) -> RowResult:
    name = str(row.get("file") or "").strip()
    account_no = str(row.get("account_no") or "").strip()
    outcome = RowResult(line, name, account_no, "error")
    try:
        with db.transaction() as session:
            actor = session.scalar(select(User).where(User.username == username)) if username else None
            account = session.scalar(select(Account).where(Account.account_no == account_no))
            if account is None:
                outcome.detail = "account_not_found: no such account"
                return outcome
            try:
                handle = source.open(name, max_bytes)
            except (KeyError, FileNotFoundError, IsADirectoryError):
                outcome.detail = "file_missing: the file is not in the batch"
                return outcome
            except ValueError as exc:
                outcome.detail = f"file_refused: {exc}"
                return outcome
            with handle:
                data = handle.read()
            import hashlib

            sha256 = hashlib.sha256(data).hexdigest()
            dossier = dossier_for(session, account_no) or create_dossier(session, account, actor, source="import")
            duplicate = session.scalar(
                select(Document.id).where(
                    Document.dossier_id == dossier.id,
                    Document.sha256 == sha256,
                    Document.doc_type == str(row.get("doc_type") or "").strip(),
                    Document.formed_on == _date_or_none(row.get("formed_on")),
                )
            )
            if duplicate is not None:
                outcome.status, outcome.detail, outcome.document_id = "skipped", "already filed", duplicate
                return outcome
            # a batch's own columns (account_no, file, notes...) are not the filing's
            fields = {k: v for k, v in row.items() if k in DocumentMetadata.model_fields}
            command = FileDocument.parse({**fields, "file": io.BytesIO(data), "filename": name})
            document = file_document(session, dossier, command, actor)
            outcome.status, outcome.document_id = "filed", document.id
            return outcome
    except DomainError as exc:
        outcome.status = "error"
        outcome.detail = str(exc)
        return outcome


def _date_or_none(value: Any) -> Any:
    import datetime as dt

    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None
