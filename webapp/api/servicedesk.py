"""Service desk (95598): tickets, their steps, ratings and photos; incidents and their outage notices."""

from __future__ import annotations

from typing import Any, Literal

from flask import Response, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.models import Account
from core.db import db
from core.errors import DomainError, InvalidInput, Problem
from core.identity import ALL_ROLES, STAFF_ROLES, Role, Unit, User
from notifications.commands import AnnounceOutage
from notifications.services import create_outage_notice
from servicedesk import incidents, services
from servicedesk.commands import (
    AnnounceIncident,
    AnonymousReport,
    Kind,
    MoveTicket,
    OpenTicket,
    RateTicket,
    ReopenTicket,
    RestoreIncident,
)
from servicedesk.models import Incident, Ticket, TicketPhoto, TicketStatus
from servicedesk.photos import checked_image
from servicedesk.queries import (
    photo_ids,
    ticket_list,
    timeline,
    urgency,
    visible_incident,
    visible_incidents,
    visible_ticket,
)

from ..auth import bearer_token, token_claims
from ..exports import kept_file_response
from ..throttle import guard
from . import api
from .framework import (
    PUBLIC,
    PageQuery,
    allow,
    caller,
    caller_or_none,
    endpoint,
    paginate,
    parse_body,
    register_resource,
    resolved,
)

ANYONE_SIGNED_IN = allow(*ALL_ROLES)
TICKET = allow(*ALL_ROLES, resource="ticket")
HANDLERS = allow(Role.CLERK, Role.SUPERVISOR, Role.ADMIN, resource="ticket")
REPORTER = allow(Role.CUSTOMER, resource="ticket")
STAFF = allow(*STAFF_ROLES)
STAFF_INCIDENT = allow(*STAFF_ROLES, resource="incident")
ANNOUNCERS = allow(Role.ARCHIVIST, Role.CLERK, Role.ADMIN, resource="incident")  # as outage notices
RESTORERS = allow(Role.CLERK, Role.SUPERVISOR, Role.ADMIN, resource="incident")

register_resource("ticket", lambda session, user, path: visible_ticket(session, user, str(path["ticket_no"])))
register_resource("incident", lambda session, user, path: visible_incident(session, user, int(path["incident_id"])))


def ticket_summary(ticket: Ticket) -> dict[str, Any]:
    return {
        "ticket_no": ticket.ticket_no,
        "kind": ticket.kind,
        "status": ticket.status,
        "due_at": ticket.due_at,
        "received_at": ticket.received_at,
        "closed_at": ticket.closed_at,
        "urgency": urgency(ticket),
        "repeated": ticket.repeated,
        "incident_id": ticket.incident_id,
    }


def ticket_json(session: Session, user: User, ticket: Ticket) -> dict[str, Any]:
    """The ticket with its steps (due and done), its timeline, photos and rating."""
    account_no = session.scalar(select(Account.account_no).where(Account.id == ticket.account_id))
    unit = session.get(Unit, ticket.unit_id)
    merged_into = session.get(Ticket, ticket.merged_into_id) if ticket.merged_into_id else None
    return {
        **ticket_summary(ticket),
        "account_no": account_no,
        "unit": unit.code if unit else None,
        "description": ticket.description,
        "lat": ticket.lat,
        "lon": ticket.lon,
        "contact_phone": ticket.contact_phone,
        "crew": ticket.crew,
        "cause": ticket.cause,
        "reply": ticket.reply,
        "reopened": ticket.reopened,
        "escalated_at": ticket.escalated_at,
        "merged_into": merged_into.ticket_no if merged_into else None,
        "rating": {"score": ticket.rating_score, "comment": ticket.rating_comment, "rated_at": ticket.rated_at}
        if ticket.rated_at
        else None,
        "may_reopen": user.id == ticket.reporter_id and services.reopen_window_open(ticket),
        "steps": [{"step": s.step, "due_at": s.due_at, "done_at": s.done_at} for s in ticket.steps],
        "timeline": [{"at": e.at, "action": e.action, "note": e.note} for e in timeline(session, ticket)],
        "photos": [f"/api/v1/tickets/{ticket.ticket_no}/photos/{i}" for i in photo_ids(session, ticket)],
    }


