"""Bulk import: a folder or a zip plus a manifest CSV files a batch; bad rows are reported and skipped.

Manifest columns: ``file, account_no, doc_type, title, formed_on, responsible_unit, writing_material,
paper_size`` and optionally ``retention, pages, handover_id, document_no, title_supplied``. A row whose file is
already filed in that account's dossier with the same type and formation date is skipped, so a re-run files
nothing twice. Each row commits on its own: one bad row never undoes the others.
"""

from __future__ import annotations

import csv
import io
import logging
import shutil
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from celery import shared_task
from sqlalchemy import select
from tqdm import tqdm

from billing.models import Account
from core import locks, outbox
from core.db import db, utcnow
from core.errors import DomainError, InvalidInput, NotFound, Problem
from core.identity import User
from core.scope import can_see_unit, in_scope

from .commands import DocumentMetadata, FileDocument
from .models import ArchiveImport, Document
from .registry import blob_store
from .services import create_dossier, dossier_for, file_document, store_upload
from .topics import IMPORT_REQUESTED

log = logging.getLogger(__name__)
REQUIRED_COLUMNS = ("file", "account_no", "doc_type", "title", "formed_on")


@dataclass
class RowResult:
    line: int
    file: str
    account_no: str
    status: str  # filed, skipped, error
    detail: str = ""
    document_id: int | None = None
    code: str = ""  # the refusal's code (rendered in the reader's language by the web report)
    params: dict[str, Any] = field(default_factory=dict)


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

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()

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


