"""Nearest service points: grid pre-filter, cheap ranking, geodesic distances for the few that matter."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from geopy.distance import geodesic
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core.db import utcnow

from .hours import is_open
from .index import MAX_RADIUS, approx_distance_m, outside_bound_m, ring_condition
from .models import ServicePoint

# The equirectangular ranking is trusted to within this fraction; candidates this close to the k-th get a
# geodesic distance too, so rounding can never push a true neighbour out.
_APPROX_SLACK = 0.01


@dataclass(frozen=True)
class Nearby:
    point: ServicePoint
    distance_m: float
    open_now: bool


def _base(kind: str | None) -> Select[Any]:
    stmt = select(ServicePoint)
    if kind:
        stmt = stmt.where(ServicePoint.kind == kind)
    return stmt


def _candidates(session: Session, lat: float, lon: float, limit: int, kind: str | None) -> list[ServicePoint]:
    found: list[ServicePoint] = []
    cell: Any = ServicePoint.cell
    inner, radius = -1, 1
    while True:
        stmt = _base(kind).where(ring_condition(cell, lat, lon, radius, inner))
        found.extend(session.scalars(stmt))
        if len(found) >= limit:
            kth = sorted(approx_distance_m(lat, lon, p.lat, p.lon) for p in found)[limit - 1]
            if kth * (1 + _APPROX_SLACK) <= outside_bound_m(lat, lon, radius):
                return found
        if radius >= MAX_RADIUS:
            # far from every point: read what is left (rare, and there is little of it near nobody)
            seen = {p.id for p in found}
            rest: list[ServicePoint] = list(session.scalars(_base(kind)))
            return found + [p for p in rest if p.id not in seen]
        inner, radius = radius, radius * 2


def nearest(
    session: Session,
    lat: float,
    lon: float,
    *,
    limit: int = 5,
    kind: str | None = None,
    at: dt.datetime | None = None,
) -> list[Nearby]:
    """The ``limit`` nearest points to (lat, lon) by geodesic distance, closest first, with ``open_now``."""
    moment = at or utcnow()
    candidates = _candidates(session, lat, lon, limit, kind)
    return _rank(candidates, lat, lon, limit, moment)


def nearest_brute_force(
    session: Session,
    lat: float,
    lon: float,
    *,
    limit: int = 5,
    kind: str | None = None,
    at: dt.datetime | None = None,
) -> list[Nearby]:
    """The reference: geodesic distance to every point (for tests and the benchmark)."""
    moment = at or utcnow()
    points: list[ServicePoint] = list(session.scalars(_base(kind)))
    ranked = sorted(((geodesic((lat, lon), (p.lat, p.lon)).meters, p) for p in points), key=lambda t: (t[0], t[1].id))
    return [Nearby(p, d, is_open(p.hours or {}, moment)) for d, p in ranked[:limit]]


def _rank(points: list[ServicePoint], lat: float, lon: float, limit: int, moment: dt.datetime) -> list[Nearby]:
    if not points:
        return []
    approx = sorted(((approx_distance_m(lat, lon, p.lat, p.lon), p) for p in points), key=lambda t: t[0])
    cutoff = approx[min(limit, len(approx)) - 1][0] * (1 + _APPROX_SLACK) + 1.0
    close = [p for d, p in approx if d <= cutoff]
    exact = sorted(((geodesic((lat, lon), (p.lat, p.lon)).meters, p) for p in close), key=lambda t: (t[0], t[1].id))
    return [Nearby(p, d, is_open(p.hours or {}, moment)) for d, p in exact[:limit]]
