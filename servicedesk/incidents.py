"""Incidents: fault reports close in place and time taken as one fault.

A new fault report joins the nearest incident still open whose last report is within
``SERVICEDESK_INCIDENT_MINUTES`` and whose centre is within ``SERVICEDESK_INCIDENT_RADIUS_M``; otherwise, once it
and the ungrouped reports near it in that window number ``SERVICEDESK_INCIDENT_MIN_REPORTS``, they become a new
incident. The duty officer announces an incident as an outage notice; its restoration closes its tickets.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, case, exists, func, insert, literal_column, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlalchemy.types import UserDefinedType

from core import trail
from core.db import utcnow
from core.errors import Conflict
from core.identity import User

from . import settings
from .models import Incident, IncidentStatus, Ticket, TicketKind, TicketStatus
from .places import EARTH_M, area_around, distance_m

ACTIVE = (IncidentStatus.OPEN.value, IncidentStatus.ANNOUNCED.value)


def _box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    dlat = radius_m / 111_320.0
    dlon = radius_m / (111_320.0 * max(0.1, math.cos(math.radians(lat))))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


_INCIDENTS: Table = Incident.__table__  # type: ignore[assignment]
_TICKETS: Table = Ticket.__table__  # type: ignore[assignment]


_i, _t = _INCIDENTS.c, _TICKETS.c
# built once (a storm's intake must not rebuild them per report): the active incidents and the ungrouped open
# fault reports in the box around a report since the window began, and a report joining an incident
_ACTIVE_NEAR = select(_i.id, _i.lat, _i.lon).where(
    _i.status.in_(ACTIVE),
    _i.last_reported_at >= bindparam("since"),
    _i.lat.between(bindparam("south"), bindparam("north")),
    _i.lon.between(bindparam("west"), bindparam("east")),
)
_UNGROUPED_NEAR = select(_t.id, _t.lat, _t.lon, _t.received_at).where(
    _t.kind == TicketKind.FAULT_REPAIR.value,
    _t.incident_id.is_(None),
    _t.status.not_in((TicketStatus.CLOSED.value, TicketStatus.MERGED.value)),
    _t.received_at >= bindparam("since"),
    _t.lat.between(bindparam("south"), bindparam("north")),
    _t.lon.between(bindparam("west"), bindparam("east")),
)
# the same, locked in id order (``group_written_report``): two new incidents queue for the reports they share
_UNGROUPED_NEAR_LOCKED = _UNGROUPED_NEAR.order_by(_t.id).with_for_update()
_n = _i.ticket_count


class AsSent(UserDefinedType[Any]):
    """A parameter written without a cast: psycopg sends a datetime, an int or a float with its own type, and
    PostgreSQL's one intake statement must stay short (``intake``). Only for values that are never None (an
    untyped NULL is text) and need no conversion by SQLAlchemy."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "unknown"


def _moved(at: Any) -> dict[str, Any]:
    """A report joining an incident: its centre, count and times moved on the row itself (concurrent reports
    joining one incident each count); ``at``: the report's time as a parameter."""
    return {
        # of floats: a plain division (SQLAlchemy's would cast the count to NUMERIC, in a statement kept short)
        "lat": (_i.lat * _n + bindparam("lat")).self_group().op("/")((_n + literal_column("1")).self_group()),
        "lon": (_i.lon * _n + bindparam("lon")).self_group().op("/")((_n + literal_column("1")).self_group()),
        "ticket_count": _n + literal_column("1"),
        "last_reported_at": case((_i.last_reported_at < at, at), else_=_i.last_reported_at),
        "first_reported_at": case((_i.first_reported_at > at, at), else_=_i.first_reported_at),
    }


JOIN = update(_INCIDENTS).where(_i.id == bindparam("joined_incident_id")).values(_moved(bindparam("at")))


def _distance_sql(lat: Any, lon: Any) -> Any:
    """``distance_m`` from the report (:lat, :lon) to (lat, lon) in SQL (PostgreSQL), the same haversine in the
    same order of operations in double precision, as Python's floats (the report's own terms from Python,
    ``nearest_parameters``)."""
    p2 = func.radians(lat)
    two: Any = literal_column("2")
    half_dlat = func.sin((p2 - bindparam("p1")).self_group().op("/")(two))
    half_dlon = func.sin(func.radians(lon - bindparam("lon")).op("/")(two))
    a = func.power(half_dlat, two) + bindparam("cos_p1") * func.cos(p2) * func.power(half_dlon, two)
    return literal_column(repr(2 * EARTH_M)) * func.asin(func.least(literal_column("1.0"), func.sqrt(a)))


