"""Staff pages of the archive: dossiers by account number, a dossier, filing with upload, search, viewer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from archive import services
from archive.checklists import dossier_checklist
from archive.commands import CorrectDocument, FileDocument, WithdrawDocument
from archive.interfaces import BlobCorrupt
from archive.models import CORRECTABLE, Document, Dossier
from archive.queries import document_view, dossier_summary, dossier_view, search_documents, visible_dossiers
from archive.registry import blob_store
from archive.vocabulary import DOC_TYPE_LABELS_ZH, PaperSize, Retention, WritingMaterial
from billing.accounts import get_visible_account
from core import clock
from core.db import db
from core.errors import Conflict, DomainError, NotFound
from core.identity import Role, User
from webapp.templating import STAFF_NAV

from ..errors import FormErrors, form_errors
from . import staff
from .access import staff_required, staff_user
from .archive_checklists import BUILDER_LABELS, TIER_LABELS

WRITERS = (Role.ARCHIVIST, Role.ADMIN)
READERS = (Role.ARCHIVIST, Role.SUPERVISOR, Role.ADMIN)

STAFF_NAV.append(("staff.archive_dossiers", "Dossiers", frozenset(READERS)))
STAFF_NAV.append(("staff.archive_search", "Archive search", frozenset(READERS)))


def _filing_labels() -> dict[str, str]:
    """The filing and correction forms' labels (the same words as the page's)."""
    return {
        "file": _("File (PDF, JPEG, PNG, TIFF, DOCX)"),
        "doc_type": _("Document type"),
        "title": _("Title"),
        "document_no": _("Document no."),
        "responsible_unit": _("Responsible party"),
        "formed_on": _("Formation date"),
        "writing_material": _("Writing material"),
        "paper_size": _("Paper size"),
        "retention": _("Retention"),
        "pages": _("Pages"),
        "handover_id": _("Hand-over record no."),
        "reason": _("Reason"),
        "authorised_by": _("Authorised by"),
        "changes": _("Correct the metadata"),
        "account_no": _("Account number"),
    }


def _choices() -> dict[str, Any]:
    return {
        "doc_types": list(DOC_TYPE_LABELS_ZH.items()),
        "materials": [m.value for m in WritingMaterial],
        "paper_sizes": [p.value for p in PaperSize],
        "retentions": [r.value for r in Retention],
    }


def _dossier(session: Session, user: User, account_no: str) -> Dossier | None:
    account = get_visible_account(session, user, account_no)
    return services.dossier_for(session, account.account_no)


def _document(session: Session, user: User, document_id: int) -> Document:
    document = session.get(Document, document_id)
    if document is None:
        abort(404)
    try:
        get_visible_account(session, user, document.account_no)
    except NotFound:
        abort(404)
    return document


@staff.get("/archive")
@staff_required(*READERS)
def archive_dossiers() -> Any:
    q = request.args.get("q", "").strip()
    rows = db.session.scalars(visible_dossiers(staff_user(), q or None).limit(100)).all()
    return render_template("archive/dossiers.html", dossiers=[dossier_summary(d) for d in rows], q=q)


@staff.post("/archive")
@staff_required(*WRITERS)
def archive_open_dossier() -> Any:
    account_no = request.form.get("account_no", "").strip()
    user = staff_user()
    try:
        account = get_visible_account(db.session, user, account_no)
        services.create_dossier(db.session, account, user, source="staff")
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(" ".join(form_errors(exc, _filing_labels()).summary), "error")
        return redirect(url_for("staff.archive_dossiers", q=account_no))
    flash(_("Dossier opened."), "ok")
    return redirect(url_for("staff.archive_dossier", account_no=account_no))


@staff.get("/archive/dossiers/<account_no>")
@staff_required(*READERS)
def archive_dossier(
    account_no: str,
    errors: FormErrors | None = None,
    form: Any = None,
    *,
    batch: list[dict[str, Any]] | None = None,
    batch_form: bool = False,
    sheet_form: dict[str, Any] | None = None,
) -> Any:
    """The dossier page; after a multi-file filing, ``batch`` reports each file (``batch_form``: its form refused)."""
    user = staff_user()
    try:
        dossier = _dossier(db.session, user, account_no)
    except NotFound:
        abort(404)
    view = dossier_view(dossier) if dossier else None
    pending = sum(1 for d in view["documents"] if d["index_status"] == "pending") if view else 0
    checklist = dossier_checklist(dossier, {d["doc_type"] for d in view["documents"]}) if dossier and view else None
    return render_template(
        "archive/dossier.html",
        account_no=account_no,
        dossier=view,
        pending=pending,
        checklist=checklist,
        tier_labels=TIER_LABELS,
        builder_labels=BUILDER_LABELS,
        can_file=user.role in WRITERS,
        errors=FormErrors() if batch_form or sheet_form is not None else errors or FormErrors(),
        batch_errors=(errors or FormErrors()) if batch_form else FormErrors(),
        sheet_errors=(errors or FormErrors()) if sheet_form is not None else FormErrors(),
        sheet_form=sheet_form,
        batch=batch,
        form=form or {},
        today=clock.today_local().isoformat(),
        **_choices(),
    )


@staff.post("/archive/dossiers/<account_no>/documents")
@staff_required(*WRITERS)
def archive_file_document(account_no: str) -> Any:
    user = staff_user()
    try:
        dossier = _dossier(db.session, user, account_no)
    except NotFound:
        abort(404)
    if dossier is None:
        abort(404)
    upload = request.files.get("file")
    data: dict[str, Any] = {key: request.form.get(key) for key in request.form if key != "csrf_token"}
    try:
        command = FileDocument.parse(
            {**data, "file": upload.stream, "filename": upload.filename} if upload and upload.filename else data
        )
        document = services.file_document(db.session, dossier, command, user)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return archive_dossier(account_no, errors=form_errors(exc, _filing_labels()), form=data), 422
    flash(_("Document filed; its text is being extracted and indexed."), "ok")
    return redirect(url_for("staff.archive_document", document_id=document.id))


@staff.get("/archive/documents/<int:document_id>")
@staff_required(*READERS)
def archive_document(document_id: int) -> Any:
    user = staff_user()
    document = _document(db.session, user, document_id)
    return render_template(
        "archive/document.html",
        doc=document_view(document, events=True),
        current=document.current(),
        can_file=user.role in WRITERS,
        today=clock.today_local().isoformat(),
        **_choices(),
    )


@staff.post("/archive/documents/<int:document_id>/withdrawal")
@staff_required(*WRITERS)
def archive_withdraw(document_id: int) -> Any:
    user = staff_user()
    document = _document(db.session, user, document_id)
    return _record_event(
        lambda why: services.withdraw_document(db.session, document, user, WithdrawDocument.parse(why)),
        _("Document withdrawn."),
        document_id,
    )


@staff.post("/archive/documents/<int:document_id>/corrections")
@staff_required(*WRITERS)
def archive_correct(document_id: int) -> Any:
    """The metadata correction form: only the fields whose value differs are sent to the service."""
    user = staff_user()
    document = _document(db.session, user, document_id)
    changes = _changed_fields(document.current(), request.form)
    return _record_event(
        lambda why: services.correct_document(
            db.session, document, user, CorrectDocument.parse({**why, "changes": changes})
        ),
        _("Metadata corrected; the captured values stay on record."),
        document_id,
    )


def _record_event(record: Any, done: str, document_id: int) -> Any:
    """Record a withdrawal or correction with the form's reason and authoriser; back to the document either way."""
    try:
        record({"reason": request.form.get("reason", ""), "authorised_by": request.form.get("authorised_by", "")})
        db.session.commit()
        flash(done, "ok")
    except DomainError as exc:
        db.session.rollback()
        flash(" ".join(form_errors(exc, _filing_labels()).summary), "error")
    return redirect(url_for("staff.archive_document", document_id=document_id))


