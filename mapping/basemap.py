"""The demo city's own basemap: SVG map tiles of Hangzhou drawn from a few shapes, so the map works offline.

A schematic, not a survey: West Lake, the Qiantang River and the Grand Canal, a dozen main roads and the
district names of the geocoder's district table (``mapping.geocoding.DISTRICT_CENTROIDS``), all drawn by hand
for the demo from public knowledge of the city's layout (no map data was copied). ``tile(z, x, y)`` renders
one 256 px Web Mercator tile (the usual ``{z}/{x}/{y}`` scheme) as SVG; ``write_tiles`` writes a folder of
them for the ``folder`` tile source. Coordinates are WGS-84.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from .geocoding import DISTRICT_CENTROIDS

SIZE = 256
MAX_ZOOM = 18
# the area the shapes cover (south, west, north, east): outside it a tile is plain land
BOUNDS = (30.05, 119.95, 30.45, 120.45)
LAND, WATER, ROAD, ROAD_EDGE, TEXT, WATER_TEXT = "#f2efe9", "#aad3df", "#ffffff", "#c9c2b6", "#333333", "#1f5f8b"


@dataclass(frozen=True)
class Line:
    name: str
    points: tuple[tuple[float, float], ...]  # (lat, lon)
    metres: float  # drawn width
    kind: str  # water | road


@dataclass(frozen=True)
class Label:
    name: str
    lat: float
    lon: float
    size: int
    min_zoom: int
    colour: str = TEXT


WEST_LAKE = (
    (30.2605, 120.1515), (30.2580, 120.1600), (30.2480, 120.1625), (30.2380, 120.1610), (30.2300, 120.1550),
    (30.2270, 120.1450), (30.2300, 120.1350), (30.2400, 120.1290), (30.2500, 120.1300), (30.2580, 120.1350),
    (30.2610, 120.1420),
)  # fmt: skip
LINES = (
    Line("钱塘江", ((30.100, 120.020), (30.140, 120.060), (30.170, 120.100), (30.192, 120.125), (30.203, 120.145),
                 (30.213, 120.170), (30.225, 120.195), (30.236, 120.215), (30.248, 120.240), (30.262, 120.268),
                 (30.285, 120.300), (30.310, 120.340), (30.340, 120.400)), 1000, "water"),
    Line("京杭大运河", ((30.400, 120.100), (30.360, 120.120), (30.330, 120.135), (30.310, 120.145), (30.295, 120.150),
                   (30.285, 120.160), (30.280, 120.170), (30.270, 120.185), (30.260, 120.195)), 90, "water"),
    Line("延安路", ((30.282, 120.163), (30.260, 120.164), (30.244, 120.168)), 36, "road"),
    Line("中河高架", ((30.320, 120.172), (30.280, 120.173), (30.240, 120.176), (30.210, 120.180)), 40, "road"),
    Line("文三路", ((30.279, 120.100), (30.279, 120.163)), 30, "road"),
    Line("天目山路", ((30.272, 120.060), (30.272, 120.163)), 36, "road"),
    Line("解放路", ((30.257, 120.161), (30.257, 120.205)), 30, "road"),
    Line("庆春路", ((30.265, 120.161), (30.265, 120.210)), 30, "road"),
    Line("莫干山路", ((30.276, 120.164), (30.310, 120.150), (30.345, 120.140)), 30, "road"),
    Line("之江路", ((30.185, 120.110), (30.200, 120.140), (30.212, 120.165), (30.230, 120.190), (30.244, 120.212)),
         36, "road"),
    Line("江南大道", ((30.203, 120.160), (30.208, 120.190), (30.212, 120.220), (30.216, 120.255)), 36, "road"),
    Line("复兴大桥", ((30.219, 120.176), (30.203, 120.186)), 30, "road"),
    Line("钱江三桥", ((30.232, 120.198), (30.214, 120.207)), 30, "road"),
    Line("文一西路", ((30.288, 120.030), (30.288, 120.140)), 30, "road"),
)  # fmt: skip


def _district_labels() -> list[Label]:
    """One label per district centre; a centre on top of an earlier one (临平 beside 余杭) is left out."""
    labels: list[Label] = []
    for name, (lat, lon) in DISTRICT_CENTROIDS.items():
        if all(abs(lat - other.lat) + abs(lon - other.lon) > 0.03 for other in labels):
            labels.append(Label(name, lat, lon, 15, 10))
    return labels


LABELS = (
    *_district_labels(),
    Label("西湖", 30.2440, 120.1450, 14, 12, WATER_TEXT),
    Label("钱塘江", 30.2010, 120.1560, 14, 11, WATER_TEXT),
    Label("京杭大运河", 30.3250, 120.1280, 12, 13, WATER_TEXT),
)


def _world(lat: float, lon: float, zoom: int) -> tuple[float, float]:
    """Web Mercator pixel coordinates of a point at a zoom level (256 px tiles)."""
    scale = SIZE * 2**zoom
    sin = math.sin(math.radians(lat))
    return (lon + 180) / 360 * scale, (0.5 - math.log((1 + sin) / (1 - sin)) / (4 * math.pi)) * scale


def _metres_per_pixel(lat: float, zoom: int) -> float:
    return 156_543.034 * math.cos(math.radians(lat)) / 2**zoom


def _path(points: Iterable[tuple[float, float]], z: int, x: int, y: int) -> str:
    shifted = []
    for lat, lon in points:
        px, py = _world(lat, lon, z)
        shifted.append(f"{px - x * SIZE:.1f},{py - y * SIZE:.1f}")
    return " ".join(shifted)


def _touches(z: int, x: int, y: int) -> bool:
    south, west, north, east = BOUNDS
    left, top = _world(north, west, z)
    right, bottom = _world(south, east, z)
    return right >= x * SIZE and left <= (x + 1) * SIZE and bottom >= y * SIZE and top <= (y + 1) * SIZE


def valid(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def tile(z: int, x: int, y: int) -> str:
    """One tile as an SVG document; plain land outside the shapes' area."""
    if not valid(z, x, y):
        raise ValueError(f"no tile {z}/{x}/{y}")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" viewBox="0 0 {SIZE} {SIZE}">',
        f'<rect width="{SIZE}" height="{SIZE}" fill="{LAND}"/>',
    ]
    if _touches(z, x, y):
        parts.append(f'<polygon points="{_path(WEST_LAKE, z, x, y)}" fill="{WATER}"/>')
        mpp = _metres_per_pixel(30.25, z)
        for line in sorted(LINES, key=lambda item: item.kind != "water"):
            width = max(line.metres / mpp, 1.0 if line.kind == "water" else 1.2)
            if line.kind == "road" and z < 11:
                continue
            points = _path(line.points, z, x, y)
            common = 'fill="none" stroke-linecap="round" stroke-linejoin="round"'
            if line.kind == "road":
                parts.append(
                    f'<polyline points="{points}" {common} stroke="{ROAD_EDGE}" stroke-width="{width + 2:.1f}"/>'
                )
                parts.append(f'<polyline points="{points}" {common} stroke="{ROAD}" stroke-width="{width:.1f}"/>')
            else:
                parts.append(f'<polyline points="{points}" {common} stroke="{WATER}" stroke-width="{width:.1f}"/>')
        for label in LABELS:
            if z < label.min_zoom:
                continue
            px, py = _world(label.lat, label.lon, z)
            parts.append(
                f'<text x="{px - x * SIZE:.1f}" y="{py - y * SIZE:.1f}" font-size="{label.size}" fill="{label.colour}" '
                'text-anchor="middle" font-family="sans-serif" stroke="#ffffff" stroke-width="3" '
                f'paint-order="stroke">{escape(label.name)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def tiles_covering(zooms: Iterable[int]) -> Iterable[tuple[int, int, int]]:
    """Every tile of the shapes' area at the given zoom levels."""
    south, west, north, east = BOUNDS
    for z in zooms:
        left, top = _world(north, west, z)
        right, bottom = _world(south, east, z)
        for x in range(int(left // SIZE), int(right // SIZE) + 1):
            for y in range(int(top // SIZE), int(bottom // SIZE) + 1):
                yield z, x, y


def write_tiles(folder: Path, zooms: Iterable[int]) -> int:
    """Write the area's tiles as ``folder/z/x/y.svg``; returns how many."""
    count = 0
    for z, x, y in tiles_covering(zooms):
        path = folder / str(z) / str(x) / f"{y}.svg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tile(z, x, y), encoding="utf-8")
        count += 1
    return count
