"""Own and foreign dossiers and documents for the permission matrix."""

from __future__ import annotations

import io
from typing import Any

from archive.commands import FileDocument
from archive.models import Document
from archive.samples import text_pdf
from archive.services import create_dossier, dossier_for, file_document
from tests.api.resources import Params, provider
from tests.support import World

_PDF: list[bytes] = []


def _document(session: Any, account: Any) -> Document:
    dossier = dossier_for(session, account.account_no) or create_dossier(session, account, None)
    fields = {
        "doc_type": "inspection_sheet",
        "title": "用电检查单",
        "formed_on": "2024-02-01",
        "responsible_unit": "用电检查班",
        "writing_material": "print",
        "paper_size": "A4",
    }
    if not _PDF:
        _PDF.append(text_pdf("用电检查单", "现场检查未发现违约用电。"))
    document = file_document(
        session, dossier, FileDocument.parse({**fields, "file": io.BytesIO(_PDF[0]), "filename": "检查单.pdf"}), None
    )
    session.commit()
    return document


@provider("dossier")
def _dossiers(world: World, session: Any) -> tuple[Params, Params]:
    for account in (world.own_account, world.foreign_account):
        if dossier_for(session, account.account_no) is None:
            create_dossier(session, account, None)
    session.commit()
    return {"account_no": world.own_account.account_no}, {"account_no": world.foreign_account.account_no}


@provider("document")
def _documents(world: World, session: Any) -> tuple[Params, Params]:
    own = _document(session, world.own_account)
    foreign = _document(session, world.foreign_account)
    return {"document_id": own.id}, {"document_id": foreign.id}
