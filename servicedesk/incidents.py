"""Incidents: fault reports close in place and time taken as one fault.

A new fault report joins the nearest incident still open whose last report is within
``SERVICEDESK_INCIDENT_MINUTES`` and whose centre is within ``SERVICEDESK_INCIDENT_RADIUS_M``; otherwise, once it
and the ungrouped reports near it in that window number ``SERVICEDESK_INCIDENT_MIN_REPORTS``, they become a new
incident. The duty officer announces an incident as an outage notice; its restoration closes its tickets.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import trail
from core.errors import Conflict
from core.identity import User

from . import settings
from .models import Incident, IncidentStatus, Ticket, TicketKind, TicketStatus
from .places import area_around, distance_m

ACTIVE = (IncidentStatus.OPEN.value, IncidentStatus.ANNOUNCED.value)


def _box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    dlat = radius_m / 111_320.0
    dlon = radius_m / (111_320.0 * max(0.1, math.cos(math.radians(lat))))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def _join(incident: Incident, ticket: Ticket) -> None:
    assert ticket.lat is not None and ticket.lon is not None
    n = incident.ticket_count
    incident.lat = (incident.lat * n + ticket.lat) / (n + 1)
    incident.lon = (incident.lon * n + ticket.lon) / (n + 1)
    incident.ticket_count = n + 1
    incident.last_reported_at = max(incident.last_reported_at, ticket.received_at)
    incident.first_reported_at = min(incident.first_reported_at, ticket.received_at)
    ticket.incident_id = incident.id


def group(session: Session, ticket: Ticket) -> Incident | None:
    """Put a new fault report (with a place) into its incident, making one when enough reports gather."""
    if ticket.lat is None or ticket.lon is None:
        return None
    radius = float(settings.get("SERVICEDESK_INCIDENT_RADIUS_M"))
    since = ticket.received_at - dt.timedelta(minutes=int(settings.get("SERVICEDESK_INCIDENT_MINUTES")))
    south, north, west, east = _box(ticket.lat, ticket.lon, radius)
    candidates = session.scalars(
        select(Incident).where(
            Incident.status.in_(ACTIVE),
            Incident.last_reported_at >= since,
            Incident.lat.between(south, north),
            Incident.lon.between(west, east),
        )
    ).all()
    near = [(distance_m(ticket.lat, ticket.lon, i.lat, i.lon), i.id, i) for i in candidates]
    near = [c for c in near if c[0] <= radius]
    if near:
        incident = min(near, key=lambda c: (c[0], c[1]))[2]
        _join(incident, ticket)
        return incident
    neighbours = session.scalars(
        select(Ticket).where(
            Ticket.kind == TicketKind.FAULT_REPAIR,
            Ticket.incident_id.is_(None),
            Ticket.status.not_in((TicketStatus.CLOSED, TicketStatus.MERGED)),
            Ticket.received_at >= since,
            Ticket.lat.between(south, north),
            Ticket.lon.between(west, east),
            Ticket.id != ticket.id,
        )
    ).all()
    neighbours = [t for t in neighbours if distance_m(ticket.lat, ticket.lon, t.lat or 0, t.lon or 0) <= radius]
    if len(neighbours) + 1 < int(settings.get("SERVICEDESK_INCIDENT_MIN_REPORTS")):
        return None
    incident = Incident(
        unit_id=ticket.unit_id,
        lat=ticket.lat,
        lon=ticket.lon,
        first_reported_at=ticket.received_at,
        last_reported_at=ticket.received_at,
        ticket_count=1,
    )
    session.add(incident)
    session.flush()
    ticket.incident_id = incident.id
    for other in sorted(neighbours, key=lambda t: t.id):
        _join(incident, other)
    trail.record(
        session,
        actor_id=None,
        action="incident.grouped",
        entity="incident",
        entity_id=str(incident.id),
        after={"tickets": incident.ticket_count},
    )
    return incident


def incident_tickets(session: Session, incident: Incident) -> list[Ticket]:
    return list(session.scalars(select(Ticket).where(Ticket.incident_id == incident.id).order_by(Ticket.id)))


def area(session: Session, incident: Incident) -> dict[str, Any]:
    """A GeoJSON Polygon around the incident's reports (for the outage notice and the map)."""
    points = [(t.lat, t.lon) for t in incident_tickets(session, incident) if t.lat is not None and t.lon is not None]
    return area_around(points or [(incident.lat, incident.lon)])  # type: ignore[list-item]


def announced(session: Session, actor: User, incident: Incident, notice_id: int) -> Incident:
    """Record the outage notice that announced the incident (409 ``incident_restored`` once power is back)."""
    if incident.status == IncidentStatus.RESTORED:
        raise Conflict("incident_restored")
    incident.notice_id = notice_id
    incident.status = IncidentStatus.ANNOUNCED
    trail.record(
        session,
        actor_id=actor.id,
        action="incident.announced",
        entity="incident",
        entity_id=str(incident.id),
        after={"notice_id": notice_id},
    )
    return incident
