"""The public map (``/map``): service points with popups, the caller's position and current outage areas."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from flask import Response, abort, current_app, render_template, request, send_from_directory, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core import clock
from core.db import db
from mapping import basemap
from mapping.geo import navigation_links
from mapping.geocoding import Located
from mapping.hours import WEEKDAYS
from mapping.maps import Area, Marker, RenderedMap, TileSource, render
from mapping.search import Nearby, nearest
from notifications.queries import current_outages

from ..csp import nonce
from . import portal

KIND_LABELS = {
    "business_hall": _l("Business hall"),
    "self_service": _l("Self-service terminal"),
    "charging_station": _l("Charging station"),
}
SERVICE_LABELS = {
    "bill_payment": _l("Bill payment"),
    "new_connection": _l("New connection and capacity change"),
    "account_change": _l("Change of holder"),
    "invoice": _l("Invoice printing"),
    "consultation": _l("Consultation"),
    "meter_test": _l("Meter test request"),
    "prepaid_card": _l("Prepaid top-up"),
    "ev_charging_ac": _l("AC charging"),
    "ev_charging_dc": _l("DC fast charging"),
}
DAY_LABELS = {
    "mon": _l("Mon"),
    "tue": _l("Tue"),
    "wed": _l("Wed"),
    "thu": _l("Thu"),
    "fri": _l("Fri"),
    "sat": _l("Sat"),
    "sun": _l("Sun"),
}
FALLBACK_REASONS = {
    "no_address": _l("no address was given"),
    "address_unknown": _l("the address service does not know this address"),
    "geocoder_unavailable": _l("the address service is unavailable"),
}
NAV_LABELS = {
    "amap": _l("Amap"),
    "baidu": _l("Baidu Maps"),
    "apple": _l("Apple Maps"),
    "google": _l("Google Maps"),
    "geo": _l("Other map app"),
}
# Google Maps is not offered to Chinese readers (it does not work in mainland China)
NAV_APPS = {"zh": ("amap", "baidu", "apple", "geo"), "en": ("amap", "baidu", "apple", "google", "geo")}


def navigate(lat: float, lon: float, name: str) -> dict[str, str]:
    """The navigate links shown to the reader, in the order shown, for the reader's language."""
    locale = get_locale()
    links = navigation_links(lat, lon, name)
    return {app: links[app] for app in NAV_APPS["en" if locale is not None and locale.language == "en" else "zh"]}


def location_note(fallback: Located | None) -> str:
    """Why a position is approximate and what stands in for it, in the reader's language ('' if it is not)."""
    if fallback is None or not fallback.reason:
        return ""
    why = str(FALLBACK_REASONS.get(fallback.reason, fallback.reason))
    if fallback.source == "district_centroid":
        where = _("showing the centre of %(district)s", district=fallback.district)
    elif fallback.source == "city_centre":
        where = _("showing the city centre")
    else:
        where = _("keeping the last known position")
    return _("%(why)s; %(where)s", why=why, where=where)


def _current_outages() -> Iterable[tuple[dict[str, Any], str, str]]:
    zone = clock.zone()
    return [
        (
            n.area,
            n.title,
            f"{n.starts_at.astimezone(zone):%m-%d %H:%M} – {n.ends_at.astimezone(zone):%m-%d %H:%M}"
            if n.starts_at and n.ends_at
            else "",
        )
        for n in current_outages(db.session)
        if n.area
    ]


# Sources of current outage areas: fn() -> iterable of (GeoJSON Polygon, title, text).
OUTAGE_AREA_SOURCES: list[Callable[[], Iterable[tuple[dict[str, Any], str, str]]]] = [_current_outages]


OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
TIANDITU_TILES = (
    "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec&STYLE=default"
    "&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk="
)
TILE_SOURCES = ("demo", "osm", "tianditu", "folder", "url")
TILE_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "svg": "image/svg+xml",
}


def tile_source() -> TileSource:
    """The map's tiles from the settings: ``MAP_TILE_URL`` when set (a company tile server), else ``MAP_TILES``."""
    config = current_app.config
    kind = "url" if config.get("MAP_TILE_URL") else str(config.get("MAP_TILES") or "demo").lower()
    if kind not in TILE_SOURCES:
        raise RuntimeError(f"MAP_TILES={kind!r}: use one of {', '.join(TILE_SOURCES)} (docs/mapping.md)")
    coords = config.get("MAP_TILE_COORDS", "wgs84")
    if kind == "url":
        return TileSource(
            url=config["MAP_TILE_URL"],
            attribution=config.get("MAP_TILE_ATTRIBUTION") or _("Map tiles"),  # folium wants a credit line
            coord_system=coords,
            subdomains=config.get("MAP_TILE_SUBDOMAINS", "abc"),
        )
    if kind == "osm":
        return TileSource(url=OSM_TILES, attribution="© OpenStreetMap contributors")
    if kind == "tianditu":
        if not config.get("MAP_TIANDITU_KEY"):
            raise RuntimeError("MAP_TILES=tianditu needs MAP_TIANDITU_KEY (a Tianditu browser key)")
        # Tianditu's web tiles are CGCS2000, within centimetres of WGS-84: markers need no shift
        return TileSource(
            url=TIANDITU_TILES + quote(str(config["MAP_TIANDITU_KEY"])),
            attribution=_("© Tianditu"),
            subdomains="01234567",
        )
    tiles = request.script_root + "/map-tiles/{z}/{x}/{y}."
    if kind == "folder":
        return TileSource(
            url=tiles + str(config.get("MAP_TILE_EXT") or "png"),
            attribution=config.get("MAP_TILE_ATTRIBUTION") or _("Map tiles"),
            coord_system=coords,
        )
    return TileSource(url=tiles + "svg", attribution=_("Schematic basemap of the demo city"), max_zoom=basemap.MAX_ZOOM)