def _changed_fields(current: dict[str, Any], form: Any) -> dict[str, str]:
    changes: dict[str, str] = {}
    for name in CORRECTABLE:
        if name == "title_supplied":
            submitted = "1" if form.get(name) else ""
            shown = "1" if current[name] else ""
        elif name in form:
            submitted = form.get(name, "").strip()
            shown = "" if current[name] is None else str(current[name])
        else:
            continue
        if submitted != shown:
            changes[name] = submitted
    return changes


@staff.get("/archive/documents/<int:document_id>/content")
@staff_required(*READERS)
def archive_document_content(document_id: int) -> Any:
    document = _document(db.session, staff_user(), document_id)
    try:
        handle = blob_store().open(document.sha256)
    except FileNotFoundError:
        abort(404)
    except BlobCorrupt:
        raise Conflict("blob_corrupt") from None

    def chunks() -> Any:
        with handle:
            while chunk := handle.read(64 * 1024):
                yield chunk

    response = Response(stream_with_context(chunks()), mimetype=document.content_type)
    response.headers["Content-Length"] = str(document.size_bytes)
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    return response


@staff.get("/archive/dossiers/<account_no>/catalog.pdf")
@staff_required(*READERS)
def archive_catalog_pdf(account_no: str) -> Any:
    from archive.printing import dossier_pdf

    try:
        dossier = _dossier(db.session, staff_user(), account_no)
    except NotFound:
        abort(404)
    if dossier is None:
        abort(404)
    return Response(dossier_pdf(dossier), mimetype="application/pdf")


