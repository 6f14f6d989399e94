"""Service points near me: from the phone's position, a district, a typed address or the account's address."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request, url_for
from flask_babel import gettext as _

from core.db import db
from mapping.geocoding import DISTRICT_CENTROIDS
from mapping.search import nearest

from . import portal
from ._customer import bound_accounts, customer_required, selected_account
from .map import KIND_LABELS, NAV_LABELS, navigate

RESULTS = 8


def distance_label(metres: float) -> str:
    if metres < 1000:
        return _("%(n)s m", n=int(round(metres, -1)))
    kilometres = round(metres / 1000, 1)
    return _("%(n)s km", n=kilometres)


def _coordinate(name: str, low: float, high: float) -> float | None:
    try:
        value = float(request.args.get(name, ""))
    except ValueError:
        return None
    return value if low <= value <= high else None


def _origin() -> tuple[tuple[float, float] | None, str, str]:
    """(lat, lon) to search from, how it was found (for the page), and a problem to show, if any."""
    lat, lon = _coordinate("lat", -90, 90), _coordinate("lon", -180, 180)
    if lat is not None and lon is not None:
        return (lat, lon), _("your current location"), ""
    district = request.args.get("district", "")
    if district in DISTRICT_CENTROIDS:
        return DISTRICT_CENTROIDS[district], _("the centre of %(district)s", district=district), ""
    address = request.args.get("address", "").strip()[:255]
    if address:
        located = current_app.extensions["griddesk_geocoding"].locate(db.session, address)
        db.session.commit()  # the geocoding cache
        if located is None:
            return None, "", _("That address could not be found. Choose a district instead.")
        if located.source in {"geocoder", "cache"}:
            return (located.lat, located.lon), address, ""
        return (located.lat, located.lon), _("near %(address)s (approximate)", address=address), ""
    account = selected_account(bound_accounts())
    if account is not None and account.lat is not None and account.lon is not None:
        return (account.lat, account.lon), _("the address of account %(no)s", no=account.account_no), ""
    return None, "", ""


@portal.get("/nearby")
@customer_required
def nearby() -> Any:
    kind = request.args.get("kind") if request.args.get("kind") in KIND_LABELS else None
    origin, origin_label, problem = _origin()
    results = nearest(db.session, origin[0], origin[1], limit=RESULTS, kind=kind) if origin else []
    map_url = (
        url_for("portal.service_map", lat=f"{origin[0]:.5f}", lon=f"{origin[1]:.5f}", kind=kind or None)
        if origin
        else url_for("portal.service_map")
    )
    return render_template(
        "portal/nearby.html",
        results=[
            {
                "found": f,
                "distance": distance_label(f.distance_m),
                "links": navigate(f.point.lat, f.point.lon, f.point.name),
            }
            for f in results
        ],
        origin=origin,
        origin_label=origin_label,
        problem=problem,
        kind=kind,
        districts=list(DISTRICT_CENTROIDS),
        district=request.args.get("district", ""),
        address=request.args.get("address", ""),
        kind_labels=KIND_LABELS,
        nav_labels=NAV_LABELS,
        map_url=map_url,
    )
