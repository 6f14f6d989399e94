"""From a filed document (current metadata plus extracted text) to what the index stores."""

from __future__ import annotations

import hashlib
import json

from ..interfaces import IndexEntry
from ..models import Document


def fingerprint_of(values: dict[str, object]) -> str:
    canonical = json.dumps(values, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def entry_for(document: Document, text: str) -> IndexEntry:
    """The index entry of a document; its fingerprint changes whenever anything indexed changes."""
    current = document.current()
    title = f"[{current['title']}]" if current["title_supplied"] else str(current["title"])
    account = document.dossier.account
    values: dict[str, object] = {
        "document_id": document.id,
        "account_no": document.account_no,
        "holder_name": account.holder_name,
        "unit_path": account.unit.path,
        "doc_type": str(current["doc_type"]),
        "title": title,
        "text": text,
        "formed_on": current["formed_on"],
        "filed_on": document.filed_at.date(),
    }
    return IndexEntry(
        document_id=document.id,
        account_no=document.account_no,
        holder_name=account.holder_name,
        unit_path=account.unit.path,
        doc_type=str(current["doc_type"]),
        title=title,
        text=text,
        formed_on=current["formed_on"],
        filed_on=document.filed_at.date(),
        fingerprint=fingerprint_of(values),
    )
