"""The archivist's desk: several files filed at once into a dossier, and batch imports from the web with their
progress and the report of what was refused."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import ImmutableMultiDict

from archive import services
from archive.commands import DocumentMetadata, RecordReferenceSheet
from archive.importer import create_web_import, import_dict, visible_imports
from archive.models import ArchiveImport
from archive.saved_searches import FILTERS, SaveSearch, delete_saved_search, save_search, search_args
from billing.accounts import get_visible_account
from core.db import db
from core.errors import DomainError, InvalidInput, NotFound, Problem
from webapp.exports import csv_response
from webapp.templating import STAFF_NAV

from ..errors import FormErrors, error_message, form_errors, render
from . import staff
from .access import staff_required, staff_user
from .archive import READERS, WRITERS, _filing_labels, archive_dossier, archive_search, run_search, searched

STAFF_NAV.append(("staff.archive_imports", "Batch import", frozenset(READERS)))
IMPORT_STATUS = {"queued": _l("queued"), "running": _l("running"), "done": _l("done"), "failed": _l("failed")}


@staff.context_processor
def _import_label_helper() -> dict[str, Any]:
    return {"import_label": lambda code: str(IMPORT_STATUS.get(code, code))}


# the fields each file of a multi-file filing may have of its own (the others are the first file's for all)
PER_FILE = ("doc_type", "title", "document_no", "formed_on", "pages")


def _batch_items(files: list[Any], form: Any) -> list[tuple[dict[str, Any], Any, str]]:
    """Each file with its metadata: the form's fields (the first file's) overridden by ``file-<n>-<field>``."""
    shared = {key: form.get(key) for key in form if key != "csrf_token" and not key.startswith("file-")}
    items = []
    for number, upload in enumerate(files):
        own = {name: form.get(f"file-{number}-{name}") for name in DocumentMetadata.model_fields}
        fields = {**shared, **{name: value for name, value in own.items() if value is not None}}
        items.append((fields, upload.stream, upload.filename or ""))
    return items


def _reason(exc: DomainError) -> str:
    return " ".join(form_errors(exc, {**_filing_labels(), "file": _("File")}).summary) or error_message(exc)


@staff.post("/archive/dossiers/<account_no>/documents/batch")
@staff_required(*WRITERS)
def archive_file_batch(account_no: str) -> Any:
    """Several files at once, each filed (or refused) on its own; the dossier page reports each file."""
    user = staff_user()
    try:
        get_visible_account(db.session, user, account_no)
    except NotFound:
        abort(404)
    files = [f for f in request.files.getlist("files") if f and f.filename]
    try:
        outcomes = services.file_batch(db.session, account_no, _batch_items(files, request.form), user)
    except DomainError as exc:
        db.session.rollback()
        errors = form_errors(exc, {**_filing_labels(), "files": _("Files")})
        return archive_dossier(account_no, errors=errors, batch_form=True), 422
    report = [
        {
            "filename": o.filename,
            "document_id": o.document_id,
            "title": o.title,
            "reason": _reason(o.error) if o.error else "",
        }
        for o in outcomes
    ]
    filed = sum(1 for r in report if r["document_id"])
    status = 200 if filed else 422
    return archive_dossier(account_no, batch=report), status


# --- batch imports from the web -------------------------------------------------------------------------------


def _import_labels() -> dict[str, str]:
    return {"file": _("Batch (zip with manifest.csv)")}


def _row_reason(line: dict[str, Any]) -> str:
    """A refused row's reason in the reader's language (each field's problem with its label)."""
    if line["status"] == "skipped":
        return _("Already filed (document no. %(id)s).", id=line.get("document_id") or "")
    params = dict(line.get("params") or {})
    fields = params.pop("fields", None)
    if fields:
        labels = _filing_labels()
        return "; ".join(
            _("%(field)s: %(problem)s", field=labels.get(name, name), problem=render(code, problem_params))
            for name, (code, problem_params) in fields.items()
        )
    return render(line.get("code") or "invalid_input", params)


def _visible_import(import_id: int) -> ArchiveImport:
    job = db.session.scalar(visible_imports(staff_user()).where(ArchiveImport.id == import_id))
    if job is None:
        abort(404)
    return job


@staff.get("/archive/imports")
@staff_required(*READERS)
def archive_imports(errors: FormErrors | None = None) -> Any:
    user = staff_user()
    jobs = [import_dict(j) for j in db.session.scalars(visible_imports(user).limit(30))]
    return render_template(
        "archive/imports.html", imports=jobs, errors=errors or FormErrors(), can_file=user.role in WRITERS
    )


@staff.post("/archive/imports")
@staff_required(*WRITERS)
def archive_import_upload() -> Any:
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise InvalidInput.fields({"file": Problem("required")})
        job = create_web_import(db.session, upload.filename, upload.stream, actor=staff_user())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return archive_imports(errors=form_errors(exc, _import_labels())), 422
    return redirect(url_for("staff.archive_import", import_id=job.id))


@staff.get("/archive/imports/<int:import_id>")
@staff_required(*READERS)
def archive_import(import_id: int) -> Any:
    """One batch: its progress while it runs (the page follows it), then the rows refused or already filed."""
    job = import_dict(_visible_import(import_id))
    for line in job["report"]:
        line["reason"] = _row_reason(line)
    return render_template("archive/import.html", job=job)


@staff.get("/archive/imports/<int:import_id>/progress")
@staff_required(*READERS)
def archive_import_progress(import_id: int) -> Any:
    job = import_dict(_visible_import(import_id))
    keys = ("id", "status", "progress", "total", "done", "filed", "skipped", "refused")
    return jsonify({key: job[key] for key in keys})


# --- saved searches and the results as CSV -----------------------------------------------------------------------


def _save_labels() -> dict[str, str]:
    return {
        "name": _("Name of the search"),
        "q": _("Words, or a phrase in quotes"),
        "doc_type": _("Document type"),
        "account_no": _("Account no."),
        "from": _("From"),
        "to": _("To"),
    }


@staff.post("/archive/searches")
@staff_required(*READERS)
def archive_save_search() -> Any:
    form = request.form
    data: dict[str, Any] = {key: form.get(key, "") for key in ("name", "q", *FILTERS) if form.get(key)}
    data["shared"] = bool(form.get("shared"))
    try:
        saved = save_search(db.session, staff_user(), SaveSearch.parse(data))
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        args = ImmutableMultiDict({k: v for k, v in data.items() if k not in ("shared", "name") and v})
        return archive_search(save_errors=form_errors(exc, _save_labels()), args=args), 422
    flash(_("Search saved as %(name)s.", name=saved.name), "ok")
    return redirect(url_for("staff.archive_search") + "?" + urlencode(search_args(saved)))


@staff.post("/archive/searches/<int:saved_id>/deletion")
@staff_required(*READERS)
def archive_delete_search(saved_id: int) -> Any:
    try:
        delete_saved_search(db.session, staff_user(), saved_id)
        db.session.commit()
    except NotFound:
        abort(404)
    flash(_("Saved search deleted."), "ok")
    return redirect(url_for("staff.archive_search"))


EXPORT_LIMIT = 5000


@staff.get("/archive/search.csv")
@staff_required(*READERS)
def archive_search_csv() -> Any:
    """The results of the search the arguments ask for, every page of them (at most ``EXPORT_LIMIT``), as CSV."""
    if not searched(request.args):
        abort(400)
    try:
        return search_results_csv(lambda page: run_search(request.args, page=page, per_page=200))
    except DomainError:
        abort(400)


def search_results_csv(search: Callable[[int], dict[str, Any]]) -> Any:
    """Every page of a search's results (``search(page)``, 200 a page; at most ``EXPORT_LIMIT``) as a CSV file:
    the staff page's export and ``GET /api/v1/archive/search.csv`` alike."""
    rows: list[list[Any]] = []
    page = 1
    while len(rows) < EXPORT_LIMIT:
        result = search(page)
        rows += [
            [
                hit["document_id"],
                hit["account_no"],
                hit["title"],
                _(hit["doc_type"]),
                hit["formed_on"],
                hit["page"] or "",
                _plain(hit["highlight"]),
                url_for("staff.archive_document", document_id=hit["document_id"], _external=True),
            ]
            for hit in result["items"]
        ]
        if page * 200 >= result["total"] or not result["items"]:
            break
        page += 1
    header = [
        _("Document id"),
        _("Account no."),
        _("Title"),
        _("Document type"),
        _("Formation date"),
        _("Page"),
        _("Matched text"),
        _("Link"),
    ]
    return csv_response(header, rows[:EXPORT_LIMIT], "archive-search.csv")


def _plain(highlight: str) -> str:
    return html.unescape(re.sub(r"</?mark[^>]*>", "", highlight))


# --- the reference sheet (备考表) -------------------------------------------------------------------------------


def _sheet_labels() -> dict[str, str]:
    return {
        "filer_name": _("Filer"),
        "checker_name": _("Checker"),
        "checked_on": _("Check date"),
        "notes": _("Notes"),
        "builder": _("Dossier built by"),
        "role": _("Sign as"),
    }


def _writable_dossier(account_no: str) -> Any:
    try:
        get_visible_account(db.session, staff_user(), account_no)
        return services.get_dossier(db.session, account_no)
    except NotFound:
        abort(404)


@staff.post("/archive/dossiers/<account_no>/reference-sheet")
@staff_required(*WRITERS)
def archive_reference_sheet(account_no: str) -> Any:
    dossier = _writable_dossier(account_no)
    fields = ("filer_name", "checker_name", "checked_on", "notes", "builder")
    data = {key: request.form.get(key, "") for key in fields}
    try:
        services.record_reference_sheet(db.session, dossier, RecordReferenceSheet.parse(data), staff_user())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return archive_dossier(account_no, errors=form_errors(exc, _sheet_labels()), sheet_form=data), 422
    flash(_("Reference sheet recorded."), "ok")
    return redirect(url_for("staff.archive_dossier", account_no=account_no) + "#reference-sheet")


@staff.post("/archive/dossiers/<account_no>/reference-sheet/signatures")
@staff_required(*WRITERS)
def archive_sign_reference_sheet(account_no: str) -> Any:
    dossier = _writable_dossier(account_no)
    try:
        services.sign_reference_sheet(db.session, dossier, request.form.get("role", ""), staff_user())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(" ".join(form_errors(exc, _sheet_labels()).summary), "error")
        return redirect(url_for("staff.archive_dossier", account_no=account_no) + "#reference-sheet")
    flash(_("Reference sheet signed."), "ok")
    return redirect(url_for("staff.archive_dossier", account_no=account_no) + "#reference-sheet")
