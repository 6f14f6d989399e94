"""Service points: the public nearest search and list, and the admin's create/change/remove/import."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from flask import Response, current_app, request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import db
from core.errors import InvalidInput, Problem
from core.identity import Role, User
from core.scope import visible_unit
from mapping.commands import NewServicePoint, ServicePointChange
from mapping.exchange import import_points, parse, to_csv, to_geojson
from mapping.geo import navigation_links
from mapping.geocoding import GeocodingService
from mapping.models import ServicePoint
from mapping.search import Nearby, nearest
from mapping.services import create_point, delete_point, editable_point, get_point, update_point

from ..portal.map import location_note
from . import api
from .framework import PUBLIC as PUBLIC_ACCESS
from .framework import PageQuery, allow, caller, endpoint, json_response, paginate, register_resource

ADMIN_POINT = allow(Role.ADMIN, resource="service_point")
Kind = Literal["business_hall", "self_service", "charging_station"]


def _resolve_point(session: Session, user: User, path: dict[str, Any]) -> ServicePoint:
    return editable_point(session, user, int(path["point_id"]))


register_resource("service_point", _resolve_point)


def geocoding() -> GeocodingService:
    return current_app.extensions["griddesk_geocoding"]  # type: ignore[no-any-return]


def point_json(point: ServicePoint) -> dict[str, Any]:
    return {
        "id": point.id,
        "code": point.code,
        "name": point.name,
        "kind": point.kind,
        "address": point.address,
        "district": point.district,
        "lat": round(point.lat, 6),
        "lon": round(point.lon, 6),
        "hours": dict(point.hours or {}),
        "services": list(point.services or []),
        "phone": point.phone,
        "location_source": point.location_source,
        "unit": point.unit.code if point.unit else None,
    }


def nearby_json(found: Nearby) -> dict[str, Any]:
    point = found.point
    return {
        **point_json(point),
        "distance_m": round(found.distance_m, 1),
        "open_now": found.open_now,
        "navigate": navigation_links(point.lat, point.lon, point.name),
    }


class NearestQuery(BaseModel):
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    address: str | None = Field(None, max_length=255, description="used when lat/lon are not given")
    limit: int = Field(5, ge=1, le=50)
    kind: Kind | None = None


@endpoint(
    api,
    "/service-points/nearest",
    access=PUBLIC_ACCESS,
    query=NearestQuery,
    summary="The nearest service points by geodesic distance, with open_now in local time",
    response={
        "type": "array",
        "items": {
            "type": "object",
            "required": ["code", "name", "lat", "lon", "distance_m", "open_now", "navigate"],
            "properties": {"distance_m": {"type": "number"}, "open_now": {"type": "boolean"}},
        },
    },
    extra_responses={422: "no position: give lat and lon, or an address"},
    writes=True,  # keeps the geocoder's answer
)
def nearest_service_points(query: NearestQuery) -> Any:
    headers: dict[str, str] = {}
    if query.lat is not None and query.lon is not None:
        lat, lon = query.lat, query.lon
    elif query.address:
        located = geocoding().locate(db.session, query.address)
        db.session.commit()  # keep the cached answer
        if located is None:
            raise InvalidInput.fields({"address": Problem("address_not_located")})
        lat, lon = located.lat, located.lon
        # the position is approximate when the geocoder was down: say so, never wait on it
        headers = {"X-Location-Source": located.source, "X-Location-Note": quote(location_note(located))}
    else:
        raise InvalidInput.fields({"lat": Problem("position_required"), "lon": Problem("position_required")})
    found = nearest(db.session, lat, lon, limit=query.limit, kind=query.kind)
    return json_response([nearby_json(f) for f in found], 200, headers)


class PointListQuery(PageQuery):
    kind: Kind | None = None


@endpoint(api, "/service-points", access=PUBLIC_ACCESS, query=PointListQuery, summary="All service points")
def list_service_points(query: PointListQuery) -> Any:
    stmt = select(ServicePoint).order_by(ServicePoint.code)
    if query.kind:
        stmt = stmt.where(ServicePoint.kind == query.kind)
    return paginate(db.session, stmt, query, point_json)


class ExportQuery(BaseModel):
    format: Literal["csv", "geojson"] = "geojson"


@endpoint(
    api,
    "/service-points/export",
    access=PUBLIC_ACCESS,
    query=ExportQuery,
    summary="Every service point as GeoJSON (WGS-84) or CSV",
    content_type=("application/geo+json", "text/csv"),
)
def export_service_points(query: ExportQuery) -> Any:
    points = db.session.scalars(select(ServicePoint).order_by(ServicePoint.code)).all()
    if query.format == "csv":
        return Response(
            "\ufeff" + to_csv(points),
            mimetype="text/csv",
            headers={"Content-Disposition": 'attachment; filename="service-points.csv"'},
        )
    response = json_response(to_geojson(points))
    response.mimetype = "application/geo+json"
    return response


@endpoint(api, "/service-points/<int:point_id>", access=PUBLIC_ACCESS, summary="One service point")
def get_service_point(point_id: int) -> Any:
    point = get_point(db.session, point_id)
    return {**point_json(point), "navigate": navigation_links(point.lat, point.lon, point.name)}


def _admin_unit(code: str | None) -> Any:
    """Admins place points in their own unit subtree; an outside unit is reported as unknown."""
    if code is None:
        return caller().unit
    unit = visible_unit(db.session, caller(), code)
    if unit is None:
        raise InvalidInput.fields({"unit_code": Problem("unknown_unit")})
    return unit


@endpoint(
    api,
    "/admin/service-points",
    methods=["POST"],
    access=allow(Role.ADMIN),
    body=NewServicePoint,
    status=201,
    summary="Create a service point (without lat/lon the address is geocoded, with fallbacks)",
    extra_responses={409: "code taken"},
)
def create_service_point(body: NewServicePoint) -> Any:
    unit = _admin_unit(body.unit_code)
    point, fallback = create_point(db.session, body, actor=caller(), unit=unit, geocoding=geocoding())
    return {**point_json(point), "location_note": location_note(fallback)}, 201


@endpoint(
    api,
    "/admin/service-points/<int:point_id>",
    methods=["PATCH"],
    access=ADMIN_POINT,
    body=ServicePointChange,
    summary="Change a service point",
)
def change_service_point(point_id: int, body: ServicePointChange) -> Any:
    point = editable_point(db.session, caller(), point_id)
    point, fallback = update_point(db.session, point, body, actor=caller(), geocoding=geocoding())
    return {**point_json(point), "location_note": location_note(fallback)}


@endpoint(
    api,
    "/admin/service-points/<int:point_id>",
    methods=["DELETE"],
    access=ADMIN_POINT,
    summary="Remove a service point",
    status=204,
)
def remove_service_point(point_id: int) -> Any:
    delete_point(db.session, editable_point(db.session, caller(), point_id), actor=caller())
    return "", 204


@endpoint(
    api,
    "/admin/service-points/import",
    methods=["POST"],
    access=allow(Role.ADMIN),
    status=200,
    summary="Create or update service points from a CSV or GeoJSON file (all rows or none)",
    multipart={"file": "a .csv (columns as the export) or .geojson FeatureCollection of Points"},
    extra_responses={422: "every row problem at once (details.rows)"},
)
def import_service_points() -> Any:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput.fields({"file": Problem("required")})
    rows = parse(upload.filename, upload.read())
    report = import_points(db.session, rows, actor=caller(), unit=caller().unit, geocoding=geocoding())
    return {"created": report.created, "updated": report.updated, "approximate": report.approximate}