def _import_row(
    source: _Source,
    line: int,
    row: dict[str, Any],
    username: str | None,
    max_bytes: int,
    *,
    scoped: bool = False,
) -> RowResult:
    """File one manifest row in a transaction of its own. ``scoped``: only into accounts the importer may see
    (an import from the web; the command line is the operator's)."""
    name = str(row.get("file") or "").strip()
    account_no = str(row.get("account_no") or "").strip()
    outcome = RowResult(line, name, account_no, "error")
    try:
        with db.transaction() as session:
            actor = session.scalar(select(User).where(User.username == username)) if username else None
            account = session.scalar(select(Account).where(Account.account_no == account_no))
            if account is None or (scoped and (actor is None or not can_see_unit(actor, account.unit))):
                outcome.detail = "account_not_found: no such account"
                return _refused(outcome, NotFound("account_not_found"))
            try:
                handle = source.open(name, max_bytes)
            except (KeyError, FileNotFoundError, IsADirectoryError):
                outcome.detail = "file_missing: the file is not in the batch"
                return _refused(outcome, InvalidInput.fields({"file": Problem("import_file_missing")}))
            except ValueError as exc:
                outcome.detail = f"file_refused: {exc}"
                if str(exc) == "file_too_large":
                    too_large = Problem("file_too_large", max_mib=max(1, max_bytes // (1024 * 1024)))
                    return _refused(outcome, InvalidInput.fields({"file": too_large}))
                return _refused(outcome, InvalidInput.fields({"file": Problem("import_file_missing")}))
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
        return _refused(outcome, exc)


def _refused(outcome: RowResult, exc: DomainError) -> RowResult:
    outcome.status, outcome.code, outcome.params = "error", exc.code, _plain_params(exc)
    return outcome


def _plain_params(exc: DomainError) -> dict[str, Any]:
    """The refusal's parameters as JSON, with each field's problem (``fields``: name -> [code, params])."""
    params: dict[str, Any] = {k: v if isinstance(v, int | str | list) else str(v) for k, v in exc.params.items()}
    if exc.problems:
        params["fields"] = {
            name: [
                problem.code,
                {k: v if isinstance(v, int | str | list) else str(v) for k, v in problem.params.items()},
            ]
            for name, problem in exc.problems.items()
        }
    return params


def _date_or_none(value: Any) -> Any:
    import datetime as dt

    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


# --- imports from the web: the zip is stored, a task files its rows and the page follows the counts --------------


def _read_manifest(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(", ".join(missing))
    return list(reader)


def create_web_import(session: Any, filename: str, stream: IO[bytes], *, actor: User) -> ArchiveImport:
    """Check an uploaded batch (a zip with ``manifest.csv``: InvalidInput at once when it is not one), store it
    and announce it; a task files its rows (``run_web_import``) after the commit."""
    try:
        with zipfile.ZipFile(stream) as archive:
            rows = _read_manifest(archive.read("manifest.csv").decode("utf-8-sig"))
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError):
        raise InvalidInput.fields({"file": Problem("import_not_a_batch")}) from None
    except ValueError as exc:
        raise InvalidInput.fields({"file": Problem("import_manifest_columns", missing=str(exc))}) from None
    if not rows:
        raise InvalidInput.fields({"file": Problem("import_manifest_empty")})
    stream.seek(0)
    job = ArchiveImport(
        filename=(filename or "import.zip")[:255],
        sha256=store_upload(session, stream),
        imported_by=actor.id,
        unit_id=actor.unit_id,
        status="queued",
        total=len(rows),
        report=[],
    )
    session.add(job)
    session.flush()
    outbox.put(session, IMPORT_REQUESTED, {"import_id": job.id})
    return job


def run_web_import(session: Any, import_id: int) -> ArchiveImport:
    """File the stored batch's rows from where the import stands, one committed row at a time with the counts
    (so the page's progress is real and a redelivered task never files a row twice); the zip is removed after."""
    with locks.exclusive(f"archive.import.{import_id}") as mine:
        job = session.get(ArchiveImport, import_id)
        if job is None:
            raise NotFound("archive_import_not_found")
        if not mine or job.status in ("done", "failed"):  # another delivery of this import is filing it
            return job
        return _run_web_import(session, job)


def _run_web_import(session: Any, job: ArchiveImport) -> ArchiveImport:
    actor = session.get(User, job.imported_by) if job.imported_by is not None else None
    username, sha256, start = (actor.username if actor else None), job.sha256, job.done
    job.status = "running"
    session.commit()
    from flask import current_app

    max_bytes = int(current_app.config.get("ARCHIVE_MAX_UPLOAD_BYTES", 50 * 1024 * 1024))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "batch.zip"
        with blob_store().open(sha256) as stored, open(path, "wb") as copy:
            shutil.copyfileobj(stored, copy)
        source = _Source(path)
        rows = _read_manifest(source.manifest())
        for line, row in enumerate(rows[start:], start=start + 2):
            # the job's session holds no transaction while the row files (SQLite takes the write lock at BEGIN)
            outcome = _import_row(source, line, row, username, max_bytes, scoped=True)
            job.done += 1
            if outcome.status == "filed":
                job.filed += 1
            else:
                job.skipped += outcome.status == "skipped"
                job.refused += outcome.status == "error"
                job.report = [*job.report, _report_line(outcome)]
            session.commit()
        source.close()
    job.status, job.finished_at = "done", utcnow()
    session.commit()
    blob_store().discard(sha256, still_needed=lambda: _document_uses(sha256))
    return job


def _report_line(outcome: RowResult) -> dict[str, Any]:
    return {
        "line": outcome.line,
        "file": outcome.file,
        "account_no": outcome.account_no,
        "status": outcome.status,
        "code": outcome.code,
        "params": outcome.params,
        "document_id": outcome.document_id,
    }


def _document_uses(sha256: str) -> bool:
    with db.new_session() as fresh:
        return fresh.scalar(select(Document.id).where(Document.sha256 == sha256).limit(1)) is not None


def visible_imports(user: User) -> Any:
    """Web imports of the user's unit subtree, newest first."""
    return select(ArchiveImport).where(in_scope(user, ArchiveImport.unit_id)).order_by(ArchiveImport.id.desc())


def import_dict(job: ArchiveImport) -> dict[str, Any]:
    return {
        "id": job.id,
        "filename": job.filename,
        "status": job.status,
        "progress": round(job.progress, 4),
        "total": job.total,
        "done": job.done,
        "filed": job.filed,
        "skipped": job.skipped,
        "refused": job.refused,
        "report": list(job.report),
        "error": job.error,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


@shared_task(name="archive.run_import", acks_late=True)
def import_batch(import_id: int) -> dict[str, object]:
    """File a batch uploaded from the web in a session of its own (idempotent: it goes on where it stopped)."""
    session = db.new_session()
    try:
        job = run_web_import(session, int(import_id))
        return {"import_id": job.id, "status": job.status, "done": job.done}
    except Exception as exc:  # a stored batch that cannot be read: the page says so instead of running forever
        session.rollback()
        log.exception("archive import %s failed", import_id)
        failed = session.get(ArchiveImport, int(import_id))
        if failed is not None:
            failed.status, failed.error, failed.finished_at = "failed", f"{type(exc).__name__}: {exc}"[:500], utcnow()
            session.commit()
        return {"import_id": import_id, "status": "failed"}
    finally:
        session.close()


def queue_imports(payloads: list[dict[str, Any]]) -> None:
    """The archive's subscriber of ``IMPORT_REQUESTED``: queue each stored batch's import."""
    for payload in payloads:
        import_batch.delay(int(payload["import_id"]))
