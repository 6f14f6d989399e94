"""Index maintenance: rebuild the index from the database, and check index and blobs against it."""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from tqdm import tqdm

from billing.models import Account
from core.db import among, db, utcnow
from core.identity import Unit

from .models import CORRECTABLE, Document, DocumentEvent, DocumentText, Dossier, apply_corrections
from .registry import blob_store, search_backend, text_extractor
from .search import entry_for
from .search.entries import entry_of
from .vocabulary import IndexStatus


def _batches(session: Session, size: int, *, include_withdrawn: bool = False) -> Iterator[list[Document]]:
    """Documents in id order, ``size`` at a time (keyset paging keeps memory flat)."""
    last_id = 0
    while True:
        stmt = (
            select(Document)
            .where(Document.id > last_id)
            .order_by(Document.id)
            .limit(size)
            .options(
                selectinload(Document.events),
                selectinload(Document.text),
                selectinload(Document.dossier).selectinload(Dossier.account),
            )
        )
        if not include_withdrawn:
            stmt = stmt.where(Document.withdrawn_at.is_(None))
        rows = list(session.scalars(stmt))
        if not rows:
            return
        yield rows
        last_id = rows[-1].id


def _stored_text(session: Session, document: Document) -> str:
    stored = document.text
    if stored is not None and stored.sha256 == document.sha256:
        return stored.text
    with blob_store().open(document.sha256) as stream:
        text, method = text_extractor().extract(stream, document.content_type)
    if stored is None:
        session.add(DocumentText(document_id=document.id, sha256=document.sha256, method=method, text=text))
    else:
        stored.sha256, stored.method, stored.text = document.sha256, method, text
    return text


def reindex(*, batch: int = 200, progress: bool = False) -> int:
    """Rebuild the index from the database into a fresh index and swap it in; returns the number indexed.

    Searches keep using the live index while the new one is built. Documents filed, corrected or withdrawn
    meanwhile are indexed into the live index by their tasks; after the swap they are caught up from the
    database (the fingerprints show which), so nothing done during the rebuild is lost."""
    backend = search_backend()
    total = 0
    session = db.new_session()
    try:
        count = session.scalar(select(Document.id).order_by(Document.id.desc()).limit(1)) or 0
        bar = tqdm(total=count, unit="doc", desc="reindex", disable=not progress)
        with backend.rebuild() as fresh:
            for rows in _batches(session, batch):
                entries = []
                for document in rows:
                    try:
                        entries.append(entry_for(document, _stored_text(session, document)))
                        document.index_status, document.index_error, document.indexed_at = (
                            IndexStatus.INDEXED,
                            "",
                            utcnow(),
                        )
                    except Exception as exc:  # one unreadable file must not stop the rebuild
                        document.index_status = IndexStatus.FAILED
                        document.index_error = f"{type(exc).__name__}: {exc}"
                fresh.upsert(entries, replace=False)
                session.commit()
                session.expunge_all()
                total += len(entries)
                bar.update(rows[-1].id - bar.n)
            session.commit()  # end the last read transaction before the swap (SQLite writers wait on it)
        bar.close()
    finally:
        session.close()
    started = time.perf_counter()
    caught_up = catch_up()
    if progress:
        tqdm.write(f"documents caught up after the swap: {caught_up} ({time.perf_counter() - started:.1f} s)")
    return total


def catch_up() -> int:
    """Bring the index in line with the database: index what is missing or stale, drop what is orphaned."""
    report = verify(blobs=False)
    backend = search_backend()
    todo = sorted(set(report.missing_from_index) | set(report.stale_in_index))
    session = db.new_session()
    try:
        for start in range(0, len(todo), 200):
            rows = session.scalars(
                select(Document)
                .where(Document.id.in_(todo[start : start + 200]))
                .options(selectinload(Document.events), selectinload(Document.text))
            ).all()
            entries = []
            for document in rows:
                with contextlib.suppress(Exception):  # its own task reports the failure
                    entries.append(entry_for(document, _stored_text(session, document)))
            backend.upsert(entries)
            session.commit()
            session.expunge_all()
    finally:
        session.close()
    backend.delete(report.orphaned_in_index)
    return len(todo) + len(report.orphaned_in_index)


