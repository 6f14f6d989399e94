"""Service points (营业厅, 自助终端, 充电站) and the geocoding cache. Coordinates are WGS-84."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow
from core.identity import Unit


class ServicePointKind(enum.StrEnum):
    BUSINESS_HALL = "business_hall"  # 营业厅
    SELF_SERVICE = "self_service"  # 自助终端
    CHARGING_STATION = "charging_station"  # 充电站


class ServicePoint(Base):
    """A place customers can go to. ``cell`` is the spatial index key (see ``mapping.index``)."""

    __tablename__ = "service_points"
    __table_args__ = (
        CheckConstraint("lat BETWEEN -90 AND 90", name="lat_range"),
        CheckConstraint("lon BETWEEN -180 AND 180", name="lon_range"),
        CheckConstraint("kind IN ('business_hall', 'self_service', 'charging_station')", name="kind_known"),
        UniqueConstraint("code"),
        Index("ix_service_points_cell_kind", "cell", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(24))
    address: Mapped[str] = mapped_column(String(255))
    district: Mapped[str] = mapped_column(String(32), default="")
    lat: Mapped[float]
    lon: Mapped[float]
    cell: Mapped[int]
    # {"mon": "08:30-17:30", "sat": "09:00-12:00,13:30-17:00"}; a missing day is closed
    hours: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    phone: Mapped[str] = mapped_column(String(32), default="")
    # where the coordinates came from: given, geocoder, cache, district_centroid
    location_source: Mapped[str] = mapped_column(String(24), default="given")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit | None] = relationship()

    def snapshot(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "kind": self.kind,
            "address": self.address,
            "lat": self.lat,
            "lon": self.lon,
            "hours": dict(self.hours or {}),
            "services": list(self.services or []),
            "unit_id": self.unit_id,
        }


class GeocodeResult(Base):
    """A cached geocoder answer (also negative ones, so a bad address is not asked again and again)."""

    __tablename__ = "geocode_results"
    __table_args__ = (UniqueConstraint("provider", "query"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    query: Mapped[str] = mapped_column(String(255))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    display_name: Mapped[str] = mapped_column(String(512), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
