"""Customer pages of business handling: apply for a new connection or a change, send papers, follow the
application step by step, withdraw it, rate it when it is completed."""

from __future__ import annotations

from typing import Any

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from archive.uploads import inspect_upload
from connections import flows, queries, services, settings
from connections.commands import AddUpload, Apply, Rate
from connections.models import Application
from core.db import db
from core.errors import DomainError, InvalidInput, Problem

from ..connection_labels import (
    ACTION_LABELS,
    PAPER_LABELS,
    STATUS_LABELS,
    STEP_LABELS,
    TIMING_LABELS,
    TYPE_LABELS,
)
from ..errors import FormErrors, form_errors
from . import portal
from ._customer import bound_accounts, customer, customer_required
from .map import build_map, default_centre, tile_source
from .service import _place

APPLY_FIELDS = (
    "account_no",
    "applicant_name",
    "applicant_phone",
    "id_last4",
    "credit_code",
    "address",
    "lat",
    "lon",
    "coords",
    "capacity_kva",
    "category",
    "new_holder_name",
    "note",
)
PAPER_KINDS = ("id_card", "business_licence", "property_proof")
PAPER_TYPES = ("application/pdf", "image/jpeg", "image/png")
CATEGORIES = ("residential", "general", "large_industrial", "agricultural")


def _labels() -> dict[str, str]:
    return {
        "type": _("What do you apply for"),
        "account_no": _("Account number"),
        "applicant.name": _("Name of the applicant"),
        "applicant.phone": _("Phone number"),
        "applicant.id_last4": _("Last four digits of the ID number"),
        "applicant.credit_code": _("Unified social credit code"),
        "site": _("Address of the site"),
        "site.address": _("Address of the site"),
        "site.lat": _("Place on the map"),
        "site.lon": _("Place on the map"),
        "capacity_kva": _("Capacity (kVA)"),
        "category": _("Category of use"),
        "new_holder_name": _("New holder's name"),
        "note": _("Note"),
        "unit_code": _("Unit"),
        **{kind: str(PAPER_LABELS[kind]) for kind in PAPER_KINDS},
    }


def _papers() -> list[tuple[str, bytes, str]]:
    """The papers attached to the form, each checked (an image or a PDF within the size); nothing is kept when
    one is refused."""
    checked: list[tuple[str, bytes, str]] = []
    problems: dict[str, Problem] = {}
    limit = int(settings.get("CONNECTIONS_UPLOAD_MAX_BYTES"))
    for kind in PAPER_KINDS:
        upload = request.files.get(kind)
        if upload is None or not upload.filename:
            continue
        try:
            info = inspect_upload(upload.stream, upload.filename, max_bytes=limit)
            if info.content_type not in PAPER_TYPES:
                raise InvalidInput.fields({kind: Problem("unsupported_type")})
            checked.append((kind, upload.stream.read(), info.content_type))
        except InvalidInput as exc:
            problems[kind] = next(iter(exc.problems.values()), Problem("unsupported_type"))
    if problems:
        raise InvalidInput.fields(problems)
    return checked


def _command(application_type: str, form: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": application_type,
        "applicant": {
            "name": form["applicant_name"],
            "phone": form["applicant_phone"],
            "id_last4": form["id_last4"],
            "credit_code": form["credit_code"],
        },
        "note": form["note"],
    }
    if application_type in flows.NEW_CONNECTIONS:
        data["site"] = {"address": form["address"], **_place(form)}
    else:
        data["account_no"] = form["account_no"]
    for name in ("capacity_kva", "category", "new_holder_name"):
        data[name] = form[name]
    return data


@portal.get("/applications")
@customer_required
def applications() -> Any:
    rows = db.session.scalars(queries.listing(customer()).limit(100)).all()
    return render_template(
        "connections/portal_list.html",
        applications=rows,
        type_labels=TYPE_LABELS,
        status_labels=STATUS_LABELS,
        step_labels=STEP_LABELS,
        types=[(t, TYPE_LABELS[t]) for t in flows.FLOWS],
    )


