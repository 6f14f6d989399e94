"""Read-side queries of the service desk, within the caller's scope: queues, one ticket, incidents, the map.

Customers see the tickets they reported and those of the accounts bound to them; staff the tickets and incidents
of their unit subtree (``core.scope``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import NotFound
from core.identity import Role, Unit, User
from core.scope import account_in_scope, in_scope, under

from . import settings
from .models import Incident, IncidentStatus, Ticket, TicketEvent, TicketPhoto, TicketStatus

OPEN = tuple(s.value for s in TicketStatus if s not in (TicketStatus.CLOSED, TicketStatus.MERGED))


def ticket_visible(user: User) -> ColumnElement[bool]:
    """The tickets the user may see."""
    if user.role == Role.CUSTOMER:
        return or_(Ticket.reporter_id == user.id, account_in_scope(user, Ticket.account_id))
    return in_scope(user, Ticket.unit_id)


def visible_tickets(user: User) -> Select[Any]:
    return select(Ticket).where(ticket_visible(user))


def visible_ticket(session: Session, user: User, ticket_no: str) -> Ticket:
    """The ticket if the user may see it; 404 ``ticket_not_found`` for an unknown one and a hidden one alike."""
    ticket = session.scalar(visible_tickets(user).where(Ticket.ticket_no == ticket_no))
    if ticket is None:
        raise NotFound("ticket_not_found")
    return ticket


def ticket_list(
    user: User,
    *,
    kind: str | None = None,
    status: str | None = None,
    overdue: bool | None = None,
    open_only: bool = False,
    unit: Unit | None = None,
    now: dt.datetime | None = None,
) -> Select[Any]:
    """The user's tickets (of ``unit``'s subtree, a unit the user sees); staff queues sort by due time (soonest
    first), customers see the newest first."""
    stmt = visible_tickets(user)
    if unit is not None:
        stmt = stmt.where(under(unit.path, Ticket.unit_id))
    now = now or utcnow()
    if kind:
        stmt = stmt.where(Ticket.kind == kind)
    if status:
        stmt = stmt.where(Ticket.status == status)
    if open_only:
        stmt = stmt.where(Ticket.status.in_(OPEN))
    if overdue is True:
        stmt = stmt.where(Ticket.status.in_(OPEN), Ticket.due_at < now)
    elif overdue is False:
        stmt = stmt.where(or_(Ticket.due_at.is_(None), Ticket.due_at >= now))
    if user.role == Role.CUSTOMER:
        return stmt.order_by(Ticket.received_at.desc(), Ticket.id.desc())
    return stmt.order_by(Ticket.due_at.asc().nulls_last(), Ticket.id)


def urgency(ticket: Ticket, now: dt.datetime | None = None) -> str:
    """``overdue``, ``due_soon`` (within ``SERVICEDESK_DUE_SOON_MINUTES``) or ``on_time``; ``done`` once closed."""
    if ticket.status not in OPEN or ticket.due_at is None:
        return "done"
    now = now or utcnow()
    if ticket.due_at < now:
        return "overdue"
    if ticket.due_at - now <= dt.timedelta(minutes=int(settings.get("SERVICEDESK_DUE_SOON_MINUTES"))):
        return "due_soon"
    return "on_time"


def timeline(session: Session, ticket: Ticket) -> list[TicketEvent]:
    return list(session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)))


def photo_ids(session: Session, ticket: Ticket) -> list[int]:
    return list(
        session.scalars(select(TicketPhoto.id).where(TicketPhoto.ticket_id == ticket.id).order_by(TicketPhoto.id))
    )


def visible_incidents(user: User, status: str | None = None) -> Select[Any]:
    stmt = select(Incident).where(in_scope(user, Incident.unit_id))
    if status:
        stmt = stmt.where(Incident.status == status)
    return stmt.order_by(Incident.first_reported_at.desc(), Incident.id.desc())


def visible_incident(session: Session, user: User, incident_id: int) -> Incident:
    incident = session.scalar(select(Incident).where(Incident.id == incident_id, in_scope(user, Incident.unit_id)))
    if incident is None:
        raise NotFound("incident_not_found")
    return incident


def open_repairs(session: Session, user: User, limit: int = 2000) -> list[Ticket]:
    """Open fault reports with a place, for the staff map."""
    stmt = (
        visible_tickets(user)
        .where(Ticket.kind == "fault_repair", Ticket.status.in_(OPEN), Ticket.lat.isnot(None))
        .order_by(Ticket.due_at)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def active_incident_statuses() -> tuple[str, ...]:
    return (IncidentStatus.OPEN.value, IncidentStatus.ANNOUNCED.value)
