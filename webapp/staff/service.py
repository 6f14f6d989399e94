"""Staff pages of the 95598 service desk: the intake queue by due time, a ticket with its steps, the crews' phone
page, incidents (outage notice, restoration) and the map of open repairs."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core import clock
from core.db import db
from core.errors import DomainError
from core.identity import STAFF_ROLES, Role, Unit
from core.scope import visible_units
from mapping.maps import Area, Marker
from servicedesk import flows, incidents, services
from servicedesk.commands import AnnounceIncident, MoveTicket, RestoreIncident
from servicedesk.models import Ticket
from servicedesk.queries import (
    open_repairs,
    photo_ids,
    ticket_list,
    timeline,
    urgency,
    visible_incident,
    visible_incidents,
    visible_ticket,
)
from servicedesk.reports import csv_rows, supervision

from ..api.servicedesk import photo_response
from ..errors import FormErrors, form_errors
from ..portal.map import build_map, default_centre, outage_area
from ..templating import STAFF_NAV
from ..ticket_text import ACTION_LABELS, INCIDENT_LABELS, KIND_LABELS, STATUS_LABELS, URGENCY_LABELS
from . import staff
from .access import staff_required, staff_user
from .outages import local_input

HANDLERS = (Role.CLERK, Role.SUPERVISOR, Role.ADMIN)
ANNOUNCERS = (Role.ARCHIVIST, Role.CLERK, Role.ADMIN)
LABELS = [_l("Service desk")]
STAFF_NAV.append(("staff.service_queue", "Service desk", frozenset(STAFF_ROLES)))
MOVE_FIELDS = ("to", "note", "cause", "crew", "into")


def _labels() -> dict[str, str]:
    return {
        "to": _("Next step"),
        "note": _("Note or answer to the customer"),
        "cause": _("Cause of the fault"),
        "crew": _("Repair crew"),
        "into": _("Duplicate of ticket number"),
        "title": _("Notice title"),
        "body": _("Message"),
        "starts_at": _("Starts (Beijing time)"),
        "ends_at": _("Ends (Beijing time)"),
    }


def _vocabulary() -> dict[str, Any]:
    return {
        "kind_labels": KIND_LABELS,
        "status_labels": STATUS_LABELS,
        "action_labels": ACTION_LABELS,
        "urgency_labels": URGENCY_LABELS,
        "incident_labels": INCIDENT_LABELS,
    }


@staff.get("/service")
@staff_required()
def service_queue() -> Any:
    """Open tickets of the caller's units, soonest due first, with overdue and due-soon marks."""
    user = staff_user()
    kind = request.args.get("kind") if request.args.get("kind") in KIND_LABELS else None
    only_overdue = request.args.get("overdue") == "1"
    units = list(db.session.scalars(visible_units(user)))
    unit = next((u for u in units if u.code == request.args.get("unit")), None)
    stmt = ticket_list(user, kind=kind, open_only=True, overdue=True if only_overdue else None, unit=unit)
    rows = db.session.scalars(stmt.limit(200)).all()
    now = dt.datetime.now(dt.UTC)
    return render_template(
        "servicedesk/staff_queue.html",
        tickets=rows,
        marks={t.id: urgency(t, now) for t in rows},
        kind=kind,
        only_overdue=only_overdue,
        units=units,
        unit=unit,
        unit_names={u.id: u.name for u in units},
        **_vocabulary(),
    )


def _ticket_page(ticket_no: str, form: dict[str, str] | None = None, errors: FormErrors | None = None) -> Any:
    ticket = visible_ticket(db.session, staff_user(), ticket_no)
    return render_template(
        "servicedesk/staff_ticket.html",
        ticket=ticket,
        events=timeline(db.session, ticket),
        photos=photo_ids(db.session, ticket),
        mark=urgency(ticket),
        next_steps=flows.next_steps(ticket.kind, ticket.status),
        may_move=staff_user().role in HANDLERS,
        form=form or {},
        errors=errors or FormErrors(),
        **_vocabulary(),
    ), 422 if errors else 200


@staff.get("/service/tickets/<ticket_no>")
@staff_required()
def service_ticket(ticket_no: str) -> Any:
    return _ticket_page(ticket_no)


