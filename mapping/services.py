"""Service points: create, change, remove, with every field problem reported at once; trail entries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import trail
from core.errors import Conflict, InvalidInput, NotFound, Problem
from core.identity import Unit, User

from .geocoding import GeocodingService, Located, district_of
from .hours import BadHours, validate_hours
from .index import cell_of
from .models import ServicePoint, ServicePointKind

# Services a point may offer (codes; labels live in the web layer's vocabulary).
SERVICES = (
    "bill_payment",  # 电费缴纳
    "new_connection",  # 新装增容
    "account_change",  # 过户更名
    "invoice",  # 发票打印
    "consultation",  # 业务咨询
    "meter_test",  # 校表申请
    "prepaid_card",  # 购电充值
    "ev_charging_ac",  # 交流慢充
    "ev_charging_dc",  # 直流快充
)
KINDS = tuple(k.value for k in ServicePointKind)
FIELDS = ("code", "name", "kind", "address", "lat", "lon", "hours", "services", "phone")


def _number(value: Any, low: float, high: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high else None


def validate(data: dict[str, Any], *, partial: bool = False) -> tuple[dict[str, Any], dict[str, Problem]]:
    """Clean API-shaped data; returns (clean, problems). ``partial`` checks only the fields given."""
    clean: dict[str, Any] = {}
    problems: dict[str, Problem] = {}

    def given(name: str) -> bool:
        return not partial or name in data

    if given("name"):
        name = str(data.get("name") or "").strip()
        if not name:
            problems["name"] = Problem("required")
        elif len(name) > 128:
            problems["name"] = Problem("too_long", max=128)
        clean["name"] = name
    if given("kind"):
        if not data.get("kind"):
            problems["kind"] = Problem("required")
        elif data.get("kind") not in KINDS:
            problems["kind"] = Problem("not_a_choice", allowed=list(KINDS))
        clean["kind"] = data.get("kind")
    if given("address"):
        address = str(data.get("address") or "").strip()
        if not address:
            problems["address"] = Problem("required")
        elif len(address) > 255:
            problems["address"] = Problem("too_long", max=255)
        clean["address"] = address
    for field, low, high in (("lat", -90.0, 90.0), ("lon", -180.0, 180.0)):
        if field in data and data[field] not in (None, ""):
            number = _number(data[field], low, high)
            if number is None:
                problems[field] = Problem("between", min=int(low), max=int(high))
            clean[field] = number
    if given("hours"):
        try:
            clean["hours"] = validate_hours(data.get("hours") or {})
        except BadHours as exc:
            problems["hours"] = Problem("hours_format", days=exc.days) if exc.days else Problem("not_an_object")
    if given("services"):
        services = data.get("services") or []
        if not isinstance(services, list) or not all(isinstance(s, str) for s in services):
            problems["services"] = Problem("not_a_list")
        else:
            unknown = sorted(set(services) - set(SERVICES))
            if unknown:
                problems["services"] = Problem("unknown_services", unknown=unknown, allowed=list(SERVICES))
            clean["services"] = list(dict.fromkeys(services))
    if "phone" in data:
        phone = str(data.get("phone") or "").strip()
        if len(phone) > 32:
            problems["phone"] = Problem("too_long", max=32)
        clean["phone"] = phone
    if "code" in data and data["code"] not in (None, ""):
        code = str(data["code"]).strip()
        if len(code) > 32 or not code.replace("-", "").replace("_", "").isalnum():
            problems["code"] = Problem("code_format", max=32)
        clean["code"] = code
    return clean, problems


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
    data: dict[str, Any],
    *,
    actor: User | None,
    unit: Unit | None = None,
    geocoding: GeocodingService | None = None,
) -> tuple[ServicePoint, Located | None]:
    """Create a point from API-shaped data. Without lat/lon the address is geocoded (with fallbacks).

    Returns the point and, when the coordinates are approximate, the fallback that placed it (else None).
    """
    clean, problems = validate(data)
    if ("lat" in clean) != ("lon" in clean):
        problems.setdefault("lat" if "lat" not in clean else "lon", Problem("lat_lon_together"))
    if problems:
        raise InvalidInput.fields(problems)
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
    data: dict[str, Any],
    *,
    actor: User | None,
    geocoding: GeocodingService | None = None,
) -> tuple[ServicePoint, Located | None]:
    """Change the fields given; a new address without coordinates is geocoded again (see ``create_point``)."""
    clean, problems = validate(data, partial=True)
    if problems:
        raise InvalidInput.fields(problems)
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
    if point is None or (
        point.unit is not None and (user.unit is None or not point.unit.path.startswith(user.unit.path))
    ):
        raise NotFound("service_point_not_found")
    return point
