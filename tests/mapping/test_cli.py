"""Service-point commands: import a file, export it back, geocode with the fallback."""

from __future__ import annotations

import json


def test_import_then_export_geojson(app, session, tmp_path) -> None:
    source = tmp_path / "points.csv"
    source.write_text("code,name,kind,address,lat,lon,mon\nC-1,甲,self_service,杭州市上城区,30.25,120.17,00:00-24:00\n")
    runner = app.test_cli_runner()
    imported = runner.invoke(args=["griddesk", "service-points", "import", str(source)])
    assert imported.exit_code == 0, imported.output
    assert "created 1" in imported.output
    exported = runner.invoke(args=["griddesk", "service-points", "export", "--format", "geojson"])
    doc = json.loads(exported.output)
    assert doc["features"][0]["properties"]["hours"] == {"mon": "00:00-24:00"}


def test_geocode_falls_back_to_the_district_when_the_geocoder_is_down(app, session) -> None:
    geocoding = app.extensions["griddesk_geocoding"]
    geocoding._down_until = float("inf")
    try:
        result = app.test_cli_runner().invoke(args=["griddesk", "service-points", "geocode", "杭州市滨江区江南大道"])
    finally:
        geocoding.reset()
    assert result.exit_code == 0 and "district_centroid" in result.output
