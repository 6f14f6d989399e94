"""Archive services: open a dossier, file, withdraw and correct documents, record hand-overs, the catalog.

Every change is recorded in ``core.trail`` in the same transaction; indexing is queued only after commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.models import Account
from core import clock, trail
from core.db import on_commit, utcnow
from core.errors import Conflict, InvalidInput, NotFound
from core.identity import User

from . import signals
from .models import CORRECTABLE, Document, DocumentEvent, Dossier, DossierAttempt, Handover
from .registry import blob_store, setting
from .uploads import inspect_upload
from .vocabulary import DocType, IndexStatus, PaperSize, Retention, WritingMaterial

DEFAULT_MAX_UPLOAD = 50 * 1024 * 1024


# --- dossiers ------------------------------------------------------------------------------------


def dossier_for(session: Session, account_no: str) -> Dossier | None:
    return session.scalar(select(Dossier).where(Dossier.account_no == account_no))


def get_dossier(session: Session, account_no: str) -> Dossier:
    dossier = dossier_for(session, account_no)
    if dossier is None:
        raise NotFound("This account has no dossier yet.", code="dossier_not_found")
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
    return Conflict(f"Account {account_no} already has a dossier.", code="dossier_exists")


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
        filer_name=actor.name if actor else "",
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
        after={"archive_code": dossier.archive_code, "title": dossier.title},
    )
    return dossier


# --- filing --------------------------------------------------------------------------------------


@dataclass
class FilingForm:
    doc_type: str
    title: str
    formed_on: dt.date
    responsible_unit: str
    writing_material: str
    paper_size: str
    retention: str
    pages: int | None
    handover_id: int | None
    document_no: str
    title_supplied: bool


def _choice(problems: dict[str, str], data: dict[str, Any], name: str, allowed: Any, default: str | None = None) -> str:
    value = str(data.get(name) or default or "").strip()
    if value not in {str(v) for v in allowed}:
        problems[name] = f"one of {', '.join(str(v) for v in allowed)}"
    return value


def parse_filing_form(session: Session, data: dict[str, Any]) -> FilingForm:
    """Validate the filing fields (strings as they come from a form or CSV); every problem at once."""
    problems: dict[str, str] = {}
    doc_type = _choice(problems, data, "doc_type", DocType)
    title = str(data.get("title") or "").strip()
    if not title:
        problems["title"] = "required"
    elif len(title) > 255:
        problems["title"] = "at most 255 characters"
    formed_on = dt.date.min
    raw_date = str(data.get("formed_on") or "").strip()
    try:
        formed_on = dt.date.fromisoformat(raw_date)
        if formed_on > clock.today_local() + dt.timedelta(days=1):
            problems["formed_on"] = "cannot be in the future"
    except ValueError:
        problems["formed_on"] = "a date YYYY-MM-DD"
    responsible_unit = str(data.get("responsible_unit") or "").strip()
    if not responsible_unit:
        problems["responsible_unit"] = "required"
    elif len(responsible_unit) > 128:
        problems["responsible_unit"] = "at most 128 characters"
    writing_material = _choice(problems, data, "writing_material", WritingMaterial)
    paper_size = _choice(problems, data, "paper_size", PaperSize)
    retention = _choice(problems, data, "retention", Retention, default="permanent")
    pages: int | None = None
    if str(data.get("pages") or "").strip():
        try:
            pages = int(str(data["pages"]).strip())
            if not 1 <= pages <= 10_000:
                raise ValueError
        except ValueError:
            problems["pages"] = "a whole number from 1 to 10000"
    handover_id: int | None = None
    if str(data.get("handover_id") or "").strip():
        try:
            handover_id = int(str(data["handover_id"]).strip())
        except ValueError:
            problems["handover_id"] = "a hand-over record id"
        else:
            if session.get(Handover, handover_id) is None:
                problems["handover_id"] = "no such hand-over record"
    document_no = str(data.get("document_no") or "").strip()
    if len(document_no) > 64:
        problems["document_no"] = "at most 64 characters"
    supplied = str(data.get("title_supplied") or "").strip().lower() in {"1", "true", "yes", "on"}
    if problems:
        raise InvalidInput.fields(problems)
    return FilingForm(
        doc_type,
        title,
        formed_on,
        responsible_unit,
        writing_material,
        paper_size,
        retention,
        pages,
        handover_id,
        document_no,
        supplied,
    )


_NEW_BLOBS = "archive_new_blobs"
_PINS = "archive_blob_pins"


def _store_upload(session: Session, stream: IO[bytes]) -> str:
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


@event.listens_for(Session, "after_commit")
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
    session: Session,
    dossier: Dossier,
    data: dict[str, Any],
    stream: IO[bytes] | None,
    filename: str | None,
    actor: User | None,
) -> Document:
    """File a document into a dossier. Checks everything before storing anything; indexing runs after commit."""
    problems: dict[str, str] = {}
    try:
        form = parse_filing_form(session, data)
    except InvalidInput as exc:
        problems.update(exc.details.get("fields", {}))
        form = None
    if stream is None:
        problems["file"] = "required"
    if problems:
        raise InvalidInput.fields(problems)
    assert form is not None and stream is not None
    info = inspect_upload(stream, filename, max_bytes=int(setting("ARCHIVE_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD)))
    pages = info.pages or form.pages
    if pages is None:
        raise InvalidInput.fields({"pages": "required: the page count cannot be read from this file type"})
    sha256 = _store_upload(session, stream)
    document = Document(
        dossier=dossier,
        account_no=dossier.account_no,
        doc_type=form.doc_type,
        title=form.title,
        title_supplied=form.title_supplied,
        document_no=form.document_no,
        responsible_unit=form.responsible_unit,
        formed_on=form.formed_on,
        filed_at=utcnow(),
        filed_by_id=actor.id if actor else None,
        writing_material=form.writing_material,
        paper_size=form.paper_size,
        retention=form.retention,
        pages=pages,
        pages_from_file=info.pages is not None,
        handover_id=form.handover_id,
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
    document_id, account_no = document.id, dossier.account_no
    _queue_indexing(session, document_id)
    on_commit(session, lambda: signals.document_filed.send(None, document_id=document_id, account_no=account_no))
    return document


def _queue_indexing(session: Session, document_id: int) -> None:
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


def _event_fields(reason: str, authorised_by: str) -> None:
    problems = {}
    if not reason.strip():
        problems["reason"] = "required: say why"
    if not authorised_by.strip():
        problems["authorised_by"] = "required: who authorised it"
    if problems:
        raise InvalidInput.fields(problems)


def withdraw_document(
    session: Session, document: Document, actor: User | None, *, reason: str, authorised_by: str
) -> DocumentEvent:
    """Withdraw a document from its dossier: recorded (who, when, why, who authorised); never deleted."""
    _event_fields(reason, authorised_by)
    if document.withdrawn:
        raise Conflict("The document is already withdrawn.", code="already_withdrawn")
    recorded = DocumentEvent(
        document=document,
        kind="withdrawn",
        actor_id=actor.id if actor else None,
        reason=reason.strip(),
        authorised_by=authorised_by.strip(),
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
    _queue_indexing(session, document.id)
    return recorded


def correct_document(
    session: Session,
    document: Document,
    actor: User | None,
    changes: dict[str, Any],
    *,
    reason: str,
    authorised_by: str,
) -> DocumentEvent:
    """Record a metadata correction; the captured values stay and ``Document.current()`` shows the new ones."""
    _event_fields(reason, authorised_by)
    unknown = sorted(set(changes) - set(CORRECTABLE))
    if unknown or not changes:
        raise InvalidInput.fields({"changes": f"fields that can be corrected: {', '.join(CORRECTABLE)}"})
    current = document.current()
    merged = {k: ("" if v is None else v) for k, v in current.items()}
    merged.update({k: v for k, v in changes.items()})
    merged["formed_on"] = str(merged["formed_on"])
    form = parse_filing_form(session, merged)
    new_values = {
        name: getattr(form, name) if name != "pages" else (form.pages or current["pages"]) for name in changes
    }
    diff = {
        name: {"from": trail._jsonable(current[name]), "to": trail._jsonable(value)}
        for name, value in new_values.items()
        if value != current[name]
    }
    if not diff:
        raise InvalidInput("Nothing would change.", code="no_change")
    recorded = DocumentEvent(
        document=document,
        kind="corrected",
        actor_id=actor.id if actor else None,
        reason=reason.strip(),
        authorised_by=authorised_by.strip(),
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
    _queue_indexing(session, document.id)
    return recorded


# --- hand-overs ----------------------------------------------------------------------------------


def create_handover(session: Session, data: dict[str, Any], actor: User | None) -> Handover:
    problems: dict[str, str] = {}
    for name in ("from_department", "to_department", "handed_by", "received_by"):
        if not str(data.get(name) or "").strip():
            problems[name] = "required"
    try:
        handed_over_on = dt.date.fromisoformat(str(data.get("handed_over_on") or ""))
    except ValueError:
        problems["handed_over_on"] = "a date YYYY-MM-DD"
        handed_over_on = dt.date.min
    account_no = str(data.get("account_no") or "").strip() or None
    if account_no and session.scalar(select(Account.id).where(Account.account_no == account_no)) is None:
        problems["account_no"] = "no such account"
    item_count = data.get("item_count") or 0
    if not isinstance(item_count, int) or item_count < 0:
        problems["item_count"] = "a non-negative whole number"
    if problems:
        raise InvalidInput.fields(problems)
    handover = Handover(
        account_no=account_no,
        from_department=str(data["from_department"]).strip(),
        to_department=str(data["to_department"]).strip(),
        handed_over_on=handed_over_on,
        handed_by=str(data["handed_by"]).strip(),
        received_by=str(data["received_by"]).strip(),
        item_count=item_count,
        notes=str(data.get("notes") or ""),
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
            "on": handed_over_on,
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
