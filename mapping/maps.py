"""Maps drawn with folium, with Leaflet served by the app and the tile source from configuration.

folium draws the map and its tile layer; what people wrote (service point names, outage titles, popups) never
enters its generated JavaScript, where a ``</script>`` or ``${...}`` in a title ran as script. It travels as
data: a GeoJSON FeatureCollection (``RenderedMap.features``) that the page embeds as JSON and the app's own
script (``static/mapping/map.js``) draws, with tooltips as text and popups from HTML the caller escaped.
Tiles in GCJ-02 (Amap and most Chinese tile servers) get every coordinate transformed, so markers sit on the
right street.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import folium

from .geo import wgs84_to_gcj02

_FOLIUM_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>\s*')
KIND_COLOURS = {"business_hall": "#0b5cad", "self_service": "#1a7f37", "charging_station": "#b35c00"}


@dataclass(frozen=True)
class TileSource:
    url: str
    attribution: str
    coord_system: str = "wgs84"  # wgs84 | gcj02
    subdomains: str = "abc"
    max_zoom: int = 18


@dataclass(frozen=True)
class Marker:
    lat: float
    lon: float
    kind: str
    popup_html: str
    tooltip: str


@dataclass(frozen=True)
class Area:
    """An outage area: a GeoJSON Polygon in WGS-84."""

    geometry: dict[str, Any]
    popup_html: str
    tooltip: str


AREA_STYLE = {"color": "#b42318", "weight": 2, "fillColor": "#b42318", "fillOpacity": 0.15}


@dataclass
class RenderedMap:
    """folium's parts (only numbers and configuration in them) and the features to draw on the map ``name``."""

    header: str
    html: str
    script: str
    name: str
    features: dict[str, Any] = field(default_factory=dict)


def _shift_ring(ring: list[list[float]], system: str) -> list[list[float]]:
    if system != "gcj02":
        return ring
    return [list(reversed(wgs84_to_gcj02(lat, lon))) for lon, lat, *_ in ring]


def _shift_polygon(geometry: dict[str, Any], system: str) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [_shift_ring(ring, system) for ring in geometry["coordinates"]]}


def _feature(geometry: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def render(
    *,
    centre: tuple[float, float],
    markers: Iterable[Marker],
    tiles: TileSource,
    leaflet_js: str,
    leaflet_css: str,
    you: tuple[float, float] | None = None,
    you_label: str = "",
    areas: Iterable[Area] = (),
    zoom: int = 13,
    script_nonce: str = "",
) -> RenderedMap:
    """A folium map with its tile layer, and the markers, the caller's position and outage areas as features.

    ``script_nonce`` goes on the inline scripts of folium's header (the page's Content-Security-Policy)."""

    def shown(lat: float, lon: float) -> tuple[float, float]:
        return wgs84_to_gcj02(lat, lon) if tiles.coord_system == "gcj02" else (lat, lon)

    def point(lat: float, lon: float) -> dict[str, Any]:
        shown_lat, shown_lon = shown(lat, lon)
        return {"type": "Point", "coordinates": [shown_lon, shown_lat]}

    fmap = folium.Map(location=list(shown(*centre)), zoom_start=zoom, tiles=None, control_scale=True)
    # instance attributes: only the app's own copy of Leaflet, no CDN (folium's class defaults stay untouched)
    fmap.default_js = [("leaflet", leaflet_js)]
    fmap.default_css = [("leaflet_css", leaflet_css)]
    folium.TileLayer(
        tiles=tiles.url, attr=tiles.attribution, max_zoom=tiles.max_zoom, subdomains=tiles.subdomains
    ).add_to(fmap)
    areas_list, markers_list = list(areas), list(markers)
    features = [
        _feature(
            _shift_polygon(area.geometry, tiles.coord_system),
            role="area",
            style=AREA_STYLE,
            tooltip=area.tooltip,
            popup_html=area.popup_html,
        )
        for area in areas_list
    ]
    features += [
        _feature(
            point(marker.lat, marker.lon),
            role="point",
            kind=marker.kind,
            colour=KIND_COLOURS.get(marker.kind, "#555555"),
            tooltip=marker.tooltip,
            popup_html=marker.popup_html,
        )
        for marker in markers_list
    ]
    if you is not None:
        features.append(_feature(point(*you), role="you", tooltip=you_label))
    elif areas_list and not markers_list:
        # an area on its own: show all of it
        corners = [shown(lat, lon) for area in areas_list for lon, lat, *_ in area.geometry["coordinates"][0]]
        fmap.fit_bounds(
            [
                [min(c[0] for c in corners), min(c[1] for c in corners)],
                [max(c[0] for c in corners), max(c[1] for c in corners)],
            ]
        )
    root: Any = fmap.get_root()
    root.render()
    # folium's viewport tag forbids zooming the page (maximum-scale=1, user-scalable=no); the page has its own
    header = _FOLIUM_VIEWPORT.sub("", root.header.render())
    if script_nonce:
        header = header.replace("<script>", f'<script nonce="{script_nonce}">')
    return RenderedMap(
        header=header,
        html=root.html.render(),
        script=root.script.render(),
        name=fmap.get_name(),
        features={"type": "FeatureCollection", "features": features},
    )