def _search_args_date(args: Any, name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(args[name]) if args.get(name) else None
    except ValueError:
        return None


def run_search(args: Any, *, page: int, per_page: int) -> dict[str, Any]:
    """The search the page's arguments ask for (``q``, ``doc_type``, ``account_no``, ``from``, ``to``)."""
    return search_documents(
        db.session,
        staff_user(),
        q=args.get("q", "").strip()[:200],
        doc_type=args.get("doc_type") or None,
        account_no=args.get("account_no", "").strip() or None,
        date_from=_search_args_date(args, "from"),
        date_to=_search_args_date(args, "to"),
        page=page,
        per_page=per_page,
    )


def searched(args: Any) -> bool:
    return bool(args.get("q") or args.get("doc_type") or args.get("account_no"))


@staff.get("/archive/search")
@staff_required(*READERS)
def archive_search(save_errors: FormErrors | None = None, args: Any = None) -> Any:
    """The search page: the search form, the results, the saved searches and the form that saves this one."""
    from archive.saved_searches import search_args, visible_saved_searches

    args = request.args if args is None else args
    result = None
    error = None
    page = max(1, int(args.get("page", "1") or 1)) if (args.get("page", "1") or "1").isdigit() else 1
    if searched(args):
        try:
            result = run_search(args, page=page, per_page=20)
        except DomainError as exc:
            error = " ".join(form_errors(exc, {"doc_type": _("Document type"), "from": _("From")}).summary)
        except Exception:  # a query the parser cannot read is the user's typo, not an outage
            error = _("The search could not be understood; check the quotes.")
    pages = ((result["total"] + 19) // 20) if result else 0
    user = staff_user()
    saved = [
        {
            "id": s.id,
            "name": s.name,
            "args": search_args(s),
            "shared": s.shared,
            "mine": s.owner_id == user.id,
            "owner": s.owner.name,
        }
        for s in db.session.scalars(visible_saved_searches(user))
    ]
    return render_template(
        "archive/search.html",
        args=args,
        result=result,
        error=error,
        page=page,
        pages=pages,
        saved=saved,
        save_errors=save_errors or FormErrors(),
        **_choices(),
    )