@staff.post("/service/tickets/<ticket_no>")
@staff_required(*HANDLERS)
def move_service_ticket(ticket_no: str) -> Any:
    ticket = visible_ticket(db.session, staff_user(), ticket_no)
    form = {k: request.form.get(k, "") for k in MOVE_FIELDS}
    try:
        services.move_ticket(db.session, staff_user(), ticket, MoveTicket.parse(form))
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _ticket_page(ticket_no, form, form_errors(exc, _labels()))
    flash(_("Ticket %(no)s: %(status)s.", no=ticket_no, status=STATUS_LABELS.get(form["to"], form["to"])), "ok")
    back = request.form.get("back")
    if back == "crew":
        return redirect(url_for("staff.crew_page"))
    return redirect(url_for("staff.service_ticket", ticket_no=ticket_no))


@staff.get("/service/crew")
@staff_required()
def crew_page() -> Any:
    """The crews' phone page: each open fault report with a big button for its next step."""
    rows = open_repairs(db.session, staff_user(), limit=100)
    return render_template(
        "servicedesk/staff_crew.html",
        tickets=rows,
        next_step={t.id: flows.next_steps(t.kind, t.status)[0] for t in rows},
        marks={t.id: urgency(t) for t in rows},
        may_move=staff_user().role in HANDLERS,
        **_vocabulary(),
    )


@staff.get("/service/incidents")
@staff_required()
def service_incidents() -> Any:
    rows = db.session.scalars(visible_incidents(staff_user()).limit(100)).all()
    return render_template("servicedesk/staff_incidents.html", incidents=rows, **_vocabulary())


def _incident_page(incident_id: int, form: dict[str, str] | None = None, errors: FormErrors | None = None) -> Any:
    incident = visible_incident(db.session, staff_user(), incident_id)
    tickets = incidents.incident_tickets(db.session, incident)
    area = incidents.area(db.session, incident)
    markers = [
        Marker(lat=t.lat, lon=t.lon, kind="fault", tooltip=t.ticket_no, popup_html="")
        for t in tickets
        if t.lat is not None and t.lon is not None
    ]
    rendered = _map(markers, [outage_area(area, _("Incident %(id)s", id=incident.id))], (incident.lat, incident.lon))
    now = clock.now_local().replace(second=0, microsecond=0, tzinfo=None)
    defaults = {
        "title": _("Fault outage"),
        "body": _("A fault cut the power in your area. Repair crews are working on it."),
        "starts_at": now.isoformat(timespec="minutes"),
        "ends_at": (now + dt.timedelta(hours=4)).isoformat(timespec="minutes"),
    }
    return render_template(
        "servicedesk/staff_incident.html",
        incident=incident,
        tickets=tickets,
        rendered=rendered,
        form=form or defaults,
        errors=errors or FormErrors(),
        may_announce=staff_user().role in ANNOUNCERS,
        may_restore=staff_user().role in HANDLERS,
        **_vocabulary(),
    ), 422 if errors else 200


@staff.get("/service/incidents/<int:incident_id>")
@staff_required()
def service_incident(incident_id: int) -> Any:
    return _incident_page(incident_id)


@staff.post("/service/incidents/<int:incident_id>/notice")
@staff_required(*ANNOUNCERS)
def announce_incident(incident_id: int) -> Any:
    from ..api.servicedesk import announce

    incident = visible_incident(db.session, staff_user(), incident_id)
    form = {k: request.form.get(k, "") for k in ("title", "body", "starts_at", "ends_at")}
    data = {**form, "starts_at": local_input(form["starts_at"]), "ends_at": local_input(form["ends_at"])}
    try:
        command = AnnounceIncident.parse(data)
        notice, recipients = announce(db.session, staff_user(), incident, command.model_dump())
        notice_id = notice.id
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _incident_page(incident_id, form, form_errors(exc, _labels()))
    flash(_("The notice is on its way to %(count)d customers.", count=len(recipients.user_ids)), "ok")
    return redirect(url_for("staff.notice_detail", notice_id=notice_id))


