"""The public map (``/map``): service points with popups, the caller's position and current outage areas."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core import clock
from core.db import db
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
NAV_LABELS = {"amap": _l("Amap"), "baidu": _l("Baidu Maps"), "apple": _l("Apple Maps"), "google": _l("Google Maps")}


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


def tile_source() -> TileSource:
    config = current_app.config
    return TileSource(
        url=config["MAP_TILE_URL"],
        attribution=config["MAP_TILE_ATTRIBUTION"],
        coord_system=config.get("MAP_TILE_COORDS", "wgs84"),
        subdomains=config.get("MAP_TILE_SUBDOMAINS", "abc"),
    )


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
                links=navigation_links(f.point.lat, f.point.lon, f.point.name),
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
        links={f.point.id: navigation_links(f.point.lat, f.point.lon, f.point.name) for f in found},
    )