def _box_sql(table: Any) -> list[Any]:
    """A row of ``table`` inside the box around the report."""
    c = table.c
    return [c.lat.between(bindparam("south"), bindparam("north")), c.lon.between(bindparam("west"), bindparam("east"))]


def _quoted(*values: str) -> list[Any]:
    return [literal_column(f"'{v}'") for v in values]


def nearest_statements() -> tuple[Any, Callable[[Any], Any], Any]:
    """PostgreSQL's grouping inside intake's one statement (``intake``): the nearest active incident (a CTE of its
    id: centre within the radius, last report within the window, the lower id on a tie, as
    ``incident_for_report``), a function giving ``JOIN`` for the incidents of a selectable of ids (the written
    report's incident: the nearest, once the report is written), and, when there is none, the count of the
    ungrouped open fault reports near the report (a scalar; 0 without looking when an incident is near).
    Parameters: ``nearest_parameters``."""
    i, t = _INCIDENTS.alias("i"), _TICKETS.alias("t")  # short names: the statement stays short (``intake``)
    since = bindparam("since", type_=AsSent())
    active = (
        select(i.c.id, _distance_sql(i.c.lat, i.c.lon).label("distance"))
        .where(i.c.status.in_(_quoted(*ACTIVE)), i.c.last_reported_at >= since, *_box_sql(i))
        .subquery("active")
    )
    nearest = (
        select(active.c.id)
        .where(active.c.distance <= bindparam("radius"))
        .order_by(active.c.distance, active.c.id)
        .limit(literal_column("1"))
        .cte("nearest")
    )
    moved = _moved(bindparam("at", type_=AsSent()))

    def joined(ids: Any) -> Any:
        return update(_INCIDENTS).where(_i.id.in_(ids)).values(moved)

    neighbours = (
        select(func.count())
        .where(
            ~exists(select(nearest.c.id)),
            t.c.kind == literal_column(f"'{TicketKind.FAULT_REPAIR.value}'"),
            t.c.incident_id.is_(None),
            t.c.status.not_in(_quoted(TicketStatus.CLOSED.value, TicketStatus.MERGED.value)),
            t.c.received_at >= since,
            *_box_sql(t),
            _distance_sql(t.c.lat, t.c.lon) <= bindparam("radius"),
        )
        .scalar_subquery()
    )
    return nearest, joined, neighbours


def nearest_parameters(groups: bool, lat: float | None, lon: float | None, received: dt.datetime) -> dict[str, Any]:
    """``nearest_statements``' parameters for a report at (lat, lon) received then; ``groups``: whether it is a
    fault report with a place (else the box is empty: no incident, no neighbours)."""
    if not groups or lat is None or lon is None:
        return {"lat": lat, "lon": lon, "at": received, "p1": None, "cos_p1": None, "since": None, "south": None,
                "north": None, "west": None, "east": None, "radius": None}  # fmt: skip
    radius = float(settings.get("SERVICEDESK_INCIDENT_RADIUS_M"))
    since = received - dt.timedelta(minutes=int(settings.get("SERVICEDESK_INCIDENT_MINUTES")))
    south, north, west, east = _box(lat, lon, radius)
    p1 = math.radians(lat)
    return {"lat": lat, "lon": lon, "at": received, "p1": p1, "cos_p1": math.cos(p1), "since": since,
            "south": south, "north": north, "west": west, "east": east, "radius": radius}  # fmt: skip


@dataclass(frozen=True)
class Grouping:
    """The incident a new fault report belongs to, decided before its row is written: ``joins`` when it joins an
    active incident (the caller moves it with ``JOIN``: ``join``), not when it formed a new one (which counts it
    already) or has none."""

    incident_id: int | None = None
    joins: bool = False


def incident_for_report(session: Session, unit_id: int, lat: float, lon: float, received: dt.datetime) -> Grouping:
    """The incident a new fault report at (lat, lon) belongs to: the nearest active incident whose centre is within
    ``SERVICEDESK_INCIDENT_RADIUS_M`` and whose last report is within ``SERVICEDESK_INCIDENT_MINUTES`` (joined:
    the caller runs ``JOIN``, see ``join``); else, once the report and the ungrouped open reports near it number
    ``SERVICEDESK_INCIDENT_MIN_REPORTS``, a new incident holding them; else none. One look-up for a report joining
    an incident, two for a lone report."""
    radius = float(settings.get("SERVICEDESK_INCIDENT_RADIUS_M"))
    since = received - dt.timedelta(minutes=int(settings.get("SERVICEDESK_INCIDENT_MINUTES")))
    south, north, west, east = _box(lat, lon, radius)
    box = {"since": since, "south": south, "north": north, "west": west, "east": east}
    connection = session.connection()  # Core statements on the hot path: no ORM execution around them
    near = [(distance_m(lat, lon, c.lat, c.lon), c.id) for c in connection.execute(_ACTIVE_NEAR, box)]
    near = [c for c in near if c[0] <= radius]
    if near:
        return Grouping(int(min(near)[1]), joins=True)
    neighbours = [r for r in connection.execute(_UNGROUPED_NEAR, box) if distance_m(lat, lon, r.lat, r.lon) <= radius]
    if len(neighbours) + 1 < int(settings.get("SERVICEDESK_INCIDENT_MIN_REPORTS")):
        return Grouping()
    return Grouping(_form_incident(session, unit_id, lat, lon, received, neighbours))


