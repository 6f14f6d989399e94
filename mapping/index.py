"""The spatial pre-filter: a fixed grid of cells stored with each point, searched outwards ring by ring.

A point's ``cell`` is ``row * ROW_STRIDE + col`` for a grid of ``CELL_DEG`` degrees. A row of cells is one
contiguous key range, so "every cell in a square" is a handful of indexed range scans whatever the number of
points; the search widens the square until the k-th nearest candidate is closer than anything outside it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

CELL_DEG = 0.01  # about 1.1 km north-south
ROW_STRIDE = 100_000  # > number of columns (360 / CELL_DEG)
EARTH_M_PER_DEG = 111_132.0  # metres per degree of latitude (lower bound used for pruning: 110_574)
_MIN_M_PER_DEG_LAT = 110_574.0
MAX_RADIUS = 256  # past this many cells the search gives up pruning and reads the rest


def row_col(lat: float, lon: float) -> tuple[int, int]:
    return math.floor((lat + 90.0) / CELL_DEG), math.floor((lon + 180.0) / CELL_DEG)


def cell_of(lat: float, lon: float) -> int:
    row, col = row_col(lat, lon)
    return row * ROW_STRIDE + col


def _ranges_for_square(row: int, col: int, radius: int, inner: int) -> Iterator[tuple[int, int]]:
    """Key ranges covering the square of ``radius`` around (row, col) minus the square of ``inner``.

    ``inner`` < 0 means no hole.
    """
    for r in range(row - radius, row + radius + 1):
        if r < 0:
            continue
        base = r * ROW_STRIDE
        if inner >= 0 and abs(r - row) <= inner:
            yield base + max(col - radius, 0), base + max(col - inner - 1, -1)
            yield base + col + inner + 1, base + col + radius
        else:
            yield base + max(col - radius, 0), base + col + radius


def ring_condition(column: ColumnElement[int], lat: float, lon: float, radius: int, inner: int) -> ColumnElement[bool]:
    row, col = row_col(lat, lon)
    parts = [
        column == lo if lo == hi else and_(column >= lo, column <= hi)
        for lo, hi in _ranges_for_square(row, col, radius, inner)
        if hi >= lo
    ]
    return or_(*parts)


def outside_bound_m(lat: float, lon: float, radius: int) -> float:
    """Every point outside the square of ``radius`` cells is at least this far from (lat, lon)."""
    row, col = row_col(lat, lon)
    # distance from the query point to the square's nearest edge, in degrees
    south = lat - ((row - radius) * CELL_DEG - 90.0)
    north = ((row + radius + 1) * CELL_DEG - 90.0) - lat
    west = lon - ((col - radius) * CELL_DEG - 180.0)
    east = ((col + radius + 1) * CELL_DEG - 180.0) - lon
    lat_edge = max(abs(lat) + radius * CELL_DEG + CELL_DEG, 0.0)
    cos_lat = math.cos(math.radians(min(lat_edge, 89.9)))
    return min(min(south, north) * _MIN_M_PER_DEG_LAT, min(west, east) * _MIN_M_PER_DEG_LAT * cos_lat)


def approx_distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular distance: cheap, within a fraction of a percent over city distances."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6_371_008.8 * math.hypot(x, y)
