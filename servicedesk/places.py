"""Where a ticket belongs: the company's service area (a pin outside it is refused) and the unit of a pin.

The service area is the configured polygon (``SERVICEDESK_SERVICE_AREA``) or, without one, the convex hull of the
accounts' and service points' locations widened by ``SERVICEDESK_SERVICE_AREA_MARGIN_M``. The hull, and the places
of the accounts by unit that find a pin's unit, are kept for a few minutes per process: they change when accounts
are added, not per report, and a storm of reports must not read every account once per report.
"""

from __future__ import annotations

import functools
import json
import math
import time
from typing import Any

from sqlalchemy import Numeric, cast, func, select
from sqlalchemy.orm import Session

from billing.models import Account
from mapping.models import ServicePoint
from notifications.areas import contains, polygon_problems

from . import settings

EARTH_M = 6_371_000.0
_HULL_SECONDS = 300.0
_hull: tuple[float, list[tuple[float, float]]] | None = None  # (when computed, hull as (lon, lat))
_GRID_DEG = 0.01  # cells of the unit look-up grid: about 1 km
_GRID_RINGS = 10  # rings of cells searched around a pin before every place is compared
# (when loaded, {cell: [(lat, lon, unit_id)]}, every place): the accounts' places rounded to about 100 m
_places: tuple[float, dict[tuple[int, int], list[tuple[float, float, int]]], list[tuple[float, float, int]]] | None
_places = None


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(a)))


def _cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def convex_hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The convex hull (monotone chain), counter-clockwise, without repeating the first point."""
    pts = sorted(set(points))
    if len(pts) <= 2:
        return pts
    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and _cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and _cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def _segment_distance_m(lat: float, lon: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance from the point to the segment a-b ((lon, lat) ends), on a local flat projection."""
    k = math.cos(math.radians(lat))
    ax, ay = (a[0] - lon) * k, a[1] - lat
    bx, by = (b[0] - lon) * k, b[1] - lat
    dx, dy = bx - ax, by - ay
    length = dx * dx + dy * dy
    t = 0.0 if length == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length))
    x, y = ax + t * dx, ay + t * dy
    return math.radians(math.hypot(x, y)) * EARTH_M


def _company_hull(session: Session) -> list[tuple[float, float]]:
    global _hull
    now = time.monotonic()
    if _hull is not None and now - _hull[0] < _HULL_SECONDS:
        return _hull[1]
    points: list[tuple[float, float]] = []
    for model in (Account, ServicePoint):
        # rounded to about 100 m: the hull of a city's accounts is the hull of far fewer distinct places
        lon, lat = func.round(cast(model.lon, Numeric), 3), func.round(cast(model.lat, Numeric), 3)
        rows = session.execute(select(lon, lat).where(model.lat.isnot(None), model.lon.isnot(None)).distinct())
        points.extend((float(x), float(y)) for x, y in rows)
    hull = convex_hull(points)
    _hull = (now, hull)
    return hull


def forget_hull() -> None:
    """Recompute the hull and the unit look-up at the next report (tests, and after a bulk import of accounts)."""
    global _hull, _places
    _hull = _places = None


@functools.lru_cache(maxsize=4)
def _parsed_area(raw: str) -> dict[str, Any]:
    area = json.loads(raw)
    if polygon_problems(area) is not None:
        raise ValueError("SERVICEDESK_SERVICE_AREA is not a GeoJSON Polygon")
    return area  # type: ignore[no-any-return]


def configured_area() -> dict[str, Any] | None:
    """The configured service area (parsed and checked once per setting value), or None."""
    raw = str(settings.get("SERVICEDESK_SERVICE_AREA") or "").strip()
    return _parsed_area(raw) if raw else None


