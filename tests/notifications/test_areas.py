"""Outage areas: polygon checks and point-in-polygon with holes."""

from __future__ import annotations

from core.errors import Problem
from notifications.areas import contains, polygon_problems

RING = [[120.0, 30.0], [120.2, 30.0], [120.2, 30.2], [120.0, 30.2], [120.0, 30.0]]
HOLE = [[120.05, 30.05], [120.15, 30.05], [120.15, 30.15], [120.05, 30.15], [120.05, 30.05]]


def test_points_inside_outside_and_in_a_hole() -> None:
    polygon = {"type": "Polygon", "coordinates": [RING, HOLE]}
    assert contains(polygon, 30.02, 120.02)
    assert not contains(polygon, 30.10, 120.10)  # in the hole
    assert not contains(polygon, 30.30, 120.10)


def test_concave_polygon() -> None:
    l_shape = [[120.0, 30.0], [120.2, 30.0], [120.2, 30.1], [120.1, 30.1], [120.1, 30.2], [120.0, 30.2], [120.0, 30.0]]
    polygon = {"type": "Polygon", "coordinates": [l_shape]}
    assert contains(polygon, 30.15, 120.05)
    assert not contains(polygon, 30.15, 120.15)


def test_bad_polygons_are_explained() -> None:
    assert polygon_problems({"type": "Point", "coordinates": [120, 30]}) == Problem("not_a_polygon")
    assert polygon_problems({"type": "Polygon", "coordinates": [RING[:3]]}) == Problem("ring_too_short", ring=0)
    unclosed = {"type": "Polygon", "coordinates": [RING[:-1] + [[120.1, 30.1]]]}
    assert polygon_problems(unclosed) == Problem("ring_not_closed", ring=0)
    outside = polygon_problems({"type": "Polygon", "coordinates": [[[30.0, 200.0]] + RING[1:]]})
    assert outside is not None and outside.code == "not_a_lon_lat"
    assert polygon_problems({"type": "Polygon", "coordinates": [RING]}) is None