def open_report_by_token(_path: dict[str, Any]) -> Any:
    """``open_ticket``'s hot path (a storm): a customer's fault report with a bearer token, written with its
    reporter's check in one statement that is its own transaction (``services.open_signed_in_report``). It answers
    only a report taken in; anything else (no or a bad token, a body refused, a staff member, a place refused) goes
    the ordinary way, which answers as ever, 401 first."""
    token = bearer_token() if db.dialect_name == "postgresql" else None
    claims = None if token is None else token_claims(token)
    if claims is None or type(claims[1]) is not int:
        return None
    try:
        body = parse_body(OpenTicket)
    except DomainError:
        return None
    ticket = services.open_signed_in_report(db.session, claims[0], claims[1], body)  # type: ignore[arg-type]
    if ticket is None:
        return None
    return {**ticket_summary(ticket), "lat": ticket.lat, "lon": ticket.lon}, 201


@endpoint(
    api,
    "/tickets",
    methods=["POST"],
    access=PUBLIC,
    body=OpenTicket,
    fast_path=open_report_by_token,
    status=201,
    summary="Open a ticket (customers and staff; a fault report also without signing in, rate-limited, with a "
    "place inside the service area and a phone number)",
    extra_responses={422: "bad input or a place outside the service area", 429: "too many anonymous reports"},
)
def open_ticket(body: OpenTicket) -> Any:
    user = caller_or_none()
    if user is None:
        attempts = guard()
        key = request.remote_addr or "-"
        attempts.check("SERVICEDESK_ANONYMOUS_LIMIT", key)
        attempts.failed("SERVICEDESK_ANONYMOUS_LIMIT", key)  # every anonymous report counts
        body = AnonymousReport.parse(body.model_dump(exclude_none=True))
    ticket = services.open_ticket(db.session, user, body)
    result = {**ticket_summary(ticket), "lat": ticket.lat, "lon": ticket.lon}
    if user is None:  # the passer-by's follow-up link, shown this once (only its hash is kept)
        result["follow_url"] = url_for("portal.follow_ticket", token=ticket.follow_token)  # type: ignore[attr-defined]
    return result, 201


class TicketQuery(PageQuery):
    kind: Kind | None = None
    status: Literal[tuple(s.value for s in TicketStatus)] | None = None  # type: ignore[valid-type]
    overdue: bool | None = None


@endpoint(
    api,
    "/tickets",
    access=ANYONE_SIGNED_IN,
    query=TicketQuery,
    summary="Tickets: customers their own, staff their units' (staff: soonest due first)",
)
def list_tickets(query: TicketQuery) -> Any:
    stmt = ticket_list(caller(), kind=query.kind, status=query.status, overdue=query.overdue)
    return paginate(db.session, stmt, query, ticket_summary)


@endpoint(api, "/tickets/<ticket_no>", access=TICKET, summary="A ticket with its steps, timeline and photos")
def get_ticket(ticket_no: str) -> Any:
    return ticket_json(db.session, caller(), resolved())


@endpoint(
    api,
    "/tickets/<ticket_no>/transitions",
    methods=["POST"],
    access=HANDLERS,
    body=MoveTicket,
    summary="Do a step of the ticket's flow (dispatch, on site, restored, contacted, tested, replied, closed) or "
    "merge it into the ticket it duplicates",
    extra_responses={409: "not a step ahead of the ticket (ticket_step_not_allowed)"},
)
def move_ticket(ticket_no: str, body: MoveTicket) -> Any:
    ticket = services.move_ticket(db.session, caller(), resolved(), body)
    return ticket_json(db.session, caller(), ticket)


@endpoint(
    api,
    "/tickets/<ticket_no>/rating",
    methods=["POST"],
    access=REPORTER,
    body=RateTicket,
    summary="The reporter rates a closed ticket (1 to 5), once",
    extra_responses={409: "not closed, or already rated"},
)
def rate_ticket(ticket_no: str, body: RateTicket) -> Any:
    ticket = services.rate_ticket(db.session, caller(), resolved(), body)
    return ticket_json(db.session, caller(), ticket)


@endpoint(
    api,
    "/tickets/<ticket_no>/reopen",
    methods=["POST"],
    access=REPORTER,
    body=ReopenTicket,
    summary="The reporter reopens a closed ticket within the configured window",
    extra_responses={409: "not closed, or the window is over"},
)
def reopen_ticket(ticket_no: str, body: ReopenTicket) -> Any:
    ticket = services.reopen_ticket(db.session, caller(), resolved(), body)
    return ticket_json(db.session, caller(), ticket)