def enough_neighbours(neighbours: int) -> bool:
    """Whether a report with this many ungrouped open reports near it makes a new incident with them."""
    return neighbours + 1 >= int(settings.get("SERVICEDESK_INCIDENT_MIN_REPORTS"))


def group_written_report(
    session: Session, ticket_id: int, unit_id: int, lat: float, lon: float, received: dt.datetime
) -> int | None:
    """A report already written ungrouped (PostgreSQL's intake, which found no incident near it and enough
    neighbours, ``nearest_statements``) and the ungrouped reports near it made a new incident, by the rule of
    ``incident_for_report``; its id, or None when the neighbours are too few after all.

    The report and its neighbours are locked, in id order, while still ungrouped: another report's new incident
    (the report may be committed already, ``services.open_signed_in_report``) takes them first or after, never a
    report twice. A report grouped meanwhile gives the incident it has."""
    box = nearest_parameters(True, lat, lon, received)
    radius = box["radius"]
    connection = session.connection()
    near = [r for r in connection.execute(_UNGROUPED_NEAR_LOCKED, box) if distance_m(lat, lon, r.lat, r.lon) <= radius]
    neighbours = [r for r in near if r.id != ticket_id]
    if len(neighbours) == len(near):  # not ungrouped any more (or closed): someone else's incident took it
        incident_id: int | None = session.scalar(select(_t.incident_id).where(_t.id == ticket_id))
        return incident_id
    if not enough_neighbours(len(neighbours)):
        return None
    return _form_incident(session, unit_id, lat, lon, received, neighbours, also=ticket_id)


def join_parameters(grouping: Grouping, lat: float, lon: float, received: dt.datetime) -> dict[str, Any]:
    """``JOIN``'s parameters for the report (``joined_incident_id`` None, matching no row, when it joins none)."""
    return {"joined_incident_id": grouping.incident_id if grouping.joins else None, "lat": lat, "lon": lon,
            "at": received}  # fmt: skip


def join(session: Session, grouping: Grouping, lat: float, lon: float, received: dt.datetime) -> None:
    """Move the incident the report joins (one UPDATE); nothing when it joins none."""
    if grouping.joins:
        session.connection().execute(JOIN, join_parameters(grouping, lat, lon, received))
        joined(session, grouping)


def joined(session: Session, grouping: Grouping) -> None:
    """After ``JOIN`` ran: an incident the session holds is read again when next asked for."""
    held = session.identity_map.get(identity_key(Incident, grouping.incident_id)) if grouping.joins else None
    if held is not None:
        session.expire(held)


def _form_incident(
    session: Session,
    unit_id: int,
    lat: float,
    lon: float,
    received: dt.datetime,
    neighbours: list[Any],
    also: int | None = None,
) -> int:
    """A new incident of the report and its ungrouped neighbours (which join it now; the report too when it is
    written already, ``also``: its id); its id."""
    count = len(neighbours) + 1
    incident_id = session.execute(
        insert(_INCIDENTS)
        .values(
            unit_id=unit_id,
            status=IncidentStatus.OPEN.value,
            lat=(lat + sum(r.lat for r in neighbours)) / count,
            lon=(lon + sum(r.lon for r in neighbours)) / count,
            first_reported_at=min([received, *(r.received_at for r in neighbours)]),
            last_reported_at=max([received, *(r.received_at for r in neighbours)]),
            ticket_count=count,
            created_at=utcnow(),
        )
        .returning(_i.id)
    ).scalar_one()
    joining = [r.id for r in neighbours] + ([] if also is None else [also])
    session.execute(update(_TICKETS).where(_t.id.in_(joining)).values(incident_id=incident_id))
    for row in neighbours:  # reports the session holds (a caller that took several in) see their incident
        held_ticket = session.identity_map.get(identity_key(Ticket, row.id))
        if held_ticket is not None:
            set_committed_value(held_ticket, "incident_id", incident_id)
    trail.record(
        session,
        actor_id=None,
        action="incident.grouped",
        entity="incident",
        entity_id=str(incident_id),
        after={"tickets": count},
    )
    return int(incident_id)


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


