"""Archive API: dossiers (one per account), filing with upload, documents and their content, search, PDF."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, request, stream_with_context
from pydantic import Field
from sqlalchemy.orm import Session

from archive import services
from archive.commands import CorrectDocument, FileDocument, RecordHandover, WithdrawDocument
from archive.interfaces import BlobCorrupt
from archive.models import Document, Dossier
from archive.printing import dossier_pdf
from archive.queries import document_view, dossier_summary, dossier_view, search_documents, visible_dossiers
from archive.registry import blob_store
from billing.accounts import get_visible_account
from core.db import db
from core.errors import Conflict, NotFound
from core.identity import Role, User

from ..inputs import path_id
from . import api
from .framework import ApiModel, PageQuery, allow, caller, endpoint, paginate, register_resource, viewer

WRITERS = (Role.ARCHIVIST, Role.ADMIN)
READERS = (Role.ARCHIVIST, Role.SUPERVISOR, Role.ADMIN)


def _resolve_dossier(session: Session, user: User, path: dict[str, Any]) -> Dossier:
    account = get_visible_account(session, user, str(path["account_no"]))
    return services.get_dossier(session, account.account_no)


def _resolve_document(session: Session, user: User, path: dict[str, Any]) -> Document:
    document_id = path_id(path["document_id"])
    document = session.get(Document, document_id) if document_id is not None else None
    if document is None:
        raise NotFound("document_not_found")
    try:
        get_visible_account(session, user, document.account_no)
    except NotFound:
        raise NotFound("document_not_found") from None
    return document


register_resource("dossier", _resolve_dossier)
register_resource("document", _resolve_document)


class DossierIn(ApiModel):
    account_no: str = Field(pattern=r"^\d{1,20}$")


class DossierListQuery(PageQuery):
    account_no: str | None = Field(None, max_length=20, description="account number or its beginning")


class SearchIn(PageQuery):
    q: str = Field("", max_length=200)
    doc_type: str | None = None
    account_no: str | None = Field(None, max_length=20)
    from_: dt.date | None = Field(None, alias="from")
    to: dt.date | None = None
    per_page: int = Field(20, ge=1, le=100)


@endpoint(
    api,
    "/archive/dossiers",
    methods=["POST"],
    access=allow(*WRITERS),
    body=DossierIn,
    status=201,
    summary="Open the account's one dossier (409 dossier_exists for a second, which is recorded)",
    extra_responses={404: "no such account in the caller's scope", 409: "dossier_exists"},
)
def create_dossier(body: DossierIn) -> Any:
    user = caller()
    account = get_visible_account(db.session, user, body.account_no)
    dossier = services.create_dossier(db.session, account, user)
    return dossier_view(dossier), 201


@endpoint(api, "/archive/dossiers", access=allow(*READERS), query=DossierListQuery, summary="Dossiers by account no.")
def list_dossiers(query: DossierListQuery) -> Any:
    stmt = visible_dossiers(caller(), query.account_no)
    return paginate(db.session, stmt, query, dossier_summary)


@endpoint(
    api,
    "/archive/dossiers/<account_no>",
    access=allow(*READERS, resource="dossier"),
    summary="A dossier: cover, catalog (item numbers, page ranges) and page count",
)
def get_dossier(account_no: str) -> Any:
    return dossier_view(_resolve_dossier(db.session, caller(), {"account_no": account_no}))


@endpoint(
    api,
    "/archive/dossiers/<account_no>/documents",
    methods=["POST"],
    access=allow(*WRITERS, resource="dossier"),
    status=201,
    summary="File a document (multipart upload); indexing runs after the filing commits",
    multipart={
        "file": "binary",
        "doc_type": "string",
        "title": "string",
        "formed_on": "date",
        "responsible_unit": "string",
        "writing_material": "string",
        "paper_size": "string",
        "retention": "string",
        "pages": "integer",
        "handover_id": "integer",
        "document_no": "string",
        "title_supplied": "boolean",
    },
    extra_responses={422: "bad type, size, date or file (code says which)"},
)
def file_document(account_no: str) -> Any:
    user = caller()
    dossier = _resolve_dossier(db.session, user, {"account_no": account_no})
    upload = request.files.get("file")
    # other form fields are ignored as they always were (a filed_at given is not the filing date)
    data: dict[str, Any] = {key: request.form.get(key) for key in request.form if key in FileDocument.model_fields}
    if upload is not None:
        data.update(file=upload.stream, filename=upload.filename)
    document = services.file_document(db.session, dossier, FileDocument.parse(data), user)
    db.session.flush()
    return document_view(document), 201


@endpoint(api, "/archive/documents/<document_id>", access=allow(*READERS, resource="document"), summary="A document")
def get_document(document_id: str) -> Any:
    return document_view(_resolve_document(db.session, caller(), {"document_id": document_id}), events=True)


@endpoint(
    api,
    "/archive/documents/<document_id>/content",
    access=allow(*READERS, resource="document"),
    summary="The original file, streamed with its content type",
    content_type="application/octet-stream",
)
def get_document_content(document_id: str) -> Any:
    document = _resolve_document(db.session, caller(), {"document_id": document_id})
    try:
        handle = blob_store().open(document.sha256)
    except FileNotFoundError:
        raise NotFound("blob_missing") from None
    except BlobCorrupt:
        raise Conflict("blob_corrupt") from None

    def chunks() -> Any:
        with handle:
            while chunk := handle.read(64 * 1024):
                yield chunk

    inline = request.args.get("download") != "1"
    from urllib.parse import quote

    disposition = "inline" if inline else "attachment"
    response = Response(stream_with_context(chunks()), mimetype=document.content_type)
    response.headers["Content-Length"] = str(document.size_bytes)
    response.headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(document.original_name)}"
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["ETag"] = f'"{document.sha256}"'
    return response


@endpoint(
    api,
    "/archive/documents/<document_id>/withdrawal",
    methods=["POST"],
    access=allow(*WRITERS, resource="document"),
    body=WithdrawDocument,
    status=201,
    summary="Withdraw a document (recorded with who, why and who authorised; never deleted)",
)
def withdraw_document(document_id: str, body: WithdrawDocument) -> Any:
    user = caller()
    document = _resolve_document(db.session, user, {"document_id": document_id})
    services.withdraw_document(db.session, document, user, body)
    return document_view(document, events=True), 201


@endpoint(
    api,
    "/archive/documents/<document_id>/corrections",
    methods=["POST"],
    access=allow(*WRITERS, resource="document"),
    body=CorrectDocument,
    status=201,
    summary="Correct a document's metadata (a recorded event; the captured values are kept)",
)
def correct_document(document_id: str, body: CorrectDocument) -> Any:
    user = caller()
    document = _resolve_document(db.session, user, {"document_id": document_id})
    services.correct_document(db.session, document, user, body)
    return document_view(document, events=True), 201


@endpoint(
    api,
    "/archive/handovers",
    methods=["POST"],
    access=allow(*WRITERS),
    body=RecordHandover,
    status=201,
    summary="Record a hand-over (交接记录) that documents can reference by handover_id",
)
def create_handover(body: RecordHandover) -> Any:
    user = caller()
    if body.account_no:
        get_visible_account(db.session, user, body.account_no)
    handover = services.create_handover(db.session, body, user)
    return {"id": handover.id, **body.model_dump()}, 201


@endpoint(
    api,
    "/archive/dossiers/<account_no>/catalog.pdf",
    access=allow(*READERS, resource="dossier"),
    summary="The printable cover, catalog and reference sheet (PDF)",
    content_type="application/pdf",
)
def get_catalog_pdf(account_no: str) -> Any:
    dossier = _resolve_dossier(db.session, caller(), {"account_no": account_no})
    data = dossier_pdf(dossier)
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="dossier-{dossier.account_no}.pdf"'},
    )


@endpoint(
    api,
    "/archive/search",
    access=allow(*READERS),
    query=SearchIn,
    summary="Full-text search (Chinese words, quoted phrases) with filters, highlights and paging",
)
def search(query: SearchIn) -> Any:
    return search_documents(
        db.session,
        viewer(),  # what the scope reads: no ORM user is made
        q=query.q,
        doc_type=query.doc_type,
        account_no=query.account_no,
        date_from=query.from_,
        date_to=query.to,
        page=query.page,
        per_page=query.per_page,
    )