@dataclass
class VerifyReport:
    missing_from_index: list[int] = field(default_factory=list)
    stale_in_index: list[int] = field(default_factory=list)
    orphaned_in_index: list[int] = field(default_factory=list)
    missing_blobs: list[str] = field(default_factory=list)
    corrupt_blobs: list[str] = field(default_factory=list)
    documents_checked: int = 0

    @property
    def ok(self) -> bool:
        return not (
            self.missing_from_index
            or self.stale_in_index
            or self.orphaned_in_index
            or self.missing_blobs
            or self.corrupt_blobs
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "documents_checked": self.documents_checked,
            "missing_from_index": self.missing_from_index,
            "stale_in_index": self.stale_in_index,
            "orphaned_in_index": self.orphaned_in_index,
            "missing_blobs": self.missing_blobs,
            "corrupt_blobs": self.corrupt_blobs,
        }

    def summary(self) -> str:
        lines = [f"checked {self.documents_checked} documents: {'OK' if self.ok else 'PROBLEMS FOUND'}"]
        for name in ("missing_from_index", "stale_in_index", "orphaned_in_index", "missing_blobs", "corrupt_blobs"):
            values = getattr(self, name)
            if values:
                shown = ", ".join(str(v) for v in values[:20]) + (" ..." if len(values) > 20 else "")
                lines.append(f"  {name.replace('_', ' ')} ({len(values)}): {shown}")
        return "\n".join(lines)


@dataclass(frozen=True)
class StoredState:
    """What verify needs of a document: its blob, whether it is withdrawn, and the fingerprint of the entry the
    index should hold for it (empty for a withdrawn document)."""

    document_id: int
    sha256: str
    withdrawn: bool
    fingerprint: str


def stored_states(session: Session, size: int = 500) -> Iterator[list[StoredState]]:
    """Every document's ``StoredState`` in id order, ``size`` at a time, from plain rows: the fingerprints
    ``entry_for`` computes, without an ORM object per document, text, dossier and account (a pass over
    100,000 documents built 400,000 of them)."""
    captured = [getattr(Document, name) for name in CORRECTABLE]
    last_id = 0
    while True:
        rows = session.execute(
            select(
                Document.id,
                Document.account_no,
                Document.sha256,
                Document.withdrawn_at,
                Document.filed_at,
                Account.holder_name,
                Unit.path,
                DocumentText.text,
                *captured,
            )
            .join(Dossier, Dossier.id == Document.dossier_id)
            .join(Account, Account.account_no == Dossier.account_no)
            .join(Unit, Unit.id == Account.unit_id)
            .outerjoin(DocumentText, DocumentText.document_id == Document.id)
            .where(Document.id > last_id)
            .order_by(Document.id)
            .limit(size)
        ).all()
        if not rows:
            return
        events: dict[int, list[tuple[str, Any]]] = defaultdict(list)
        for document_id, kind, changes in session.execute(
            select(DocumentEvent.document_id, DocumentEvent.kind, DocumentEvent.changes)
            .where(among(session, DocumentEvent.document_id, [row.id for row in rows]))
            .order_by(DocumentEvent.id)
        ):
            events[document_id].append((kind, changes))
        batch = []
        for row in rows:
            fingerprint = ""
            if row.withdrawn_at is None:
                current = apply_corrections({name: getattr(row, name) for name in CORRECTABLE}, events[row.id])
                fingerprint = entry_of(
                    document_id=row.id,
                    account_no=row.account_no,
                    holder_name=row.holder_name,
                    unit_path=row.path,
                    current=current,
                    text=row.text or "",
                    filed_at=row.filed_at,
                ).fingerprint
            batch.append(StoredState(row.id, row.sha256, row.withdrawn_at is not None, fingerprint))
        yield batch
        last_id = rows[-1].id


def verify(*, progress: bool = False, blobs: bool = True) -> VerifyReport:
    """Compare the index with the database (fingerprints) and every referenced blob with its hash
    (``blobs=False``: the index only)."""
    report = VerifyReport()
    indexed = dict(search_backend().fingerprints())
    store = blob_store()
    seen_blobs: set[str] = set()
    active: set[int] = set()
    session = db.new_session()
    try:
        for states in tqdm(stored_states(session), disable=not progress, desc="verify"):
            for state in states:
                report.documents_checked += 1
                if blobs and state.sha256 not in seen_blobs:
                    seen_blobs.add(state.sha256)
                    found = store.verify(state.sha256)
                    if found == "missing":
                        report.missing_blobs.append(state.sha256)
                    elif found == "corrupt":
                        report.corrupt_blobs.append(state.sha256)
                if state.withdrawn:
                    continue
                active.add(state.document_id)
                if state.document_id not in indexed:
                    report.missing_from_index.append(state.document_id)
                elif state.fingerprint != indexed[state.document_id]:
                    report.stale_in_index.append(state.document_id)
    finally:
        session.close()
    report.orphaned_in_index = sorted(set(indexed) - active)
    return report
