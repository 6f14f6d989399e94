"""Service-point API: public nearest search and list, admin create/change/remove/import/export."""

from __future__ import annotations

import io
import json

from sqlalchemy import select

from core.trail import TrailEvent
from mapping.models import ServicePoint

HALL = {
    "name": "西湖营业厅",
    "kind": "business_hall",
    "address": "杭州市西湖区文三路259号",
    "lat": 30.27935,
    "lon": 120.13942,
    "hours": {"mon": "08:30-17:30", "sat": "09:00-12:00,13:30-17:00"},
    "services": ["bill_payment", "invoice"],
}


def _create(client, world, **overrides):
    return client.post("/api/v1/admin/service-points", json={**HALL, **overrides}, headers=world.headers("admin"))


def test_admin_creates_a_point_and_the_trail_records_it(client, world, session) -> None:
    response = _create(client, world)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["kind"] == "business_hall" and body["hours"]["sat"] == "09:00-12:00,13:30-17:00"
    assert body["unit"] == world.unit_a.code and body["location_source"] == "given"
    assert session.scalar(select(TrailEvent.action).where(TrailEvent.entity == "service_point")) == (
        "service_point.created"
    )


def test_bad_point_reports_every_field_at_once(client, world) -> None:
    response = client.post(
        "/api/v1/admin/service-points",
        json={**HALL, "hours": {"mon": "8-5", "xyz": "09:00-10:00"}, "services": ["teleport"]},
        headers=world.headers("admin"),
    )
    assert response.status_code == 422
    fields = response.get_json()["error"]["details"]["fields"]
    assert {"hours", "services"} <= set(fields)
    pydantic_level = client.post(
        "/api/v1/admin/service-points", json={"kind": "castle", "lat": 99}, headers=world.headers("admin")
    )
    assert pydantic_level.status_code == 422
    assert {"name", "kind", "address", "lat"} <= set(pydantic_level.get_json()["error"]["details"]["fields"])


def test_without_coordinates_and_a_dead_geocoder_the_district_centre_is_used_and_said(app, client, world) -> None:
    geocoding = app.extensions["griddesk_geocoding"]
    geocoding._down_until = float("inf")  # the provider failed a moment ago: no one waits on it
    try:
        response = _create(client, world, lat=None, lon=None)
    finally:
        geocoding.reset()
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["location_source"] == "district_centroid" and "西湖区" in body["location_note"]


def test_nearest_is_public_sorted_and_carries_the_contract_fields(client, world) -> None:
    _create(client, world)
    _create(client, world, name="湖滨营业厅", address="杭州市上城区平海路30号", lat=30.2601, lon=120.1648)
    _create(client, world, name="充电站", kind="charging_station", lat=30.2457, lon=120.2114, hours={})
    response = client.get("/api/v1/service-points/nearest?lat=30.259&lon=120.165&limit=2")
    assert response.status_code == 200
    items = response.get_json()
    assert [i["name"] for i in items] == ["湖滨营业厅", "西湖营业厅"]
    assert {"id", "name", "kind", "address", "lat", "lon", "distance_m", "open_now", "hours"} <= set(items[0])
    assert items[0]["distance_m"] < items[1]["distance_m"]
    only = client.get("/api/v1/service-points/nearest?lat=30.259&lon=120.165&kind=charging_station").get_json()
    assert [i["name"] for i in only] == ["充电站"] and only[0]["open_now"] is False


def test_nearest_needs_a_position_and_valid_numbers(client) -> None:
    assert client.get("/api/v1/service-points/nearest").status_code == 422
    bad = client.get("/api/v1/service-points/nearest?lat=abc&lon=200&limit=0")
    assert bad.status_code == 422
    assert {"lat", "lon", "limit"} <= set(bad.get_json()["error"]["details"]["fields"])


def test_nearest_by_address_says_when_the_position_is_approximate(app, client, world) -> None:
    _create(client, world)
    geocoding = app.extensions["griddesk_geocoding"]
    geocoding._down_until = float("inf")
    try:
        response = client.get("/api/v1/service-points/nearest", query_string={"address": "杭州市西湖区文三路"})
    finally:
        geocoding.reset()
    assert response.status_code == 200 and response.get_json()[0]["name"] == "西湖营业厅"
    assert response.headers["X-Location-Source"] == "district_centroid"


