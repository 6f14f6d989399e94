"""Import and export of service points as CSV and GeoJSON (WGS-84, RFC 7946 order: lon, lat)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InvalidInput, Problem
from core.identity import Unit, User

from .commands import NewServicePoint
from .geocoding import GeocodingService, Located
from .hours import WEEKDAYS
from .models import ServicePoint
from .services import create_point, update_point

CSV_COLUMNS = ("code", "name", "kind", "address", "lat", "lon", "phone", "services", *WEEKDAYS)
MAX_ROWS = 20_000
POINT_FIELDS = frozenset(NewServicePoint.model_fields) - {"unit_code"}


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    approximate: dict[str, Located] = field(default_factory=dict)  # code -> the fallback that placed it


def to_csv(points: Iterable[ServicePoint]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for p in points:
        hours = p.hours or {}
        writer.writerow(
            [p.code, p.name, p.kind, p.address, f"{p.lat:.6f}", f"{p.lon:.6f}", p.phone, ";".join(p.services or [])]
            + [hours.get(day, "") for day in WEEKDAYS]
        )
    return out.getvalue()


def to_geojson(points: Iterable[ServicePoint]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": p.code,
                "geometry": {"type": "Point", "coordinates": [round(p.lon, 6), round(p.lat, 6)]},
                "properties": {
                    "code": p.code,
                    "name": p.name,
                    "kind": p.kind,
                    "address": p.address,
                    "phone": p.phone,
                    "hours": dict(p.hours or {}),
                    "services": list(p.services or []),
                },
            }
            for p in points
        ],
    }


def parse_csv(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = {"name", "kind", "address"} - set(reader.fieldnames or [])
    if missing:
        raise InvalidInput.fields(
            {"file": Problem("missing_columns", missing=sorted(missing))},
            "invalid_csv",
            expected_columns=list(CSV_COLUMNS),
        )
    rows = []
    for raw in reader:
        row: dict[str, Any] = {k: (v or "").strip() for k, v in raw.items() if k}
        row["services"] = [s.strip() for s in row.get("services", "").split(";") if s.strip()]
        row["hours"] = {day: row.pop(day) for day in WEEKDAYS if row.get(day)}
        for day in WEEKDAYS:
            row.pop(day, None)
        rows.append({k: v for k, v in row.items() if v not in ("",) or k in {"name", "kind", "address"}})
    return rows


def parse_geojson(text: str) -> list[dict[str, Any]]:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InvalidInput.fields({"file": Problem("not_json")}, "invalid_geojson") from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise InvalidInput.fields({"file": Problem("not_a_feature_collection")}, "invalid_geojson")
    rows = []
    for feature in doc["features"]:
        props = dict((feature or {}).get("properties") or {}) if isinstance(feature, dict) else {}
        geometry = (feature or {}).get("geometry") if isinstance(feature, dict) else None
        if isinstance(geometry, dict) and geometry.get("type") == "Point":
            coords = geometry.get("coordinates") or []
            if isinstance(coords, list) and len(coords) >= 2:
                props["lon"], props["lat"] = coords[0], coords[1]
        rows.append(props)
    return rows


def parse(filename: str, content: bytes) -> list[dict[str, Any]]:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("invalid_encoding") from exc
    name = filename.lower()
    if name.endswith((".geojson", ".json")):
        return parse_geojson(text)
    if name.endswith(".csv"):
        return parse_csv(text)
    raise InvalidInput("unsupported_format")


def import_points(
    session: Session,
    rows: list[dict[str, Any]],
    *,
    actor: User | None,
    unit: Unit | None,
    geocoding: GeocodingService | None,
) -> ImportReport:
    """Create or update (by ``code``) every row, or none: all row problems are reported at once."""
    if len(rows) > MAX_ROWS:
        raise InvalidInput("too_many_rows", max_rows=MAX_ROWS)
    problems: dict[str, dict[str, Problem]] = {}
    seen: dict[str, int] = {}
    commands: list[NewServicePoint] = []
    for number, row in enumerate(rows, start=1):
        row_problems: dict[str, Problem] = {}
        try:  # a file's other columns or properties are not the point's
            commands.append(NewServicePoint.parse({k: v for k, v in row.items() if k in POINT_FIELDS}))
        except InvalidInput as exc:
            row_problems.update(exc.problems)
        code = str(row.get("code") or "")
        if code:
            if code in seen:
                row_problems["code"] = Problem("repeats_row", row=seen[code])
            seen.setdefault(code, number)
        if row_problems:
            problems[str(number)] = row_problems
    if problems:
        raise InvalidInput.in_rows(problems, "invalid_rows", bad=len(problems), total=len(rows))
    existing = {
        p.code: p for p in session.scalars(select(ServicePoint).where(ServicePoint.code.in_([c for c in seen if c])))
    }
    report = ImportReport()
    for command in commands:
        if command.code in existing:
            point, fallback = update_point(session, existing[command.code], command, actor=actor, geocoding=geocoding)
            report.updated.append(point.code)
        else:
            point, fallback = create_point(session, command, actor=actor, unit=unit, geocoding=geocoding)
            report.created.append(point.code)
        if fallback is not None:
            report.approximate[point.code] = fallback
    return report
