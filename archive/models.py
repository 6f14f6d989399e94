"""Archive models: one dossier per account, documents filed into it, hand-overs, and the recorded events.

Captured metadata never changes after filing: corrections and withdrawals are rows in ``document_events``
(who, why, who authorised) and ``Document.current()`` overlays them. Only the derived processing state
(index status, extracted text) is updated in place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from billing.models import Account
from core.db import Base, utcnow
from core.identity import Unit, User

from .vocabulary import IndexStatus

# Metadata fields a correction event may change (everything captured at filing except the file itself).
CORRECTABLE = (
    "doc_type",
    "title",
    "title_supplied",
    "document_no",
    "responsible_unit",
    "formed_on",
    "writing_material",
    "paper_size",
    "retention",
    "pages",
    "handover_id",
)


class Dossier(Base):
    """一户一档: the single dossier of an account (UNIQUE account_no), with its cover and reference sheet."""

    __tablename__ = "dossiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_no: Mapped[str] = mapped_column(ForeignKey("accounts.account_no"), unique=True)
    archive_code: Mapped[str] = mapped_column(String(64), unique=True)  # 档号
    title: Mapped[str] = mapped_column(String(255))  # 案卷题名
    filing_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))  # 立卷单位
    retention: Mapped[str] = mapped_column(String(16), default="permanent")  # 保管期限
    classification: Mapped[str] = mapped_column(String(16), default="内部")  # 密级
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # 备考表: notes on missing or changed items, the filer and the checker with their dates
    notes: Mapped[str] = mapped_column(Text, default="")
    filer_name: Mapped[str] = mapped_column(String(64), default="")
    checker_name: Mapped[str] = mapped_column(String(64), default="")
    checked_on: Mapped[dt.date | None]
    # the signatures: the signed-in user who signed as filer (立卷人) and as checker (检查人), and when
    filer_signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filer_signed_at: Mapped[dt.datetime | None]
    checker_signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checker_signed_at: Mapped[dt.datetime | None]
    # who builds the dossier (建档单位, archive.checklists.Builder): set from the account's capacity tier when the
    # dossier is opened, recorded again with the reference sheet; the audit checks it against the tier
    builder: Mapped[str] = mapped_column(String(24), default="", server_default="")

    account: Mapped[Account] = relationship(foreign_keys=[account_no])
    filing_unit: Mapped[Unit] = relationship()
    filer_signed_by: Mapped[User | None] = relationship(foreign_keys=[filer_signed_by_id])
    checker_signed_by: Mapped[User | None] = relationship(foreign_keys=[checker_signed_by_id])
    documents: Mapped[list[Document]] = relationship(back_populates="dossier", order_by="Document.id")


class DossierAttempt(Base):
    """A refused attempt to open a second dossier for an account (audit rule: second-dossier attempts)."""

    __tablename__ = "dossier_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_no: Mapped[str] = mapped_column(String(20), index=True)
    attempted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(16), default="api")  # api, staff, import


class Handover(Base):
    """交接记录: documents passed from one department to another; documents reference it by id."""

    __tablename__ = "handovers"
    __table_args__ = (CheckConstraint("item_count >= 0", name="item_count_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_no: Mapped[str | None] = mapped_column(ForeignKey("accounts.account_no"), index=True)
    from_department: Mapped[str] = mapped_column(String(128))
    to_department: Mapped[str] = mapped_column(String(128))
    handed_over_on: Mapped[dt.date]
    handed_by: Mapped[str] = mapped_column(String(64))
    received_by: Mapped[str] = mapped_column(String(64))
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Document(Base):
    """A filed document. Captured metadata is frozen; ``current()`` applies recorded corrections."""

    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint("pages >= 1", name="pages_positive"),
        CheckConstraint("size_bytes >= 0", name="size_non_negative"),
        CheckConstraint("index_status IN ('pending', 'indexed', 'failed')", name="index_status_known"),
        Index("ix_documents_dossier_formed", "dossier_id", "formed_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"))
    account_no: Mapped[str] = mapped_column(String(20), index=True)  # denormalised join key
    doc_type: Mapped[str] = mapped_column(String(40), index=True)
    title: Mapped[str] = mapped_column(String(255))
    title_supplied: Mapped[bool] = mapped_column(default=False)  # made up by the archivist: shown in [ ]
    document_no: Mapped[str] = mapped_column(String(64), default="")  # 文件编号
    responsible_unit: Mapped[str] = mapped_column(String(128))  # 责任者
    formed_on: Mapped[dt.date]  # 形成日期
    filed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # set by the system, never edited
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    writing_material: Mapped[str] = mapped_column(String(24))
    paper_size: Mapped[str] = mapped_column(String(8))
    retention: Mapped[str] = mapped_column(String(16), default="permanent")
    pages: Mapped[int] = mapped_column(Integer)
    pages_from_file: Mapped[bool] = mapped_column(default=False)
    handover_id: Mapped[int | None] = mapped_column(ForeignKey("handovers.id"))
    # the file: content-addressed blob
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(80))
    original_name: Mapped[str] = mapped_column(String(160))
    size_bytes: Mapped[int] = mapped_column(Integer)
    # state set by recorded events (withdrawal) and by the extraction task (derived, not records)
    withdrawn_at: Mapped[dt.datetime | None]
    index_status: Mapped[str] = mapped_column(String(16), default=IndexStatus.PENDING)
    index_error: Mapped[str] = mapped_column(Text, default="")
    index_attempts: Mapped[int] = mapped_column(Integer, default=0)
    indexed_at: Mapped[dt.datetime | None]

    dossier: Mapped[Dossier] = relationship(back_populates="documents")
    handover: Mapped[Handover | None] = relationship()
    filed_by: Mapped[User | None] = relationship()
    events: Mapped[list[DocumentEvent]] = relationship(order_by="DocumentEvent.id", back_populates="document")
    text: Mapped[DocumentText | None] = relationship(uselist=False)

    def current(self) -> dict[str, Any]:
        """The captured metadata with every recorded correction applied in order."""
        captured = {name: getattr(self, name) for name in CORRECTABLE}
        return apply_corrections(captured, ((event.kind, event.changes) for event in self.events))

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None


def apply_corrections(captured: dict[str, Any], events: Iterable[tuple[str, dict[str, Any] | None]]) -> dict[str, Any]:
    """``captured`` metadata with the changes of the ``(kind, changes)`` events, in their order, applied."""
    values = dict(captured)
    for kind, changes in events:
        if kind == "corrected":
            for name, change in (changes or {}).items():
                value = change["to"]
                if name == "formed_on" and isinstance(value, str):
                    value = dt.date.fromisoformat(value)
                values[name] = value
    return values


class DocumentEvent(Base):
    """A recorded change to a filed document: a withdrawal or a metadata correction (append-only)."""

    __tablename__ = "document_events"
    __table_args__ = (CheckConstraint("kind IN ('withdrawn', 'corrected')", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    authorised_by: Mapped[str] = mapped_column(String(64))
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {field: {"from": ..., "to": ...}}

    document: Mapped[Document] = relationship(back_populates="events")


class DocumentText(Base):
    """Text extracted from a document's file (derived; kept so a reindex never has to OCR again)."""

    __tablename__ = "document_texts"
    __table_args__ = (UniqueConstraint("document_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(16))  # pdf_text, docx, ocr, none
    text: Mapped[str] = mapped_column(Text)
    extracted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ArchiveImport(Base):
    """A batch import started from the web: a zip with ``manifest.csv`` filed row by row in the background.

    ``sha256`` names the uploaded zip in the blob store until the import ends; ``done`` counts the rows handled
    (each row commits with the count, so a redelivered task goes on where the last one stopped); ``report`` lists
    the rows refused or skipped (``line``, ``file``, ``account_no``, ``status``, ``code``, ``params``, ``detail``).
    ``unit_id`` is the importer's unit: who may see the import.
    """

    __tablename__ = "archive_imports"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status_known"),
        Index("ix_archive_imports_unit_id", "unit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    imported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    filed: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    refused: Mapped[int] = mapped_column(default=0)
    report: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]

    @property
    def progress(self) -> float:
        if self.status in ("done", "failed"):
            return 1.0
        return self.done / self.total if self.total else 0.0


class SavedSearch(Base):
    """A named archive search (the words and the filters) of one user; ``shared`` shows it to the owner's unit."""

    __tablename__ = "saved_searches"
    __table_args__ = (
        UniqueConstraint("owner_id", "name"),
        Index("ix_saved_searches_unit_id", "unit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    name: Mapped[str] = mapped_column(String(80))
    query: Mapped[str] = mapped_column(String(200), default="")
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    shared: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    owner: Mapped[User] = relationship()


# --- the PostgreSQL search backend's index (derived data; see archive/search/postgres_backend.py) ------------


class SearchEntry(Base):
    """One document as the PostgreSQL search backend indexes it: the ``IndexEntry`` values, the original text (for
    highlights) and ``terms``, a tsvector of our own rjieba tokens (GIN-indexed). Rows belong to a generation; a
    rebuild writes a new generation and ``SearchIndexState`` names the live one. No foreign key: the index is
    derived data and verify must be able to find entries whose document is gone."""

    __tablename__ = "search_entries"
    __table_args__ = (
        Index("ix_search_entries_terms", "terms", postgresql_using="gin"),
        # rows up to 8 kB keep their tsvector in the table itself (STORAGE MAIN, set after create): a search reads
        # every match's tsvector, and fetching each from the TOAST table cost three times the search
        {"postgresql_with": {"toast_tuple_target": 8160}},
    )

    generation: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    account_no: Mapped[str] = mapped_column(String(20), index=True)
    holder_name: Mapped[str] = mapped_column(String(128))
    unit_path: Mapped[str] = mapped_column(String(512))
    doc_type: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    formed_on: Mapped[dt.date]
    filed_on: Mapped[dt.date]
    fingerprint: Mapped[str] = mapped_column(String(64))
    terms: Mapped[str] = mapped_column(TSVECTOR().with_variant(Text(), "sqlite"))


class SearchIndexState(Base):
    """The one row that names the live generation of ``search_entries`` and the last one handed out."""

    __tablename__ = "search_index_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    live_generation: Mapped[int] = mapped_column(Integer, default=0)
    last_generation: Mapped[int] = mapped_column(Integer, default=0)


event.listen(
    SearchEntry.__table__,
    "after_create",
    DDL("ALTER TABLE search_entries ALTER COLUMN terms SET STORAGE MAIN").execute_if(dialect="postgresql"),
)