def test_admin_changes_and_removes_only_points_of_their_unit(client, world, session) -> None:
    own = _create(client, world).get_json()["id"]
    from mapping.commands import NewServicePoint
    from mapping.services import create_point

    foreign, _ = create_point(session, NewServicePoint.parse({**HALL, "name": "乙"}), actor=None, unit=world.unit_b)
    session.commit()
    changed = client.patch(
        f"/api/v1/admin/service-points/{own}",
        json={"name": "西湖营业厅(新)", "lat": 30.28},
        headers=world.headers("admin"),
    )
    assert changed.status_code == 200 and changed.get_json()["name"] == "西湖营业厅(新)"
    assert (
        client.patch(
            f"/api/v1/admin/service-points/{foreign.id}", json={"name": "x"}, headers=world.headers("admin")
        ).status_code
        == 404
    )
    assert client.delete(f"/api/v1/admin/service-points/{own}", headers=world.headers("admin")).status_code == 204
    assert client.get(f"/api/v1/service-points/{own}").status_code == 404


def test_export_then_import_round_trips_as_csv_and_geojson(client, world, session) -> None:
    _create(client, world, code="SP-A")
    _create(client, world, code="SP-B", name="湖滨营业厅", lat=30.26, lon=120.16)
    csv_text = client.get("/api/v1/service-points/export?format=csv").get_data(as_text=True)
    geojson = client.get("/api/v1/service-points/export?format=geojson").get_json()
    assert geojson["type"] == "FeatureCollection" and len(geojson["features"]) == 2
    assert geojson["features"][0]["geometry"]["coordinates"] == [120.13942, 30.27935]
    renamed = csv_text.replace("湖滨营业厅", "湖滨营业厅(改)")
    result = client.post(
        "/api/v1/admin/service-points/import",
        data={"file": (io.BytesIO(renamed.encode()), "points.csv")},
        headers=world.headers("admin"),
        content_type="multipart/form-data",
    )
    assert result.status_code == 200, result.get_json()
    assert sorted(result.get_json()["updated"]) == ["SP-A", "SP-B"]
    assert "湖滨营业厅(改)" in set(session.scalars(select(ServicePoint.name)))
    del geojson["features"][1]
    geojson["features"][0]["properties"]["code"] = "SP-C"
    result = client.post(
        "/api/v1/admin/service-points/import",
        data={"file": (io.BytesIO(json.dumps(geojson).encode()), "points.geojson")},
        headers=world.headers("admin"),
        content_type="multipart/form-data",
    )
    assert result.get_json()["created"] == ["SP-C"]
    assert sorted(session.scalars(select(ServicePoint.code))) == ["SP-A", "SP-B", "SP-C"]


def test_import_with_bad_rows_imports_nothing_and_names_every_row(client, world, session) -> None:
    csv_text = (
        "code,name,kind,address,lat,lon,services,mon\n"
        "OK-1,好点,business_hall,杭州市上城区,30.2,120.1,bill_payment,08:00-17:00\n"
        "BAD-1,,castle,杭州市,95,120.1,,\n"
        "BAD-2,坏点,self_service,杭州市,30.2,120.1,,8-17\n"
    )
    result = client.post(
        "/api/v1/admin/service-points/import",
        data={"file": (io.BytesIO(csv_text.encode()), "points.csv")},
        headers=world.headers("admin"),
        content_type="multipart/form-data",
    )
    assert result.status_code == 422
    rows = result.get_json()["error"]["details"]["rows"]
    assert set(rows) == {"2", "3"} and {"name", "kind", "lat"} <= set(rows["2"]) and "hours" in rows["3"]
    assert session.scalar(select(ServicePoint.id)) is None


def test_import_refuses_other_files(client, world) -> None:
    result = client.post(
        "/api/v1/admin/service-points/import",
        data={"file": (io.BytesIO(b"x"), "points.xlsx")},
        headers=world.headers("admin"),
        content_type="multipart/form-data",
    )
    assert result.status_code == 422 and result.get_json()["error"]["code"] == "unsupported_format"
