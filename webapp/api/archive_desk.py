"""Archive API for what the archivist's desk pages do: batch imports from an uploaded zip (start, progress and the
report of what was refused), saved searches (own and shared per unit) and search results as CSV."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from archive.importer import create_web_import, import_dict, visible_imports
from archive.models import ArchiveImport, SavedSearch
from archive.queries import search_documents
from archive.saved_searches import (
    SaveSearch,
    delete_saved_search,
    save_search,
    update_saved_search,
    visible_saved_searches,
)
from core.db import db
from core.errors import InvalidInput, NotFound, Problem
from core.identity import User

from ..staff.archive_desk import search_results_csv
from . import api
from .archive import READERS, WRITERS, SearchIn
from .framework import PageQuery, allow, caller, endpoint, paginate, register_resource


class ImportOut(BaseModel):
    id: int
    filename: str
    status: str = Field(description="queued, running, done or failed")
    progress: float = Field(description="0 to 1")
    total: int
    done: int
    filed: int
    skipped: int
    refused: int
    report: list[dict[str, Any]] = Field(description="each row refused or already filed: line, status, code, params")
    error: str | None
    created_at: dt.datetime | None
    finished_at: dt.datetime | None


class ImportPageOut(BaseModel):
    items: list[ImportOut]
    page: int
    per_page: int
    total: int


def _visible_import(user: User, import_id: int) -> ArchiveImport:
    job = db.session.scalar(visible_imports(user).where(ArchiveImport.id == import_id))
    if job is None:
        raise NotFound("archive_import_not_found")
    return job


def _resolve_import(session: Session, user: User, path: dict[str, Any]) -> ArchiveImport:
    return _visible_import(user, int(path["import_id"]))


def _resolve_saved_search(session: Session, user: User, path: dict[str, Any]) -> SavedSearch:
    saved = session.scalar(visible_saved_searches(user).where(SavedSearch.id == int(path["saved_id"])))
    if saved is None:
        raise NotFound("saved_search_not_found")
    return saved


register_resource("archive_import", _resolve_import)
register_resource("saved_search", _resolve_saved_search)


@endpoint(
    api,
    "/archive/imports",
    methods=["POST"],
    access=allow(*WRITERS),
    status=202,
    response=ImportOut,
    summary="Start a batch import from an uploaded zip holding manifest.csv and the files it names (as the "
    "staff page does); a worker files the rows; poll GET /archive/imports/{id}",
    multipart={"file": "binary"},
    extra_responses={422: "not a batch: no zip, no manifest.csv, missing columns or no rows (details.file)"},
)
def start_archive_import() -> Any:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput.fields({"file": Problem("required")})
    job = create_web_import(db.session, upload.filename, upload.stream, actor=caller())
    return import_dict(job), 202


@endpoint(
    api,
    "/archive/imports",
    access=allow(*READERS),
    query=PageQuery,
    response=ImportPageOut,
    summary="Batch imports of the caller's unit subtree, newest first",
)
def list_archive_imports(query: PageQuery) -> Any:
    return paginate(db.session, visible_imports(caller()), query, import_dict)


@endpoint(
    api,
    "/archive/imports/<int:import_id>",
    access=allow(*READERS, resource="archive_import"),
    response=ImportOut,
    summary="A batch import's progress and, row by row, what was refused (code and params) or already filed",
    extra_responses={404: "no such import in the caller's scope"},
)
def get_archive_import(import_id: int) -> Any:
    return import_dict(_visible_import(caller(), import_id))


# --- saved searches --------------------------------------------------------------------------------------------


class SavedSearchOut(BaseModel):
    id: int
    name: str
    q: str
    filters: dict[str, str] = Field(description="doc_type, account_no, from, to (those given)")
    shared: bool = Field(description="offered to every user who can see the owner's unit")
    mine: bool = Field(description="the caller's own (only the owner changes or deletes it)")
    owner: str


class SavedSearchPageOut(BaseModel):
    items: list[SavedSearchOut]
    page: int
    per_page: int
    total: int


def _saved(saved: SavedSearch) -> dict[str, Any]:
    return {
        "id": saved.id,
        "name": saved.name,
        "q": saved.query,
        "filters": dict(saved.filters),
        "shared": saved.shared,
        "mine": saved.owner_id == caller().id,
        "owner": saved.owner.name or saved.owner.username,
    }


@endpoint(
    api,
    "/archive/saved-searches",
    access=allow(*READERS),
    query=PageQuery,
    response=SavedSearchPageOut,
    summary="The caller's saved searches and those shared in the units the caller may see, by name",
)
def list_saved_searches(query: PageQuery) -> Any:
    return paginate(db.session, visible_saved_searches(caller()), query, _saved)


@endpoint(
    api,
    "/archive/saved-searches",
    methods=["POST"],
    access=allow(*READERS),
    body=SaveSearch,
    status=201,
    response=SavedSearchOut,
    summary="Save a search under a name (saving one of the caller's names again replaces what it searches)",
)
def create_saved_search(body: SaveSearch) -> Any:
    return _saved(save_search(db.session, caller(), body)), 201


@endpoint(
    api,
    "/archive/saved-searches/<int:saved_id>",
    methods=["PUT"],
    access=allow(*READERS, resource="saved_search"),
    body=SaveSearch,
    response=SavedSearchOut,
    summary="Change one of the caller's saved searches (name, words, filters, shared)",
    extra_responses={404: "not a saved search of the caller's", 409: "saved_search_name_taken"},
)
def update_saved_search_api(saved_id: int, body: SaveSearch) -> Any:
    return _saved(update_saved_search(db.session, caller(), saved_id, body))


@endpoint(
    api,
    "/archive/saved-searches/<int:saved_id>",
    methods=["DELETE"],
    access=allow(*READERS, resource="saved_search"),
    status=204,
    summary="Delete one of the caller's saved searches",
    extra_responses={404: "not a saved search of the caller's"},
)
def delete_saved_search_api(saved_id: int) -> Any:
    delete_saved_search(db.session, caller(), saved_id)
    return "", 204


@endpoint(
    api,
    "/archive/search.csv",
    access=allow(*READERS),
    query=SearchIn,
    summary="Every result of a search (at most 5,000) as CSV, as the search page exports it (words, a type or "
    "an account are required)",
    extra_responses={422: "no words, type or account to search for (details.fields.q)"},
    content_type="text/csv",
)
def search_csv(query: SearchIn) -> Any:
    if not (query.q or query.doc_type or query.account_no):  # as the page: a search, not the whole archive
        raise InvalidInput.fields({"q": Problem("required")})

    def run(page: int) -> dict[str, Any]:
        return search_documents(
            db.session,
            caller(),
            q=query.q,
            doc_type=query.doc_type,
            account_no=query.account_no,
            date_from=query.from_,
            date_to=query.to,
            page=page,
            per_page=200,
        )

    return search_results_csv(run)
