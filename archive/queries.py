"""Read models: what the API and the staff pages show of dossiers, documents and search results."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from billing.models import Account
from core.errors import InvalidInput, Problem
from core.identity import User
from core.scope import Viewer, in_scope, scope_path

from .models import Document, Dossier
from .registry import search_backend
from .search import SearchQuery
from .services import catalog
from .vocabulary import DocType


def visible_dossiers(user: User, account_prefix: str | None = None) -> Select[Any]:
    """Dossiers of accounts in the user's unit subtree (customers: none), by account number."""
    stmt = (
        select(Dossier).join(Account, Account.account_no == Dossier.account_no).where(in_scope(user, Account.unit_id))
    )
    if account_prefix:
        stmt = stmt.where(Dossier.account_no.startswith(account_prefix))
    return stmt.order_by(Dossier.account_no)


def dossier_summary(dossier: Dossier) -> dict[str, Any]:
    return {
        "account_no": dossier.account_no,
        "archive_code": dossier.archive_code,
        "title": dossier.title,
        "holder_name": dossier.account.holder_name,
        "documents": sum(1 for d in dossier.documents if not d.withdrawn),
    }


def cover(dossier: Dossier) -> dict[str, Any]:
    """案卷封面 (GB/T 11822): archive code, title, filing unit, start/end dates, retention, classification."""
    entries = catalog(dossier)
    dates = [e.values["formed_on"] for e in entries]
    return {
        "archive_code": dossier.archive_code,
        "title": dossier.title,
        "filing_unit": dossier.filing_unit.name,
        "start_date": min(dates) if dates else None,
        "end_date": max(dates) if dates else None,
        "retention": dossier.retention,
        "classification": dossier.classification,
        "holder_name": dossier.account.holder_name,
        "capacity_kva": dossier.account.capacity_kva,
        "connected_on": dossier.account.connected_on,
        "created_at": dossier.created_at,
    }


def dossier_view(dossier: Dossier) -> dict[str, Any]:
    entries = catalog(dossier)
    withdrawn = [d for d in dossier.documents if d.withdrawn]
    return {
        "account_no": dossier.account_no,
        "cover": cover(dossier),
        "documents": [
            {
                "id": e.document.id,
                "item_no": e.item_no,
                "doc_type": e.values["doc_type"],
                "title": _shown_title(e.values),
                "document_no": e.values["document_no"],
                "formed_on": e.values["formed_on"],
                "page_from": e.page_from,
                "page_to": e.page_to,
                "pages": e.values["pages"],
                "responsible_unit": e.values["responsible_unit"],
                "writing_material": e.values["writing_material"],
                "paper_size": e.values["paper_size"],
                "retention": e.values["retention"],
                "handover_id": e.values["handover_id"],
                "filed_at": e.document.filed_at,
                "index_status": e.document.index_status,
            }
            for e in entries
        ],
        "withdrawn": [{"id": d.id, "title": d.title, "withdrawn_at": d.withdrawn_at} for d in withdrawn],
        "page_count": entries[-1].page_to if entries else 0,
        "reference_sheet": {
            "notes": dossier.notes,
            "filer": dossier.filer_name,
            "checker": dossier.checker_name,
            "checked_on": dossier.checked_on,
            "filer_signed_by": dossier.filer_signed_by.name if dossier.filer_signed_by else None,
            "filer_signed_at": dossier.filer_signed_at,
            "checker_signed_by": dossier.checker_signed_by.name if dossier.checker_signed_by else None,
            "checker_signed_at": dossier.checker_signed_at,
        },
    }


def _shown_title(values: dict[str, Any]) -> str:
    return f"[{values['title']}]" if values["title_supplied"] else str(values["title"])


def document_view(document: Document, *, events: bool = False) -> dict[str, Any]:
    values = document.current()
    page_from = page_to = None
    item_no = None
    for entry in catalog(document.dossier):
        if entry.document.id == document.id:
            item_no, page_from, page_to = entry.item_no, entry.page_from, entry.page_to
    data: dict[str, Any] = {
        "id": document.id,
        "account_no": document.account_no,
        "item_no": item_no,
        "doc_type": values["doc_type"],
        "title": _shown_title(values),
        "document_no": values["document_no"],
        "formed_on": values["formed_on"],
        "responsible_unit": values["responsible_unit"],
        "writing_material": values["writing_material"],
        "paper_size": values["paper_size"],
        "retention": values["retention"],
        "pages": values["pages"],
        "page_from": page_from,
        "page_to": page_to,
        "handover_id": values["handover_id"],
        "filed_at": document.filed_at,
        "content_type": document.content_type,
        "original_name": document.original_name,
        "size_bytes": document.size_bytes,
        "sha256": document.sha256,
        "index_status": document.index_status,
        "index_error": document.index_error,
        "withdrawn_at": document.withdrawn_at,
    }
    if events:
        data["events"] = [
            {
                "kind": e.kind,
                "at": e.at,
                "actor_id": e.actor_id,
                "reason": e.reason,
                "authorised_by": e.authorised_by,
                "changes": e.changes,
            }
            for e in document.events
        ]
    return data


_UNQUOTED_NUMBER = re.compile(r'"[^"]*"|(?<![\w:])(\d{6,20})(?![\w*~])')


def account_in_query(session: Session, user: Viewer, q: str) -> tuple[str, str | None]:
    """An account number among the words (``3302000001 合同``): the words without it and the account, when the user
    may see an account of that number; otherwise the query as it is. Numbers inside a quoted phrase stay words."""
    for match in _UNQUOTED_NUMBER.finditer(q):
        number = match.group(1)
        if number is None:
            continue
        visible = session.scalar(
            select(Account.account_no).where(Account.account_no == number, in_scope(user, Account.unit_id))
        )
        if visible is not None:
            rest = (q[: match.start()] + " " + q[match.end() :]).strip()
            return " ".join(rest.split()) if '"' not in rest else rest, visible
    return q, None


def search_documents(
    session: Session,
    user: Viewer,
    *,
    q: str,
    doc_type: str | None = None,
    account_no: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    page: int = 1,
    per_page: int = 20,
) -> dict[str, Any]:
    """Search within the caller's unit scope; withdrawn documents are not in the index."""
    problems: dict[str, Problem] = {}
    if doc_type and doc_type not in set(DocType):
        problems["doc_type"] = Problem("not_a_choice", allowed=list(DocType))
    if date_from and date_to and date_from > date_to:
        problems["from"] = Problem("after_end")
    if problems:
        raise InvalidInput.fields(problems)
    unit_path = scope_path(user)
    if unit_path is None:
        return {"items": [], "total": 0, "page": page, "per_page": per_page}
    from_query = None
    if not account_no:
        q, from_query = account_in_query(session, user, q)
        account_no = from_query
    result = search_backend().search(
        SearchQuery(
            q=q,
            doc_type=doc_type or None,
            account_no=account_no or None,
            date_from=date_from,
            date_to=date_to,
            unit_path=unit_path,
            page=page,
            per_page=per_page,
        )
    )
    return {
        "items": [
            {
                "document_id": hit.document_id,
                "account_no": hit.account_no,
                "title": hit.title,
                "doc_type": hit.doc_type,
                "formed_on": hit.formed_on,
                "score": round(hit.score, 4),
                "highlight": hit.highlight,
                "page": hit.page,
            }
            for hit in result.items
        ],
        "account_from_query": from_query,
        "total": result.total,
        "page": page,
        "per_page": per_page,
    }