@endpoint(
    api,
    "/tickets/<ticket_no>/photos",
    methods=["POST"],
    access=TICKET,
    status=201,
    summary="Add a photo to a ticket (JPEG, PNG, WebP or GIF; anything else is refused and nothing is kept)",
    multipart={"photo": "binary"},
    extra_responses={422: "not an image, or too large"},
)
def add_photo(ticket_no: str) -> Any:
    from servicedesk.settings import get

    ticket: Ticket = resolved()
    upload = request.files.get("photo")
    if upload is None:
        raise InvalidInput.fields({"photo": Problem("required")})
    if len(photo_ids(db.session, ticket)) >= int(get("SERVICEDESK_PHOTOS_MAX")):
        raise InvalidInput.fields({"photo": Problem("too_many", max=int(get("SERVICEDESK_PHOTOS_MAX")))})
    data = upload.read(int(get("SERVICEDESK_PHOTO_MAX_BYTES")) + 1)
    content_type = checked_image(data)
    photo = TicketPhoto(ticket_id=ticket.id, content=data, content_type=content_type)
    db.session.add(photo)
    db.session.flush()
    return {"url": f"/api/v1/tickets/{ticket.ticket_no}/photos/{photo.id}"}, 201


@endpoint(
    api,
    "/tickets/<ticket_no>/photos/<int:photo_id>",
    access=TICKET,
    summary="A photo of a ticket",
    content_type="image/*",
)
def get_photo(ticket_no: str, photo_id: int) -> Any:
    return photo_response(services.ticket_photo(db.session, resolved(), photo_id))


def photo_response(photo: TicketPhoto) -> Response:
    """A ticket's photo as kept (an image checked on upload)."""
    return kept_file_response(photo.content, photo.content_type)


# --- incidents --------------------------------------------------------------------------------------


def incident_json(session: Session, incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "status": incident.status,
        "ticket_count": incident.ticket_count,
        "area": incidents.area(session, incident),
        "lat": incident.lat,
        "lon": incident.lon,
        "first_reported_at": incident.first_reported_at,
        "last_reported_at": incident.last_reported_at,
        "notice_id": incident.notice_id,
        "restored_at": incident.restored_at,
    }


class IncidentQuery(PageQuery):
    status: Literal["open", "announced", "restored"] | None = None


@endpoint(api, "/incidents", access=STAFF, query=IncidentQuery, summary="Fault reports grouped by place and time")
def list_incidents(query: IncidentQuery) -> Any:
    stmt = visible_incidents(caller(), query.status)
    return paginate(db.session, stmt, query, lambda i: incident_json(db.session, i))


@endpoint(api, "/incidents/<int:incident_id>", access=STAFF_INCIDENT, summary="An incident and its tickets")
def get_incident(incident_id: int) -> Any:
    incident: Incident = resolved()
    tickets = incidents.incident_tickets(db.session, incident)
    return {**incident_json(db.session, incident), "tickets": [ticket_summary(t) for t in tickets]}


def announce(session: Session, user: User, incident: Incident, data: dict[str, Any]) -> tuple[Any, Any]:
    """The incident's outage notice to the accounts around its reports (the notice's own checks apply)."""
    command = AnnounceOutage.parse({**data, "area": incidents.area(session, incident)})
    notice, recipients = create_outage_notice(session, user, command)
    incidents.announced(session, user, incident, notice.id)
    return notice, recipients


@endpoint(
    api,
    "/incidents/<int:incident_id>/outage-notice",
    methods=["POST"],
    access=ANNOUNCERS,
    body=AnnounceIncident,
    status=202,
    summary="Turn an incident into an outage notice for the accounts in its area; workers deliver it",
    extra_responses={409: "the incident is restored"},
)
def incident_outage_notice(incident_id: int, body: AnnounceIncident) -> Any:
    notice, recipients = announce(db.session, caller(), resolved(), body.model_dump())
    return {
        "notice_id": notice.id,
        "recipients": len(recipients.user_ids),
        "accounts": len(recipients.account_ids),
    }, 202


@endpoint(
    api,
    "/incidents/<int:incident_id>/restoration",
    methods=["POST"],
    access=RESTORERS,
    body=RestoreIncident,
    summary="Power is back: close the incident's tickets and tell their reporters",
    extra_responses={409: "already restored"},
)
def restore_incident(incident_id: int, body: RestoreIncident) -> Any:
    closed = services.restore_incident(db.session, caller(), resolved(), body.cause)
    return {"closed": closed, **incident_json(db.session, resolved())}
