"""Coordinate systems and navigation links."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from geopy.distance import geodesic

from mapping.geo import (
    bd09_to_gcj02,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    navigation_links,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

WEST_LAKE = (30.2590, 120.1485)


def test_gcj02_offset_in_hangzhou_is_a_few_hundred_metres() -> None:
    shifted = wgs84_to_gcj02(*WEST_LAKE)
    assert 300 < geodesic(WEST_LAKE, shifted).meters < 700


def test_gcj02_round_trip_is_within_a_metre() -> None:
    assert geodesic(WEST_LAKE, gcj02_to_wgs84(*wgs84_to_gcj02(*WEST_LAKE))).meters < 1


def test_bd09_round_trip_is_within_a_metre() -> None:
    gcj = wgs84_to_gcj02(*WEST_LAKE)
    assert geodesic(gcj, bd09_to_gcj02(*gcj02_to_bd09(*gcj))).meters < 1
    assert wgs84_to_bd09(*WEST_LAKE) == gcj02_to_bd09(*gcj)


def test_outside_china_nothing_moves() -> None:
    assert wgs84_to_gcj02(51.5, -0.12) == (51.5, -0.12)


def test_navigation_links_carry_each_apps_coordinate_system() -> None:
    links = navigation_links(*WEST_LAKE, "西湖营业厅")
    amap = parse_qs(urlparse(links["amap"]).query)
    lon, lat, name = amap["to"][0].split(",")
    assert amap["coordinate"] == ["gaode"] and name == "西湖营业厅"
    assert (round(float(lat), 6), round(float(lon), 6)) == tuple(round(v, 6) for v in wgs84_to_gcj02(*WEST_LAKE))
    baidu = parse_qs(urlparse(links["baidu"]).query)
    assert baidu["coord_type"] == ["bd09ll"]
    blat, blon = baidu["destination"][0].split("|")[0].removeprefix("latlng:").split(",")
    assert geodesic((float(blat), float(blon)), wgs84_to_bd09(*WEST_LAKE)).meters < 1
    google = parse_qs(urlparse(links["google"]).query)
    assert google["destination"] == [f"{WEST_LAKE[0]:.6f},{WEST_LAKE[1]:.6f}"]
    apple = parse_qs(urlparse(links["apple"]).query)
    alat, alon = (float(v) for v in apple["daddr"][0].split(","))
    assert geodesic((alat, alon), wgs84_to_gcj02(*WEST_LAKE)).meters < 1
