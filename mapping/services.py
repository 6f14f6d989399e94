"""Service points: create, change, remove, with every field problem reported at once; trail entries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import trail
from core.errors import Conflict, InvalidInput, NotFound, Problem
from core.identity import Unit, User
from core.scope import can_see_unit

from .commands import NewServicePoint, ServicePointChange
from .geocoding import GeocodingService, Located, district_of
from .index import cell_of
from .models import ServicePoint


def _next_code(session: Session) -> str:
    last = session.scalar(select(ServicePoint.id).order_by(ServicePoint.id.desc()).limit(1)) or 0
    return f"SP{last + 1:06d}"


def _place(
    session: Session, point: ServicePoint, clean: dict[str, Any], geocoding: GeocodingService | None
) -> Located | None:
    """Fill coordinates; geocode the address when none are given. Returns the fallback that placed the point
    when the geocoder could not (the position is then approximate), else None."""
    if clean.get("lat") is not None and clean.get("lon") is not None:
        point.lat, point.lon, point.location_source = clean["lat"], clean["lon"], "given"
        return None
    if geocoding is None:
        raise InvalidInput.fields({"lat": Problem("required"), "lon": Problem("required")})
    stored = (point.lat, point.lon) if point.lat is not None and point.lon is not None else None
    located = geocoding.locate(session, point.address, stored=stored)
    if located is None:
        raise InvalidInput.fields({"lat": Problem("address_not_located"), "lon": Problem("address_not_located")})
    point.lat, point.lon, point.location_source = located.lat, located.lon, located.source
    return located if located.reason else None


def create_point(
    session: Session,
    command: NewServicePoint,
    *,
    actor: User | None,
    unit: Unit | None = None,
    geocoding: GeocodingService | None = None,
) -> tuple[ServicePoint, Located | None]:
    """Create a point. Without lat/lon the address is geocoded (with fallbacks).

    Returns the point and, when the coordinates are approximate, the fallback that placed it (else None).
    """
    clean = command.values()
    code = clean.pop("code", None) or _next_code(session)
    if session.scalar(select(ServicePoint.id).where(ServicePoint.code == code)) is not None:
        raise Conflict("service_point_exists", point=code)
    point = ServicePoint(
        code=code,
        name=clean["name"],
        kind=clean["kind"],
        address=clean["address"],
        district=district_of(clean["address"]),
        hours=clean.get("hours", {}),
        services=clean.get("services", []),
        phone=clean.get("phone", ""),
        unit=unit,
    )
    fallback = _place(session, point, clean, geocoding)
    point.cell = cell_of(point.lat, point.lon)
    session.add(point)
    session.flush()
    trail.record(
        session,
        actor_id=actor.id if actor else None,
        action="service_point.created",
        entity="service_point",
        entity_id=point.code,
        after=point.snapshot(),
    )
    return point, fallback


def update_point(
    session: Session,
    point: ServicePoint,
    command: NewServicePoint | ServicePointChange,
    *,
    actor: User | None,
    geocoding: GeocodingService | None = None,
) -> tuple[ServicePoint, Located | None]:
    """Change the fields given (all of a ``NewServicePoint``, as the admin's form and a file's row give them); a
    new address without coordinates is geocoded again (see ``create_point``)."""
    clean = command.values()
    before = point.snapshot()
    if "code" in clean and clean["code"] != point.code:
        if session.scalar(select(ServicePoint.id).where(ServicePoint.code == clean["code"])) is not None:
            raise Conflict("service_point_exists", point=clean["code"])
        point.code = clean["code"]
    for field in ("name", "kind", "address", "hours", "services", "phone"):
        if field in clean:
            setattr(point, field, clean[field])
    fallback = None
    if "lat" in clean or "lon" in clean:
        lat, lon = clean.get("lat", point.lat), clean.get("lon", point.lon)
        point.lat, point.lon, point.location_source = lat, lon, "given"
    elif "address" in clean and clean["address"] != before["address"] and geocoding is not None:
        fallback = _place(session, point, {}, geocoding)
    point.district = district_of(point.address)
    point.cell = cell_of(point.lat, point.lon)
    session.flush()
    trail.record(
        session,
        actor_id=actor.id if actor else None,
        action="service_point.changed",
        entity="service_point",
        entity_id=point.code,
        before=before,
        after=point.snapshot(),
    )
    return point, fallback


def delete_point(session: Session, point: ServicePoint, *, actor: User | None) -> None:
    trail.record(
        session,
        actor_id=actor.id if actor else None,
        action="service_point.removed",
        entity="service_point",
        entity_id=point.code,
        before=point.snapshot(),
    )
    session.delete(point)
    session.flush()


def get_point(session: Session, point_id: int) -> ServicePoint:
    point = session.get(ServicePoint, point_id)
    if point is None:
        raise NotFound("service_point_not_found")
    return point


def editable_point(session: Session, user: User, point_id: int) -> ServicePoint:
    """A point the (admin) user may change: one of their unit subtree, or one without a unit."""
    point = session.get(ServicePoint, point_id)
    if point is None or (point.unit is not None and not can_see_unit(user, point.unit)):
        raise NotFound("service_point_not_found")
    return point