def group_reports(session: Session, since: dt.datetime, until: dt.datetime) -> list[Incident]:
    """Group every ungrouped open fault report with a place received in [since, until) into incidents at once,
    by the rule ``incident_for_report`` applies to one report (a storm's backlog, an import, a regrouping after a
    setting changed): reports in time order, each joining the nearest incident whose centre is within the radius and
    whose last report is within the window, or forming one with the ungrouped reports near it once there are
    enough. A grid of radius-sized cells keeps each look-up to the 9 cells around the report."""
    radius = float(settings.get("SERVICEDESK_INCIDENT_RADIUS_M"))
    window = dt.timedelta(minutes=int(settings.get("SERVICEDESK_INCIDENT_MINUTES")))
    needed = int(settings.get("SERVICEDESK_INCIDENT_MIN_REPORTS"))
    rows = session.execute(
        select(Ticket.id, Ticket.lat, Ticket.lon, Ticket.received_at, Ticket.unit_id)
        .where(
            Ticket.kind == TicketKind.FAULT_REPAIR,
            Ticket.incident_id.is_(None),
            Ticket.status.not_in((TicketStatus.CLOSED, TicketStatus.MERGED)),
            Ticket.lat.isnot(None),
            Ticket.received_at >= since,
            Ticket.received_at < until,
        )
        .order_by(Ticket.received_at, Ticket.id)
    ).all()
    cell_lat = radius / 111_320.0

    def cell(lat: float, lon: float) -> tuple[int, int]:
        cell_lon = radius / (111_320.0 * max(0.1, math.cos(math.radians(lat))))
        return int(lat // cell_lat), int(lon // cell_lon)

    clusters: list[dict[str, Any]] = []  # lat, lon, n, first, last, unit, members
    cluster_cells: dict[tuple[int, int], list[int]] = {}
    singles: dict[tuple[int, int], list[Any]] = {}
    for row in rows:
        here = cell(row.lat, row.lon)
        around = [(here[0] + a, here[1] + b) for a in (-1, 0, 1) for b in (-1, 0, 1)]
        best: tuple[float, int] | None = None
        for c in around:
            for index in cluster_cells.get(c, ()):
                cluster = clusters[index]
                if row.received_at - cluster["last"] > window:
                    continue
                distance = distance_m(row.lat, row.lon, cluster["lat"], cluster["lon"])
                if distance <= radius and (best is None or distance < best[0]):
                    best = (distance, index)
        if best is not None:
            cluster = clusters[best[1]]
            n = cluster["n"]
            cluster["lat"] = (cluster["lat"] * n + row.lat) / (n + 1)
            cluster["lon"] = (cluster["lon"] * n + row.lon) / (n + 1)
            cluster["n"], cluster["last"] = n + 1, row.received_at
            cluster["members"].append(row.id)
            continue
        near = [
            other
            for c in around
            for other in singles.get(c, ())
            if row.received_at - other.received_at <= window
            and distance_m(row.lat, row.lon, other.lat, other.lon) <= radius
        ]
        if len(near) + 1 < needed:
            singles.setdefault(here, []).append(row)
            continue
        members = [*near, row]
        taken = {m.id for m in near}
        for c in around:
            if c in singles:
                singles[c] = [s for s in singles[c] if s.id not in taken]
        clusters.append(
            {
                "lat": sum(m.lat for m in members) / len(members),
                "lon": sum(m.lon for m in members) / len(members),
                "n": len(members),
                "first": min(m.received_at for m in members),
                "last": row.received_at,
                "unit": row.unit_id,
                "members": [m.id for m in members],
            }
        )
        cluster_cells.setdefault(here, []).append(len(clusters) - 1)
    made = [
        Incident(
            unit_id=c["unit"],
            lat=c["lat"],
            lon=c["lon"],
            first_reported_at=c["first"],
            last_reported_at=c["last"],
            ticket_count=c["n"],
        )
        for c in clusters
    ]
    session.add_all(made)
    session.flush()
    links = [{"t_id": t, "i_id": i.id} for c, i in zip(clusters, made, strict=True) for t in c["members"]]
    if links:
        table = Ticket.__table__
        assert isinstance(table, Table)
        session.execute(
            update(table).where(table.c.id == bindparam("t_id")).values(incident_id=bindparam("i_id")), links
        )
    return made