@portal.route("/applications/new", methods=["GET", "POST"])
@customer_required
def apply() -> Any:
    """The form of the chosen type (the type list when none is chosen)."""
    application_type = request.args.get("type", "")
    if application_type not in flows.FLOWS:
        return render_template(
            "connections/portal_types.html", types=[(t, TYPE_LABELS[t]) for t in flows.FLOWS], step_labels=STEP_LABELS
        )
    user = customer()
    accounts = bound_accounts()
    form: dict[str, str] = {"applicant_phone": user.username, "applicant_name": user.name or ""}
    if accounts:
        form["account_no"] = accounts[0].account_no
    errors = FormErrors()
    if request.method == "POST":
        form = {name: request.form.get(name, "") for name in APPLY_FIELDS}
        problems: dict[str, Problem] = {}
        command = papers = None
        try:
            command = Apply.parse(_command(application_type, form))
        except InvalidInput as exc:
            problems.update(exc.problems)
        try:
            papers = _papers()
        except InvalidInput as exc:
            problems.update(exc.problems)
        try:
            if problems or command is None or papers is None:
                raise InvalidInput.fields(problems)
            application = services.apply(db.session, user, command, id_hash_key=current_app.config["ID_HASH_KEY"])
            for kind, content, content_type in papers:
                services.add_upload(
                    db.session, user, application, AddUpload.parse({"doc_type": kind}), content, content_type
                )
            number = application.application_no
            db.session.commit()
            return redirect(url_for("portal.application", application_no=number))
        except DomainError as exc:
            db.session.rollback()
            errors = form_errors(exc, _labels())
    new = application_type in flows.NEW_CONNECTIONS
    rendered = None
    if new:
        centre = default_centre()
        if accounts and accounts[0].lat is not None and accounts[0].lon is not None:
            centre = (accounts[0].lat, accounts[0].lon)
        rendered = build_map([], centre=centre, you=None, zoom=14)
    return render_template(
        "connections/portal_apply.html",
        application_type=application_type,
        type_label=TYPE_LABELS[application_type],
        form=form,
        errors=errors,
        accounts=accounts,
        new=new,
        asks_capacity=application_type in flows.WITH_CAPACITY,
        asks_category=application_type in flows.WITH_CATEGORY,
        asks_holder=application_type in flows.WITH_NEW_HOLDER,
        categories=CATEGORIES,
        paper_kinds=[(k, PAPER_LABELS[k]) for k in PAPER_KINDS],
        steps=[STEP_LABELS[s.name] for s in flows.steps_of(application_type)],
        rendered=rendered,
        coords=tile_source().coord_system,
    ), 422 if errors else 200


def _page(application: Application, errors: FormErrors | None = None, status: int = 200) -> Any:
    user = customer()
    view = queries.application_view(db.session, application)
    mine = application.applicant_id == user.id
    return render_template(
        "connections/portal_application.html",
        application=view,
        mine=mine,
        may_rate=mine and application.status == "completed" and application.rating_score is None,
        may_withdraw=mine and application.status in ("in_progress", "awaiting_customer"),
        errors=errors or FormErrors(),
        type_labels=TYPE_LABELS,
        status_labels=STATUS_LABELS,
        step_labels=STEP_LABELS,
        action_labels=ACTION_LABELS,
        timing_labels=TIMING_LABELS,
        paper_kinds=[(k, PAPER_LABELS[k]) for k in (*PAPER_KINDS, "other")],
        paper_labels=PAPER_LABELS,
    ), status


@portal.get("/applications/<application_no>")
@customer_required
def application(application_no: str) -> Any:
    return _page(queries.visible_application(db.session, customer(), application_no))


@portal.post("/applications/<application_no>/withdraw")
@customer_required
def withdraw_application(application_no: str) -> Any:
    found = queries.visible_application(db.session, customer(), application_no)
    try:
        services.withdraw(db.session, customer(), found)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _page(found, form_errors(exc, {}), 409)
    return redirect(url_for("portal.application", application_no=application_no))


@portal.post("/applications/<application_no>/papers")
@customer_required
def send_paper(application_no: str) -> Any:
    found = queries.visible_application(db.session, customer(), application_no)
    labels = {"doc_type": _("Which paper"), "file": _("File")}
    try:
        command = AddUpload.parse({"doc_type": request.form.get("doc_type", "")})
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise InvalidInput.fields({"file": Problem("required")})
        info = inspect_upload(
            upload.stream, upload.filename, max_bytes=int(settings.get("CONNECTIONS_UPLOAD_MAX_BYTES"))
        )
        if info.content_type not in PAPER_TYPES:
            raise InvalidInput.fields({"file": Problem("unsupported_type")})
        services.add_upload(db.session, customer(), found, command, upload.stream.read(), info.content_type)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _page(found, form_errors(exc, labels), 422)
    return redirect(url_for("portal.application", application_no=application_no))


@portal.post("/applications/<application_no>/rating")
@customer_required
def rate_application(application_no: str) -> Any:
    found = queries.visible_application(db.session, customer(), application_no)
    try:
        form = {k: request.form.get(k, "") for k in ("score", "comment")}
        services.rate(db.session, customer(), found, Rate.parse(form))
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _page(found, form_errors(exc, {"score": _("Satisfaction"), "comment": _("Comment")}), 422)
    return redirect(url_for("portal.application", application_no=application_no))
