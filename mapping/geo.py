"""Coordinate systems and navigation links.

GridDesk stores WGS-84. Maps and apps in mainland China use offset systems: GCJ-02 (Amap/高德, Apple Maps and
Tencent inside China) and BD-09 (Baidu). The transforms below are the widely published approximations
(accurate to a few metres); outside China GCJ-02 equals WGS-84.
"""

from __future__ import annotations

import math
from urllib.parse import quote, urlencode

_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0


def out_of_china(lat: float, lon: float) -> bool:
    return not (73.66 < lon < 135.05 and 3.86 < lat < 53.55)


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    if out_of_china(lat, lon):
        return lat, lon
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lat + dlat, lon + dlon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """Inverse by iteration (the forward transform has no closed-form inverse); error well under 1 m."""
    wlat, wlon = lat, lon
    for _ in range(10):
        glat, glon = wgs84_to_gcj02(wlat, wlon)
        dlat, dlon = glat - lat, glon - lon
        if abs(dlat) < 1e-9 and abs(dlon) < 1e-9:
            break
        wlat, wlon = wlat - dlat, wlon - dlon
    return wlat, wlon


def gcj02_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def bd09_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    x, y = lon - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.sin(theta), z * math.cos(theta)


def wgs84_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lat, lon))


def to_system(lat: float, lon: float, system: str) -> tuple[float, float]:
    """WGS-84 -> ``wgs84`` | ``gcj02`` | ``bd09``."""
    if system == "gcj02":
        return wgs84_to_gcj02(lat, lon)
    if system == "bd09":
        return wgs84_to_bd09(lat, lon)
    if system == "wgs84":
        return lat, lon
    raise ValueError(f"unknown coordinate system {system!r}")


def navigation_links(lat: float, lon: float, name: str) -> dict[str, str]:
    """Deep links that open turn-by-turn navigation, each in the coordinate system that app expects."""
    glat, glon = wgs84_to_gcj02(lat, lon)
    blat, blon = wgs84_to_bd09(lat, lon)
    return {
        # Amap URI API: coordinate=gaode means GCJ-02
        "amap": "https://uri.amap.com/navigation?"
        + urlencode({"to": f"{glon:.6f},{glat:.6f},{name}", "mode": "car", "coordinate": "gaode", "callnative": 1}),
        # Baidu URI API: coord_type=bd09ll
        "baidu": "https://api.map.baidu.com/direction?"
        + urlencode(
            {
                "destination": f"latlng:{blat:.6f},{blon:.6f}|name:{name}",
                "mode": "driving",
                "coord_type": "bd09ll",
                "output": "html",
                "src": "webapp.griddesk",
            }
        ),
        # Apple Maps draws mainland China from GCJ-02 data and expects GCJ-02 there
        "apple": f"https://maps.apple.com/?daddr={glat:.6f},{glon:.6f}&q={quote(name)}",
        # Google's directions URL takes WGS-84
        "google": "https://www.google.com/maps/dir/?" + urlencode({"api": 1, "destination": f"{lat:.6f},{lon:.6f}"}),
        # RFC 5870 (WGS-84): the phone offers whichever map apps it has
        "geo": f"geo:{lat:.6f},{lon:.6f}?q={lat:.6f},{lon:.6f}({quote(name)})",
    }
