"""Maps drawn with folium, with Leaflet served by the app and the tile source from configuration.

The caller passes the asset URLs (the web layer knows where static files live) and ready popup HTML; this
module only knows geometry. Tiles in GCJ-02 (Amap and most Chinese tile servers) get every coordinate
transformed, so markers sit on the right street.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import folium

from .geo import wgs84_to_gcj02

# folium's popups build their content with jQuery's ``$(html)[0]``. Rather than ship jQuery for that one call,
# the page gets this stand-in (used only when jQuery is absent).
_DOLLAR_SHIM = (
    "<script>window.$ = window.$ || function (html) {"
    " var t = document.createElement('template'); t.innerHTML = String(html).trim();"
    " return [t.content.firstElementChild]; };</script>"
)

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


@dataclass
class RenderedMap:
    header: str
    html: str
    script: str
    extras: dict[str, Any] = field(default_factory=dict)


def _shift_ring(ring: list[list[float]], system: str) -> list[list[float]]:
    if system != "gcj02":
        return ring
    return [list(reversed(wgs84_to_gcj02(lat, lon))) for lon, lat, *_ in ring]


def _shift_polygon(geometry: dict[str, Any], system: str) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [_shift_ring(ring, system) for ring in geometry["coordinates"]]}


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
) -> RenderedMap:
    """A folium map of the markers, the caller's position and outage areas, ready to embed."""

    def shown(lat: float, lon: float) -> tuple[float, float]:
        return wgs84_to_gcj02(lat, lon) if tiles.coord_system == "gcj02" else (lat, lon)

    fmap = folium.Map(location=list(shown(*centre)), zoom_start=zoom, tiles=None, control_scale=True)
    # instance attributes: only the app's own copy of Leaflet, no CDN (folium's class defaults stay untouched)
    fmap.default_js = [("leaflet", leaflet_js)]
    fmap.default_css = [("leaflet_css", leaflet_css)]
    folium.TileLayer(
        tiles=tiles.url, attr=tiles.attribution, max_zoom=tiles.max_zoom, subdomains=tiles.subdomains
    ).add_to(fmap)
    areas_list, markers_list = list(areas), list(markers)
    for area in areas_list:
        folium.GeoJson(
            _shift_polygon(area.geometry, tiles.coord_system),
            style_function=lambda _f: {"color": "#b42318", "weight": 2, "fillColor": "#b42318", "fillOpacity": 0.15},
            tooltip=area.tooltip,
            popup=folium.Popup(area.popup_html, max_width=320),  # type: ignore[arg-type]
        ).add_to(fmap)
    for marker in markers_list:
        colour = KIND_COLOURS.get(marker.kind, "#555555")
        folium.CircleMarker(
            location=list(shown(marker.lat, marker.lon)),
            radius=9,
            color="#ffffff",
            weight=2,
            fill=True,
            fill_color=colour,
            fill_opacity=0.95,
            tooltip=marker.tooltip,
            popup=folium.Popup(marker.popup_html, max_width=320),
        ).add_to(fmap)
    if you is not None:
        folium.Marker(location=list(shown(*you)), tooltip=you_label).add_to(fmap)
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
    root.header.add_child(folium.Element(_DOLLAR_SHIM), name="dollar_shim")
    root.render()
    return RenderedMap(
        header=root.header.render(),
        html=root.html.render(),
        script=root.script.render(),
        extras={"name": fmap.get_name()},
    )
