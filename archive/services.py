"""Archive services: open a dossier, file, withdraw and correct documents, record hand-overs, the catalog.

Every change is recorded in ``core.trail`` in the same transaction. A filed document is announced in it too
(``archive.topics.DOCUMENT_FILED``; the archive's own subscriber queues its extraction and indexing); a withdrawn
or corrected one is marked pending and re-indexed after the commit (``archive-requeue-stale`` sends a pending
document again if that task is lost).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import IO, Any

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.models import Account
from core import outbox, trail
from core.db import on_commit, utcnow
from core.errors import Conflict, DomainError, InvalidInput, NotFound, Problem
from core.identity import User

from .checklists import builder_for
from .commands import (
    CorrectDocument,
    DocumentMetadata,
    FileDocument,
    RecordHandover,
    RecordReferenceSheet,
    WithdrawDocument,
)
from .models import Document, DocumentEvent, Dossier, DossierAttempt, Handover
from .registry import blob_store, setting
from .topics import DOCUMENT_FILED
from .uploads import inspect_upload
from .vocabulary import IndexStatus, Retention

DEFAULT_MAX_UPLOAD = 50 * 1024 * 1024


# --- dossiers ------------------------------------------------------------------------------------


def dossier_for(session: Session, account_no: str) -> Dossier | None:
    return session.scalar(select(Dossier).where(Dossier.account_no == account_no))


def get_dossier(session: Session, account_no: str) -> Dossier:
    dossier = dossier_for(session, account_no)
    if dossier is None:
        raise NotFound("dossier_not_found")
    return dossier


def _refuse_second_dossier(session: Session, account_no: str, actor: User | None, source: str) -> Conflict:
    """Record the refused attempt in its own committed transaction, then return the 409 to raise."""
    session.rollback()
    session.add(DossierAttempt(account_no=account_no, actor_id=actor.id if actor else None, source=source))
    trail.record(
        session,
        actor_id=actor.id if actor else None,
        action="dossier.second_attempt_refused",
        entity="dossier",
        entity_id=account_no,
        after={"source": source},
    )
    session.commit()
    return Conflict("dossier_exists", account_no=account_no)


def create_dossier(session: Session, account: Account, actor: User | None, *, source: str = "api") -> Dossier:
    """Open the account's one dossier. A second attempt is recorded (``dossier_attempts``) and refused (409).

    The UNIQUE constraint on ``dossiers.account_no`` decides races; on refusal this commits the attempt
    record and leaves the session with nothing pending.
    """
    account_no = account.account_no
    if dossier_for(session, account_no) is not None:
        raise _refuse_second_dossier(session, account_no, actor, source)
    dossier = Dossier(
        account_no=account_no,
        archive_code=f"{account.unit.code}-YX-{account_no}",
        title=f"{account.holder_name}（户号{account_no}）用电业务档案",
        filing_unit_id=account.unit_id,
        retention=Retention.PERMANENT,
        created_by_id=actor.id if actor else None,
        filer_name=(actor.name if actor else "")[:64],  # the column is shorter than a user's name
        builder=builder_for(Decimal(account.capacity_kva), str(account.category)),
    )
    session.add(dossier)
    try:
        session.flush()
    except IntegrityError:  # a concurrent request won the race (UNIQUE account_no)
        raise _refuse_second_dossier(session, account_no, actor, source) from None
    trail.record(
        session,
        actor_id=actor.id if actor else None,
        action="dossier.created",
        entity="dossier",
        entity_id=account_no,
        after={"archive_code": dossier.archive_code, "title": dossier.title, "builder": dossier.builder},
    )
    return dossier


# --- the reference sheet (备考表) ------------------------------------------------------------------


def _sheet(dossier: Dossier) -> dict[str, Any]:
    return {
        "filer_name": dossier.filer_name,
        "checker_name": dossier.checker_name,
        "checked_on": dossier.checked_on.isoformat() if dossier.checked_on else None,
        "notes": dossier.notes,
        "builder": dossier.builder,
    }


def record_reference_sheet(
    session: Session, dossier: Dossier, command: RecordReferenceSheet, actor: User | None
) -> Dossier:
    """Record the sheet's filer, checker, check date and notes. A signature attests what it signed: changing the
    filer voids the filer's signature, changing the checker or the check date voids the checker's."""
    before = _sheet(dossier)
    if command.filer_name != dossier.filer_name:
        dossier.filer_signed_by_id = dossier.filer_signed_at = None
    if command.checker_name != dossier.checker_name or command.checked_on != dossier.checked_on:
        dossier.checker_signed_by_id = dossier.checker_signed_at = None
    dossier.filer_name, dossier.checker_name = command.filer_name, command.checker_name
    dossier.checked_on, dossier.notes = command.checked_on, command.notes
    if command.builder:
        dossier.builder = command.builder
    session.flush()
    trail.record(
        session,
        actor_id=actor.id if actor else None,
        action="dossier.reference_sheet_recorded",
        entity="dossier",
        entity_id=dossier.account_no,
        before=before,
        after=_sheet(dossier),
    )
    return dossier


def sign_reference_sheet(session: Session, dossier: Dossier, role: str, actor: User) -> Dossier:
    """The signed-in user signs the sheet as its filer or its checker (who and when are recorded). The checker
    signs a sheet that names the checker and the check date, and is not who signed it as filer."""
    if role == "filer":
        if not dossier.filer_name:
            raise Conflict("reference_sheet_incomplete")
        dossier.filer_signed_by_id, dossier.filer_signed_at = actor.id, utcnow()
    elif role == "checker":
        if not dossier.checker_name or dossier.checked_on is None:
            raise Conflict("reference_sheet_incomplete")
        if dossier.filer_signed_by_id == actor.id:
            raise Conflict("checker_is_filer")
        dossier.checker_signed_by_id, dossier.checker_signed_at = actor.id, utcnow()
    else:
        raise InvalidInput.fields({"role": Problem("not_a_choice", allowed=["filer", "checker"])})
    session.flush()
    trail.record(
        session,
        actor_id=actor.id,
        action="dossier.reference_sheet_signed",
        entity="dossier",
        entity_id=dossier.account_no,
        after={"role": role, "signed_by": actor.username},
    )
    return dossier


# --- filing --------------------------------------------------------------------------------------


def _check_handover(session: Session, handover_id: int | None) -> None:
    if handover_id is not None and session.get(Handover, handover_id) is None:
        raise InvalidInput.fields({"handover_id": Problem("unknown_handover")})


_NEW_BLOBS = "archive_new_blobs"
_PINS = "archive_blob_pins"


def store_upload(session: Session, stream: IO[bytes]) -> str:
    """Store the upload's bytes and hold the blob until this transaction ends.

    Content is stored once, so another filing may share the blob. A rolled-back filing removes a blob it
    created only when no other transaction holds it and no committed document references it."""
    store = blob_store()
    sha256, created = store.put(stream)
    session.info.setdefault(_PINS, []).append(store.pin(sha256, session))
    if not store.exists(sha256):  # a rolled-back filing removed it between our put and our pin: again
        stream.seek(0)
        sha256, created = store.put(stream)
    if created:
        session.info.setdefault(_NEW_BLOBS, []).append((store, sha256))
    return sha256


def _release_pins(session: Session) -> None:
    for pin in session.info.pop(_PINS, []):
        pin.release()


def _referenced(sha256: str) -> bool:
    from core.db import db

    with db.new_session() as fresh:
        return fresh.scalar(select(Document.id).where(Document.sha256 == sha256).limit(1)) is not None


@event.listens_for(Session, "after_commit", insert=True)  # before the after-commit callbacks: the holds end first
def _keep_new_blobs(session: Session) -> None:
    session.info.pop(_NEW_BLOBS, None)
    _release_pins(session)


@event.listens_for(Session, "after_soft_rollback")
def _discard_new_blobs(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        _release_pins(session)  # ours first: discard waits for every other hold
        for store, sha256 in session.info.pop(_NEW_BLOBS, []):
            store.discard(sha256, still_needed=lambda sha=sha256: _referenced(sha))


def file_document(
    session: Session, dossier: Dossier, command: FileDocument, actor: User | None, *, announce: bool = True
) -> Document:
    """File a document into a dossier. Checks everything before storing anything.

    The filing is announced in its transaction (``DOCUMENT_FILED``), which queues the document's extraction and
    indexing once it commits; ``announce`` false files it unannounced (demo data, indexed by the caller).
    """
    _check_handover(session, command.handover_id)
    stream = command.file
    assert stream is not None  # FileDocument.parse refuses a filing without its file
    info = inspect_upload(
        stream, command.filename, max_bytes=int(setting("ARCHIVE_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD))
    )
    pages = info.pages or command.pages
    if pages is None:
        raise InvalidInput.fields({"pages": Problem("pages_required")})
    sha256 = store_upload(session, stream)
    document = Document(
        dossier=dossier,
        account_no=dossier.account_no,
        doc_type=str(command.doc_type),
        title=command.title,
        title_supplied=command.title_supplied,
        document_no=command.document_no,
        responsible_unit=command.responsible_unit,
        formed_on=command.formed_on,
        filed_at=utcnow(),
        filed_by_id=actor.id if actor else None,
        writing_material=str(command.writing_material),
        paper_size=str(command.paper_size),
        retention=str(command.retention),
        pages=pages,
        pages_from_file=info.pages is not None,
        handover_id=command.handover_id,
        sha256=sha256,
        content_type=info.content_type,
        original_name=info.safe_name,
        size_bytes=info.size,
        index_status=IndexStatus.PENDING,
    )
    session.add(document)
    session.flush()
    trail.record(
        session,
        actor_id=actor.id if actor else None,
        action="document.filed",
        entity="document",
        entity_id=document.id,
        after=document_snapshot(document),
    )
    if announce:
        outbox.put(session, DOCUMENT_FILED, {"document_id": document.id, "account_no": dossier.account_no})
    return document


MAX_BATCH_FILES = 50


@dataclass
class BatchOutcome:
    """One file of a multi-file filing: the document filed, or the refusal (nothing of it was kept)."""

    filename: str
    document_id: int | None = None
    title: str = ""
    error: DomainError | None = None


def file_batch(
    session: Session, account_no: str, items: list[tuple[dict[str, Any], IO[bytes] | None, str]], actor: User | None
) -> list[BatchOutcome]:
    """File several documents into one dossier, each with its own metadata (``items``: fields, stream, file name).

    Each file commits on its own: a refused file rolls back alone, so it leaves no blob, no row and no index
    entry, and never undoes the files filed before or after it."""
    if not items:
        raise InvalidInput.fields({"files": Problem("required")})
    if len(items) > MAX_BATCH_FILES:
        raise InvalidInput.fields({"files": Problem("too_many_files", limit=MAX_BATCH_FILES)})
    outcomes = []
    for fields, stream, filename in items:
        outcome = BatchOutcome(filename)
        try:
            dossier = get_dossier(session, account_no)
            data = {**fields, "file": stream, "filename": filename} if stream is not None else dict(fields)
            document = file_document(session, dossier, FileDocument.parse(data), actor)
            outcome.document_id, outcome.title = document.id, document.title
            session.commit()
        except DomainError as exc:
            session.rollback()
            outcome.error = exc
        outcomes.append(outcome)
    return outcomes


def _queue_reindexing(session: Session, document: Document) -> None:
    """Index the document again after the commit; pending until then, so that the stale sweep covers a lost task."""
    document.index_status = IndexStatus.PENDING
    document_id = document.id

    def send() -> None:
        from .tasks import index_document

        index_document.delay(document_id)

    on_commit(session, send)


def document_snapshot(document: Document) -> dict[str, Any]:
    data = document.current()
    data.update(
        {
            "account_no": document.account_no,
            "sha256": document.sha256,
            "content_type": document.content_type,
            "original_name": document.original_name,
            "size_bytes": document.size_bytes,
            "filed_at": document.filed_at,
        }
    )
    return data


# --- withdrawals and corrections (recorded events) ----------------------------------------------


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, StrEnum) else value


def withdraw_document(
    session: Session, document: Document, actor: User | None, command: WithdrawDocument
) -> DocumentEvent:
    """Withdraw a document from its dossier: recorded (who, when, why, who authorised); never deleted."""
    if document.withdrawn:
        raise Conflict("already_withdrawn")
    recorded = DocumentEvent(
        document=document,
        kind="withdrawn",
        actor_id=actor.id if actor else None,
        reason=command.reason,
        authorised_by=command.authorised_by,
    )
    session.add(recorded)
    document.withdrawn_at = recorded.at = utcnow()
    session.flush()
    trail.record(
        session,
        actor_id=actor.id if actor else None,
        action="document.withdrawn",
        entity="document",
        entity_id=document.id,
        after={"reason": recorded.reason, "authorised_by": recorded.authorised_by},
    )
    _queue_reindexing(session, document)
    return recorded


def correct_document(
    session: Session, document: Document, actor: User | None, command: CorrectDocument
) -> DocumentEvent:
    """Record a metadata correction; the captured values stay and ``Document.current()`` shows the new ones."""
    current = document.current()
    merged = {k: ("" if v is None else v) for k, v in current.items()}
    merged.update(command.changes)
    merged["formed_on"] = str(merged["formed_on"])
    metadata = DocumentMetadata.parse(merged)
    _check_handover(session, metadata.handover_id)
    new_values = {
        name: _plain(getattr(metadata, name)) if name != "pages" else (metadata.pages or current["pages"])
        for name in command.changes
    }
    diff = {
        name: {"from": trail._jsonable(current[name]), "to": trail._jsonable(value)}
        for name, value in new_values.items()
        if value != current[name]
    }
    if not diff:
        raise InvalidInput("no_change")
    recorded = DocumentEvent(
        document=document,
        kind="corrected",
        actor_id=actor.id if actor else None,
        reason=command.reason,
        authorised_by=command.authorised_by,
        changes=diff,
    )
    session.add(recorded)
    session.flush()
    trail.record(
        session,
        actor_id=actor.id if actor else None,
        action="document.corrected",
        entity="document",
        entity_id=document.id,
        before={k: v["from"] for k, v in diff.items()},
        after={k: v["to"] for k, v in diff.items()},
    )
    _queue_reindexing(session, document)
    return recorded


# --- hand-overs ----------------------------------------------------------------------------------


def create_handover(session: Session, command: RecordHandover, actor: User | None) -> Handover:
    account_no = command.account_no
    if account_no and session.scalar(select(Account.id).where(Account.account_no == account_no)) is None:
        raise InvalidInput.fields({"account_no": Problem("unknown_account")})
    handover = Handover(
        account_no=account_no,
        from_department=command.from_department,
        to_department=command.to_department,
        handed_over_on=command.handed_over_on,
        handed_by=command.handed_by,
        received_by=command.received_by,
        item_count=command.item_count,
        notes=command.notes,
        created_by_id=actor.id if actor else None,
    )
    session.add(handover)
    session.flush()
    trail.record(
        session,
        actor_id=actor.id if actor else None,
        action="handover.recorded",
        entity="handover",
        entity_id=handover.id,
        after={
            "account_no": account_no,
            "from": handover.from_department,
            "to": handover.to_department,
            "on": command.handed_over_on,
        },
    )
    return handover


# --- the catalog ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogEntry:
    """One line of 卷内目录: documents in order of formation date, pages numbered continuously."""

    document: Document
    item_no: int
    page_from: int
    page_to: int
    values: dict[str, Any]


def catalog(dossier: Dossier) -> list[CatalogEntry]:
    active = [d for d in dossier.documents if not d.withdrawn]
    rows = sorted(((d.current(), d) for d in active), key=lambda pair: (pair[0]["formed_on"], pair[1].id))
    entries, next_page = [], 1
    for item_no, (values, document) in enumerate(rows, start=1):
        pages = int(values["pages"])
        entries.append(CatalogEntry(document, item_no, next_page, next_page + pages - 1, values))
        next_page += pages
    return entries
