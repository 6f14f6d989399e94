"""Own and foreign dossiers and documents for the permission matrix."""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy import select

from archive.commands import FileDocument
from archive.models import ArchiveImport, Document, SavedSearch
from archive.samples import text_pdf
from archive.services import create_dossier, dossier_for, file_document
from core.identity import Role, User, create_user
from tests.api.resources import PER_ROLE, Params, provider
from tests.support import PASSWORD, World

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


@provider("archive_import")
def _imports(world: World, session: Any) -> tuple[Params, Params]:
    made = [
        ArchiveImport(filename="batch.zip", sha256="0" * 64, imported_by=world.users["archivist"].id, unit_id=unit.id)
        for unit in (world.unit_a, world.unit_b)
    ]
    session.add_all(made)
    session.commit()
    return {"import_id": made[0].id}, {"import_id": made[1].id}


PER_ROLE.add("saved_search")


@provider("saved_search")
def _saved_searches(world: World, session: Any, role: str = "archivist") -> tuple[Params, Params]:
    """The role's own search in unit A; a shared search of unit B's archivist (out of unit A's sight)."""
    other = session.scalar(select(User).where(User.username == "archivist-b")) or create_user(
        session, "archivist-b", PASSWORD, Role.ARCHIVIST, world.unit_b, name="archivist B"
    )
    n = len(session.scalars(select(SavedSearch.id)).all())  # the provider runs once per role: new names each time
    own = SavedSearch(owner_id=world.users[role].id, unit_id=world.unit_a.id, name=f"检索{n}", query="合同")
    foreign = SavedSearch(owner_id=other.id, unit_id=world.unit_b.id, name=f"检索{n + 1}", query="合同", shared=True)
    session.add_all([own, foreign])
    session.commit()
    return {"saved_id": own.id}, {"saved_id": foreign.id}
