"""Staff pages for service points: list (all staff), create, edit, remove, import and export (admin)."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import or_, select

from core.db import db
from core.errors import DomainError
from core.identity import STAFF_ROLES, Role
from mapping.commands import SERVICES, NewServicePoint
from mapping.exchange import import_points, parse
from mapping.hours import WEEKDAYS
from mapping.models import ServicePoint
from mapping.services import create_point, delete_point, editable_point, update_point

from ..errors import FormErrors, form_errors
from ..portal.map import DAY_LABELS, KIND_LABELS, SERVICE_LABELS, location_note
from ..templating import STAFF_NAV
from . import staff
from .access import staff_required, staff_user

STAFF_NAV.append(("staff.service_points", "Service points", frozenset(STAFF_ROLES)))


def _form_data() -> dict[str, Any]:
    form = request.form
    data: dict[str, Any] = {
        "name": form.get("name", ""),
        "kind": form.get("kind", ""),
        "address": form.get("address", ""),
        "phone": form.get("phone", ""),
        "services": form.getlist("services"),
        "hours": {
            day: form.get(f"hours_{day}", "").strip() for day in WEEKDAYS if form.get(f"hours_{day}", "").strip()
        },
    }
    if form.get("code", "").strip():
        data["code"] = form["code"].strip()
    for field in ("lat", "lon"):
        if form.get(field, "").strip():
            data[field] = form[field].strip()
    return data


def _labels() -> dict[str, str]:
    return {
        "name": _("Name"),
        "kind": _("Kind"),
        "address": _("Address"),
        "lat": _("Latitude (WGS-84)"),
        "lon": _("Longitude (WGS-84)"),
        "phone": _("Phone"),
        "code": _("Code"),
        "services": _("Services"),
        "hours": _("Opening hours"),
    }


def _render_form(point: ServicePoint | None, data: dict[str, Any], errors: FormErrors) -> Any:
    return render_template(
        "mapping/staff_point_form.html",
        point=point,
        data=data,
        errors=errors,
        kinds=KIND_LABELS,
        services=[(code, SERVICE_LABELS[code]) for code in SERVICES],
        days=[(d, DAY_LABELS[d]) for d in WEEKDAYS],
    ), 422 if errors else 200


@staff.get("/service-points")
@staff_required()
def service_points() -> Any:
    q = request.args.get("q", "").strip()
    kind = request.args.get("kind", "")
    stmt = select(ServicePoint).order_by(ServicePoint.code)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(
            or_(ServicePoint.name.like(like), ServicePoint.address.like(like), ServicePoint.code.like(like))
        )
    if kind in KIND_LABELS:
        stmt = stmt.where(ServicePoint.kind == kind)
    rows = db.session.scalars(stmt.limit(200)).all()
    return render_template(
        "mapping/staff_points.html",
        points=rows,
        q=q,
        kind=kind,
        kinds=KIND_LABELS,
        is_admin=staff_user().role == Role.ADMIN,
    )


@staff.route("/service-points/new", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def new_service_point() -> Any:
    if request.method == "GET":
        return _render_form(None, {"hours": {d: "08:30-17:30" for d in WEEKDAYS[:5]}, "services": []}, FormErrors())
    data = _form_data()
    try:
        point, fallback = create_point(
            db.session,
            NewServicePoint.parse(data),
            actor=staff_user(),
            unit=staff_user().unit,
            geocoding=current_app.extensions["griddesk_geocoding"],
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _render_form(None, data, form_errors(exc, _labels()))
    flash(_("Service point created."), "ok")
    if fallback is not None:
        flash(_("The location is approximate: %(note)s", note=location_note(fallback)), "error")
    return redirect(url_for("staff.service_points", q=point.code))


@staff.route("/service-points/<int:point_id>/edit", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def edit_service_point(point_id: int) -> Any:
    point = editable_point(db.session, staff_user(), point_id)
    if request.method == "GET":
        data = {**point.snapshot(), "phone": point.phone}
        return _render_form(point, data, FormErrors())
    data = _form_data()
    try:
        point, fallback = update_point(
            db.session,
            point,
            NewServicePoint.parse(data),
            actor=staff_user(),
            geocoding=current_app.extensions["griddesk_geocoding"],
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _render_form(point, data, form_errors(exc, _labels()))
    flash(_("Service point saved."), "ok")
    if fallback is not None:
        flash(_("The location is approximate: %(note)s", note=location_note(fallback)), "error")
    return redirect(url_for("staff.service_points", q=point.code))


@staff.post("/service-points/<int:point_id>/delete")
@staff_required(Role.ADMIN)
def delete_service_point(point_id: int) -> Any:
    delete_point(db.session, editable_point(db.session, staff_user(), point_id), actor=staff_user())
    db.session.commit()
    flash(_("Service point removed."), "ok")
    return redirect(url_for("staff.service_points"))


@staff.post("/service-points/import")
@staff_required(Role.ADMIN)
def import_service_points_page() -> Any:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a .csv or .geojson file."), "error")
        return redirect(url_for("staff.service_points"))
    try:
        rows = parse(upload.filename, upload.read())
        report = import_points(
            db.session,
            rows,
            actor=staff_user(),
            unit=staff_user().unit,
            geocoding=current_app.extensions["griddesk_geocoding"],
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        shown = form_errors(exc, {**_labels(), "file": _("File")})
        for line in shown.summary:
            flash(line, "error")
        for row, problems in list(shown.rows.items())[:20]:
            flash(_("Row %(row)s: %(problems)s", row=row, problems=problems), "error")
        return redirect(url_for("staff.service_points"))
    flash(
        _(
            "Imported: %(created)d created, %(updated)d updated.",
            created=len(report.created),
            updated=len(report.updated),
        ),
        "ok",
    )
    for code, placed in report.approximate.items():
        flash(_("The location of %(code)s is approximate: %(note)s", code=code, note=location_note(placed)), "error")
    return redirect(url_for("staff.service_points"))
