"""Nearest search: same answers as a brute-force geodesic scan, kind filter, open_now in Asia/Shanghai."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from mapping.index import cell_of, outside_bound_m
from mapping.models import ServicePoint
from mapping.search import nearest, nearest_brute_force

WEEK = {d: "08:30-17:30" for d in ("mon", "tue", "wed", "thu", "fri")}
KINDS = ["business_hall", "self_service", "charging_station"]


def _add_points(session, n: int, seed: int = 7, spread: float = 0.3) -> None:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        lat, lon = 30.27 + rng.uniform(-spread, spread), 120.16 + rng.uniform(-spread, spread)
        rows.append(
            {
                "code": f"T{i:05d}",
                "name": f"点{i}",
                "kind": KINDS[i % 3],
                "address": "杭州市",
                "district": "",
                "lat": lat,
                "lon": lon,
                "cell": cell_of(lat, lon),
                "hours": WEEK,
                "services": [],
                "phone": "",
                "location_source": "given",
            }
        )
    session.execute(ServicePoint.__table__.insert(), rows)
    session.commit()


def test_nearest_matches_brute_force_everywhere(session) -> None:
    _add_points(session, 400)
    rng = random.Random(1)
    queries = [(30.27 + rng.uniform(-0.5, 0.5), 120.16 + rng.uniform(-0.5, 0.5)) for _ in range(20)]
    queries += [(39.9, 116.4), (30.27, 120.16)]  # far from every point, and the middle of the cloud
    for lat, lon in queries:
        for kind in (None, *KINDS):
            fast = nearest(session, lat, lon, limit=7, kind=kind)
            slow = nearest_brute_force(session, lat, lon, limit=7, kind=kind)
            assert [f.point.id for f in fast] == [s.point.id for s in slow], (lat, lon, kind)
            assert [round(f.distance_m, 3) for f in fast] == [round(s.distance_m, 3) for s in slow]


@pytest.mark.parametrize("kind", KINDS)
def test_kind_filter_returns_only_that_kind_sorted_by_distance(session, kind: str) -> None:
    from mapping.models import ServicePointKind

    assert set(KINDS) == set(ServicePointKind)
    _add_points(session, 90)
    found = nearest(session, 30.27, 120.16, limit=10, kind=kind)
    assert len(found) == 10 and {f.point.kind for f in found} == {kind}
    assert [f.distance_m for f in found] == sorted(f.distance_m for f in found)


def test_fewer_points_than_the_limit_returns_them_all(session) -> None:
    _add_points(session, 3)
    assert len(nearest(session, 30.0, 120.0, limit=10)) == 3


def test_no_points_returns_an_empty_list(session) -> None:
    assert nearest(session, 30.0, 120.0) == []


def test_open_now_uses_shanghai_time(session) -> None:
    _add_points(session, 1)
    # 01:00 UTC on a Monday is 09:00 in Shanghai: open; 10:00 UTC is 18:00: closed
    monday_morning = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)
    monday_evening = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
    assert nearest(session, 30.27, 120.16, at=monday_morning)[0].open_now is True
    assert nearest(session, 30.27, 120.16, at=monday_evening)[0].open_now is False


def test_outside_bound_never_exceeds_the_true_distance_to_the_next_ring() -> None:
    from mapping.index import CELL_DEG, approx_distance_m

    lat, lon = 30.2712, 120.1633
    for radius in (1, 2, 4, 8):
        bound = outside_bound_m(lat, lon, radius)
        # a point just outside the square, straight north of the query
        from mapping.index import row_col

        row, _col = row_col(lat, lon)
        north = (row + radius + 1) * CELL_DEG - 90.0 + 1e-9
        assert bound <= approx_distance_m(lat, lon, north, lon) + 1e-6