def in_service_area(session: Session, lat: float, lon: float) -> bool:
    """Whether the company serves the place: inside the configured polygon, or inside or near the hull."""
    area = configured_area()
    if area is not None:
        return contains(area, lat, lon)
    hull = _company_hull(session)
    if not hull:
        return False
    margin = float(settings.get("SERVICEDESK_SERVICE_AREA_MARGIN_M"))
    if len(hull) >= 3:
        ring = [[x, y] for x, y in hull] + [[hull[0][0], hull[0][1]]]
        if contains({"type": "Polygon", "coordinates": [ring]}, lat, lon):
            return True
    edges = list(zip(hull, hull[1:] + hull[:1], strict=True)) if len(hull) > 1 else [(hull[0], hull[0])]
    return min(_segment_distance_m(lat, lon, a, b) for a, b in edges) <= margin


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / _GRID_DEG), math.floor(lon / _GRID_DEG)


def _account_places(
    session: Session,
) -> tuple[dict[tuple[int, int], list[tuple[float, float, int]]], list[tuple[float, float, int]]]:
    global _places
    now = time.monotonic()
    if _places is not None and now - _places[0] < _HULL_SECONDS:
        return _places[1], _places[2]
    lat, lon = func.round(cast(Account.lat, Numeric), 3), func.round(cast(Account.lon, Numeric), 3)
    rows = session.execute(
        select(lat, lon, Account.unit_id).where(Account.lat.isnot(None), Account.lon.isnot(None)).distinct()
    )
    every = sorted((float(y), float(x), int(unit_id)) for y, x, unit_id in rows)
    grid: dict[tuple[int, int], list[tuple[float, float, int]]] = {}
    for place in every:
        grid.setdefault(_cell(place[0], place[1]), []).append(place)
    _places = (now, grid, every)
    return grid, every


def unit_near(session: Session, lat: float, lon: float) -> int | None:
    """The unit of the accounts nearest the pin (their places rounded to about 100 m; a tie goes to the lower
    unit id), from the per-process look-up kept with the hull; None without accounts. Intake's look-up:
    ``nearest_account_unit`` asks the database each time."""
    grid, every = _account_places(session)
    if not every:
        return None
    row, col = _cell(lat, lon)

    def best(places: list[tuple[float, float, int]]) -> int:
        return min(places, key=lambda p: (distance_m(lat, lon, p[0], p[1]), p[2]))[2]

    found: list[tuple[float, float, int]] = []
    for ring in range(_GRID_RINGS + 1):
        for r in range(row - ring, row + ring + 1):
            for c in range(col - ring, col + ring + 1):
                if max(abs(r - row), abs(c - col)) == ring:
                    found.extend(grid.get((r, c), ()))
        if found and ring >= 1:
            # a place in this ring may lie farther than one in the next ring's nearer corner: one more ring
            # settles it, as the nearest place found is at most (ring + 1) cells away
            for r in range(row - ring - 1, row + ring + 2):
                for c in range(col - ring - 1, col + ring + 2):
                    if max(abs(r - row), abs(c - col)) == ring + 1:
                        found.extend(grid.get((r, c), ()))
            return best(found)
    return best(every)


def nearest_account_unit(session: Session, lat: float, lon: float) -> int | None:
    """The unit of the account nearest the pin (searched in widening boxes), or None without accounts."""
    for half in (0.005, 0.02, 0.1, 0.5, 2.0):
        rows = session.execute(
            select(Account.unit_id, Account.lat, Account.lon)
            .where(Account.lat.between(lat - half, lat + half), Account.lon.between(lon - half, lon + half))
            .limit(500)
        ).all()
        if rows:
            best = min(rows, key=lambda r: distance_m(lat, lon, r.lat, r.lon))
            return int(best.unit_id)
    return None


def area_around(points: list[tuple[float, float]], margin_m: float = 300.0) -> dict[str, Any]:
    """A GeoJSON Polygon (the points' bounding box widened by ``margin_m``) for an outage notice; points are
    (lat, lon)."""
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    dlat = margin_m / 111_320.0
    dlon = margin_m / (111_320.0 * max(0.1, math.cos(math.radians(sum(lats) / len(lats)))))
    s, n, w, e = min(lats) - dlat, max(lats) + dlat, min(lons) - dlon, max(lons) + dlon
    ring = [[round(w, 6), round(s, 6)], [round(e, 6), round(s, 6)], [round(e, 6), round(n, 6)]]
    ring += [[round(w, 6), round(n, 6)], [round(w, 6), round(s, 6)]]
    return {"type": "Polygon", "coordinates": [ring]}
