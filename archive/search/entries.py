"""From a filed document (current metadata plus extracted text) to what the index stores."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from ..interfaces import IndexEntry
from ..models import Document


def fingerprint_of(values: dict[str, object]) -> str:
    canonical = json.dumps(values, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def entry_of(
    *,
    document_id: int,
    account_no: str,
    holder_name: str,
    unit_path: str,
    current: dict[str, Any],
    text: str,
    filed_at: dt.datetime,
) -> IndexEntry:
    """The index entry from plain values (``current``: the metadata with corrections applied); its fingerprint
    changes whenever anything indexed changes."""
    title = f"[{current['title']}]" if current["title_supplied"] else str(current["title"])
    values: dict[str, object] = {
        "document_id": document_id,
        "account_no": account_no,
        "holder_name": holder_name,
        "unit_path": unit_path,
        "doc_type": str(current["doc_type"]),
        "title": title,
        "text": text,
        "formed_on": current["formed_on"],
        "filed_on": filed_at.date(),
    }
    return IndexEntry(
        document_id=document_id,
        account_no=account_no,
        holder_name=holder_name,
        unit_path=unit_path,
        doc_type=str(current["doc_type"]),
        title=title,
        text=text,
        formed_on=current["formed_on"],
        filed_on=filed_at.date(),
        fingerprint=fingerprint_of(values),
    )


def entry_for(document: Document, text: str) -> IndexEntry:
    """The index entry of a document (loaded with its events, dossier and account)."""
    account = document.dossier.account
    return entry_of(
        document_id=document.id,
        account_no=document.account_no,
        holder_name=account.holder_name,
        unit_path=account.unit.path,
        current=document.current(),
        text=text,
        filed_at=document.filed_at,
    )