@staff.post("/service/incidents/<int:incident_id>/restoration")
@staff_required(*HANDLERS)
def restore_incident(incident_id: int) -> Any:
    incident = visible_incident(db.session, staff_user(), incident_id)
    try:
        command = RestoreIncident.parse({"cause": request.form.get("cause", "")})
        closed = services.restore_incident(db.session, staff_user(), incident, command.cause)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _incident_page(incident_id, None, form_errors(exc, {"cause": _("Cause of the fault")}))
    flash(_("Power restored: %(count)d tickets closed and their reporters told.", count=closed), "ok")
    return redirect(url_for("staff.service_incident", incident_id=incident_id))


def _map(markers: list[Marker], areas: list[Area], centre: tuple[float, float]) -> Any:
    return build_map([], centre=centre, you=None, areas=areas, zoom=15, markers=markers)


@staff.get("/service/map")
@staff_required()
def repairs_map() -> Any:
    """Open fault reports and active incidents on a map (names travel as GeoJSON data, never as script)."""
    tickets: list[Ticket] = open_repairs(db.session, staff_user())
    markers = [
        Marker(
            lat=t.lat,
            lon=t.lon,
            kind="fault",
            tooltip=f"{t.ticket_no} {STATUS_LABELS.get(t.status, t.status)}",
            popup_html=render_template("servicedesk/_repair_popup.html", ticket=t, status_labels=STATUS_LABELS),
        )
        for t in tickets
        if t.lat is not None and t.lon is not None
    ]
    active = db.session.scalars(visible_incidents(staff_user()).limit(50)).all()
    areas = [
        outage_area(incidents.area(db.session, i), _("Incident %(id)s", id=i.id))
        for i in active
        if i.status != "restored"
    ]
    centre = (markers[0].lat, markers[0].lon) if markers else default_centre()
    rendered = _map(markers, areas, centre)
    return render_template("servicedesk/staff_map.html", rendered=rendered, tickets=tickets, **_vocabulary())


@staff.get("/service/tickets/<ticket_no>/photos/<int:photo_id>")
@staff_required()
def service_photo(ticket_no: str, photo_id: int) -> Any:
    ticket = visible_ticket(db.session, staff_user(), ticket_no)
    return photo_response(services.ticket_photo(db.session, ticket, photo_id))


# --- the supervisor's view ---------------------------------------------------------------------------

SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)
PERIODS = (7, 30, 90, 365)


def _period() -> tuple[int, dt.datetime, dt.datetime]:
    try:
        days = int(request.args.get("days", "30"))
    except ValueError:
        days = 30
    days = days if days in PERIODS else 30
    until = dt.datetime.now(dt.UTC)
    return days, until - dt.timedelta(days=days), until


def _supervised_unit() -> tuple[list[Unit], Unit | None]:
    """The caller's units, and the one asked for (``?unit=CODE``) among them (``core.scope``), if any."""
    units = list(db.session.scalars(visible_units(staff_user())))
    return units, next((u for u in units if u.code == request.args.get("unit")), None)


@staff.get("/service/supervision")
@staff_required(*SUPERVISORS)
def service_supervision() -> Any:
    days, since, until = _period()
    units, unit = _supervised_unit()
    report = supervision(db.session, staff_user(), since, until, unit)
    return render_template(
        "servicedesk/staff_supervision.html",
        report=report,
        days=days,
        periods=PERIODS,
        units=units,
        unit=unit,
        **_vocabulary(),
    )


def _cell(value: str) -> str:
    # a cell a spreadsheet would run as a formula is kept as text
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@staff.get("/service/supervision.csv")
@staff_required(*SUPERVISORS)
def service_supervision_csv() -> Any:
    days, since, until = _period()
    report = supervision(db.session, staff_user(), since, until, _supervised_unit()[1])
    buffer = io.StringIO()
    buffer.write("\ufeff")  # so that spreadsheet programs read the Chinese text as UTF-8
    writer = csv.writer(buffer)
    for row in csv_rows(report):
        writer.writerow([_cell(cell) for cell in row])
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f"attachment; filename=servicedesk-{days}d"
            + (f"-{report.unit}" if report.unit and report.unit.isalnum() else "")
            + ".csv"
        },
    )
