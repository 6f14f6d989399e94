"""The archive's documents as the rules see them: live (not withdrawn), with recorded corrections applied.

Captured metadata never changes; a correction is a ``document_events`` row whose ``changes`` hold
``{field: {"from": ..., "to": ...}}``. The effective value of a field is the latest correction's ``to`` for
documents that have one, else the captured column. The ``IN`` test is a hashed sub-plan evaluated once, so
the correlated look-up runs only for the few corrected documents.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, Integer, case, cast, select, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from archive.models import Document, DocumentEvent


class as_date(FunctionElement[Any]):
    """A JSON string holding an ISO date, as a date (SQLite keeps dates as ISO text already)."""

    type = Date()
    inherit_cache = True
    name = "as_date"


@compiles(as_date)
def _as_date_default(element: Any, compiler: Any, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"CAST({compiler.process(value, **kw)} AS DATE)"


@compiles(as_date, "sqlite")
def _as_date_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"date({compiler.process(value, **kw)})"


def effective(field: str) -> Any:
    """The field's value after corrections, as a column expression over ``Document``."""
    column = getattr(Document, field)
    corrected = DocumentEvent.changes[(field, "to")]
    has_correction = select(DocumentEvent.document_id).where(
        DocumentEvent.kind == "corrected", DocumentEvent.changes[field].as_string().is_not(None)
    )
    latest = (
        select(corrected.as_string())
        .where(
            DocumentEvent.document_id == Document.id,
            DocumentEvent.kind == "corrected",
            DocumentEvent.changes[field].as_string().is_not(None),
        )
        .order_by(DocumentEvent.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    if field == "formed_on":
        value: Any = as_date(latest)
    elif field in {"pages", "handover_id"}:
        value = cast(latest, Integer)
    else:
        value = type_coerce(latest, column.type)
    return case((Document.id.in_(has_correction), value), else_=column)


def live_documents() -> Any:
    """One row per live document: ids, dates and the effective metadata the rules read."""
    return (
        select(
            Document.id.label("document_id"),
            Document.dossier_id,
            Document.account_no,
            Document.filed_at,
            effective("doc_type").label("doc_type"),
            effective("formed_on").label("formed_on"),
            effective("writing_material").label("writing_material"),
            effective("paper_size").label("paper_size"),
            effective("pages").label("pages"),
            effective("handover_id").label("handover_id"),
            effective("responsible_unit").label("responsible_unit"),
        )
        .where(Document.withdrawn_at.is_(None))
        .subquery("live_documents")
    )
