"""Staff pages of business handling: the unit's work queue by due date, an application with the form of its
current step, return to the customer, resume, assignment."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from connections import flows, queries, services
from connections.commands import Assign, DoStep
from connections.models import Application
from core.db import db
from core.errors import DomainError
from core.identity import STAFF_ROLES, Role, User
from core.scope import in_scope

from ..api.connections import paper_response
from ..connection_labels import (
    ACTION_LABELS,
    FIELD_LABELS,
    PAPER_LABELS,
    STATUS_LABELS,
    STEP_LABELS,
    TIMING_LABELS,
    TYPE_LABELS,
    VALUE_LABELS,
)
from ..errors import FormErrors, form_errors
from ..templating import STAFF_NAV
from . import staff
from .access import staff_required, staff_user

HANDLERS = (Role.CLERK, Role.SUPERVISOR, Role.ADMIN)
LABELS = [_l("Business handling")]
STAFF_NAV.append(("staff.applications_queue", "Business handling", frozenset(STAFF_ROLES)))
FIELD_NAMES = ("note", *sorted({f for fields in flows.STEP_FIELDS.values() for f in fields} - {"note"}))


def _vocabulary() -> dict[str, Any]:
    return {
        "type_labels": TYPE_LABELS,
        "status_labels": STATUS_LABELS,
        "step_labels": STEP_LABELS,
        "timing_labels": TIMING_LABELS,
        "action_labels": ACTION_LABELS,
        "field_labels": FIELD_LABELS,
        "value_labels": VALUE_LABELS,
        "paper_labels": PAPER_LABELS,
    }


@staff.get("/applications")
@staff_required()
def applications_queue() -> Any:
    """The unit's open applications by due date, overdue and due-soon marked; waiting ones last."""
    user = staff_user()
    rows = queries.queue(db.session, user)
    numbers = queries.account_numbers(db.session, rows)
    return render_template(
        "connections/staff_queue.html",
        applications=rows,
        numbers=numbers,
        timings={a.id: queries.timing(a) for a in rows},
        **_vocabulary(),
    )


def _handlers(user: User) -> list[User]:
    """Staff who may work the unit's applications."""
    query = select(User).where(User.role.in_([r.value for r in HANDLERS]), in_scope(user, User.unit_id))
    return list(db.session.scalars(query.order_by(User.username).limit(200)))


def _page(application: Application, form: dict[str, str] | None = None, errors: FormErrors | None = None) -> Any:
    user = staff_user()
    step = application.current_step
    return render_template(
        "connections/staff_application.html",
        application=queries.application_view(db.session, application),
        may_work=user.role in HANDLERS,
        step_fields=flows.STEP_FIELDS.get(step or "", ()),
        new_connection=application.type in flows.NEW_CONNECTIONS,
        handlers=_handlers(user) if user.role in HANDLERS else [],
        form=form or {},
        errors=errors or FormErrors(),
        **_vocabulary(),
    ), 422 if errors else 200


@staff.get("/applications/<application_no>")
@staff_required()
def application_page(application_no: str) -> Any:
    return _page(queries.visible_application(db.session, staff_user(), application_no))


@staff.post("/applications/<application_no>/step")
@staff_required(*HANDLERS)
def application_step(application_no: str) -> Any:
    application = queries.visible_application(db.session, staff_user(), application_no)
    step = request.form.get("step", "")
    form = {name: request.form.get(name, "") for name in FIELD_NAMES}
    outcome = "returned" if request.form.get("outcome") == "returned" else "done"
    fields = {name: value for name, value in form.items() if value.strip()}
    try:
        command = DoStep.parse({"outcome": outcome, "fields": fields})
        services.complete_step(db.session, staff_user(), application, step, command)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        labels = {f"fields.{name}": str(FIELD_LABELS[name]) for name in FIELD_NAMES}
        return _page(application, form, form_errors(exc, labels))
    what = _("returned to the customer") if outcome == "returned" else STEP_LABELS.get(step, step)
    flash(_("Application %(no)s: %(what)s.", no=application_no, what=what), "ok")
    return redirect(url_for("staff.application_page", application_no=application_no))


@staff.post("/applications/<application_no>/resume")
@staff_required(*HANDLERS)
def application_resume(application_no: str) -> Any:
    application = queries.visible_application(db.session, staff_user(), application_no)
    try:
        services.resume(db.session, staff_user(), application, request.form.get("note") or None)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _page(application, {}, form_errors(exc, {}))
    return redirect(url_for("staff.application_page", application_no=application_no))


@staff.post("/applications/<application_no>/assignment")
@staff_required(*HANDLERS)
def application_assign(application_no: str) -> Any:
    application = queries.visible_application(db.session, staff_user(), application_no)
    try:
        services.assign(
            db.session, staff_user(), application, Assign.parse({"handler_id": request.form.get("handler_id", "")})
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _page(application, {}, form_errors(exc, {"handler_id": _("Handler")}))
    return redirect(url_for("staff.application_page", application_no=application_no))


@staff.get("/applications/<application_no>/papers/<int:upload_id>")
@staff_required()
def application_paper(application_no: str, upload_id: int) -> Any:
    application = queries.visible_application(db.session, staff_user(), application_no)
    return paper_response(queries.upload(db.session, application, upload_id))