@portal.get("/map-tiles/<int:z>/<int:x>/<int:y>.<ext>")
def map_tile(z: int, x: int, y: int, ext: str) -> Any:
    """Tiles the app serves itself: a folder of ``z/x/y.ext`` files (``MAP_TILES=folder``) or the demo basemap."""
    config = current_app.config
    kind = str(config.get("MAP_TILES") or "demo").lower()
    if not basemap.valid(z, x, y):
        abort(404)
    if kind == "folder" and config.get("MAP_TILE_DIR") and ext == str(config.get("MAP_TILE_EXT") or "png"):
        response = send_from_directory(config["MAP_TILE_DIR"], f"{z}/{x}/{y}.{ext}", mimetype=TILE_TYPES.get(ext))
    elif kind == "demo" and ext == "svg":
        response = Response(basemap.tile(z, x, y), mimetype="image/svg+xml")
    else:
        abort(404)
    response.cache_control.public = True
    response.cache_control.max_age = 86_400
    return response


def default_centre() -> tuple[float, float]:
    lat, lon = (float(x) for x in str(current_app.config.get("MAP_CENTRE", "30.2741,120.1551")).split(","))
    return lat, lon


def _float_arg(name: str, low: float, high: float) -> float | None:
    try:
        value = float(request.args.get(name, ""))
    except ValueError:
        return None
    return value if low <= value <= high else None


def hours_lines(hours: dict[str, str]) -> list[tuple[str, str]]:
    return [(str(DAY_LABELS[d]), hours.get(d) or _("Closed all day")) for d in WEEKDAYS]


def build_map(
    found: list[Nearby],
    *,
    centre: tuple[float, float],
    you: tuple[float, float] | None,
    areas: Iterable[Area] = (),
    zoom: int = 13,
    markers: Iterable[Marker] = (),
) -> RenderedMap:
    """The points found (with their popups), the caller's position, areas and any further ``markers``."""
    points = [
        Marker(
            lat=f.point.lat,
            lon=f.point.lon,
            kind=f.point.kind,
            tooltip=f.point.name,
            popup_html=render_template(
                "mapping/_popup.html",
                found=f,
                point=f.point,
                kind_labels=KIND_LABELS,
                service_labels=SERVICE_LABELS,
                nav_labels=NAV_LABELS,
                hours=hours_lines(f.point.hours or {}),
                links=navigate(f.point.lat, f.point.lon, f.point.name),
            ),
        )
        for f in found
    ]
    return render(
        centre=centre,
        markers=[*points, *markers],
        tiles=tile_source(),
        leaflet_js=url_for("static", filename="vendor/leaflet-1.9.3/leaflet.js"),
        leaflet_css=url_for("static", filename="vendor/leaflet-1.9.3/leaflet.css"),
        you=you,
        you_label=_("You are here"),
        areas=areas,
        zoom=zoom,
        script_nonce=nonce(),
    )


def outage_area(geometry: dict[str, Any], title: str, text: str = "") -> Area:
    """An outage area for the map: its title as the tooltip (text) and in the popup (escaped HTML)."""
    popup = render_template("mapping/_outage_popup.html", title=title, text=text)
    return Area(geometry=geometry, popup_html=popup, tooltip=title)


def outage_areas() -> list[Area]:
    return [outage_area(*area) for source in OUTAGE_AREA_SOURCES for area in source()]


@portal.get("/map")
def service_map() -> Any:
    """Public: the nearest points to ``?lat=&lon=`` (or ``?address=``), else all points around the city."""
    lat, lon = _float_arg("lat", -90, 90), _float_arg("lon", -180, 180)
    kind = request.args.get("kind") if request.args.get("kind") in KIND_LABELS else None
    address = request.args.get("address", "").strip()[:255]
    you: tuple[float, float] | None = None
    location_note = ""
    if lat is not None and lon is not None:
        you = (lat, lon)
    elif address:
        located = current_app.extensions["griddesk_geocoding"].locate(db.session, address)
        db.session.commit()
        if located is None:
            location_note = _("That address could not be found. Showing the city centre.")
        else:
            you = (located.lat, located.lon)
            if located.source not in {"geocoder", "cache"}:
                location_note = _(
                    "The address service is unavailable, so your position is approximate (%(why)s).",
                    why=_("centre of the district") if located.approximate else _("last known position"),
                )
    centre = you or default_centre()
    limit = 10 if you else 200
    found = nearest(db.session, centre[0], centre[1], limit=limit, kind=kind)
    rendered = build_map(found, centre=centre, you=you, areas=outage_areas(), zoom=14 if you else 12)
    return render_template(
        "mapping/map.html",
        rendered=rendered,
        found=found if you else found[:10],
        you=you,
        kind=kind,
        address=address,
        location_note=location_note,
        kind_labels=KIND_LABELS,
        nav_labels=NAV_LABELS,
        links={f.point.id: navigate(f.point.lat, f.point.lon, f.point.name) for f in found},
    )
