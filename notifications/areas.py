"""Outage areas: GeoJSON Polygon validation and resolving an area or account list to accounts and users."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.models import Account
from core.errors import Problem
from core.identity import AccountBinding, Unit
from core.scope import under

Ring = Sequence[Sequence[float]]


def polygon_problems(area: Any) -> Problem | None:
    """Why ``area`` is not a usable GeoJSON Polygon (RFC 7946, lon/lat), or None if it is."""
    if not isinstance(area, dict) or area.get("type") != "Polygon":
        return Problem("not_a_polygon")
    rings = area.get("coordinates")
    if not isinstance(rings, list) or not rings:
        return Problem("polygon_without_rings")
    for number, ring in enumerate(rings):
        if not isinstance(ring, list) or len(ring) < 4:
            return Problem("ring_too_short", ring=number)
        for position in ring:
            if (
                not isinstance(position, list | tuple)
                or len(position) < 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in position[:2])
            ):
                return Problem("ring_positions", ring=number)
            lon, lat = position[0], position[1]
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                return Problem("not_a_lon_lat", ring=number, position=f"[{lon}, {lat}]")
        if list(ring[0][:2]) != list(ring[-1][:2]):
            return Problem("ring_not_closed", ring=number)
    return None


def _inside_ring(lon: float, lat: float, ring: Ring) -> bool:
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i][0], ring[i][1]
        xj, yj = ring[j][0], ring[j][1]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def contains(polygon: dict[str, Any], lat: float, lon: float) -> bool:
    """Point in polygon (even-odd rule; holes excluded). Planar in lon/lat, fine at city scale."""
    rings = polygon["coordinates"]
    if not _inside_ring(lon, lat, rings[0]):
        return False
    return not any(_inside_ring(lon, lat, hole) for hole in rings[1:])


def bbox(polygon: dict[str, Any]) -> tuple[float, float, float, float]:
    outer = polygon["coordinates"][0]
    lons = [p[0] for p in outer]
    lats = [p[1] for p in outer]
    return min(lats), max(lats), min(lons), max(lons)


def _in_scope(stmt: Any, scope: Unit | None) -> Any:
    if scope is None:
        return stmt
    return stmt.where(under(scope.path, Account.unit_id))


def accounts_in_area(session: Session, polygon: dict[str, Any], scope: Unit | None) -> list[int]:
    """Ids of the accounts whose location lies in the polygon (bounding box in SQL, exact test here)."""
    south, north, west, east = bbox(polygon)
    stmt = select(Account.id, Account.lat, Account.lon).where(
        Account.lat.between(south, north), Account.lon.between(west, east)
    )
    rows = session.execute(_in_scope(stmt, scope)).all()
    return [
        row.id for row in rows if row.lat is not None and row.lon is not None and contains(polygon, row.lat, row.lon)
    ]


def accounts_by_number(session: Session, account_nos: Iterable[str], scope: Unit | None) -> tuple[list[int], list[str]]:
    """(ids of the accounts found within scope, account numbers not found there)."""
    wanted = list(dict.fromkeys(str(n) for n in account_nos))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        stmt = select(Account.account_no, Account.id).where(Account.account_no.in_(chunk))
        found.update({row.account_no: row.id for row in session.execute(_in_scope(stmt, scope))})
    return list(found.values()), [n for n in wanted if n not in found]


def users_of_accounts(session: Session, account_ids: Sequence[int]) -> list[int]:
    """Distinct ids of the customers bound to any of the accounts, ascending."""
    users: set[int] = set()
    for start in range(0, len(account_ids), 5000):
        chunk = account_ids[start : start + 5000]
        users.update(session.scalars(select(AccountBinding.user_id).where(AccountBinding.account_id.in_(chunk))))
    return sorted(users)
