"""The map's tile source is a setting: the demo city's own basemap drawn by the app (the default, works offline),
OpenStreetMap, Tianditu with a key, a folder of tiles served by the app, or a company tile server's URL."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from mapping import basemap
from webapp.portal.map import tile_source

SVG = "{http://www.w3.org/2000/svg}"


def _source(app: Any, **settings: Any) -> Any:
    config = {"MAP_TILE_URL": "", "MAP_TILES": "demo", **settings}
    with app.test_request_context("/map"):
        old = {key: app.config.get(key) for key in config}
        app.config.update(config)
        try:
            return tile_source()
        finally:
            app.config.update(old)


def test_each_tile_source_setting_gives_its_tiles(app) -> None:
    demo = _source(app)
    assert demo.url == "/map-tiles/{z}/{x}/{y}.svg" and demo.attribution == "演示城市示意底图"
    osm = _source(app, MAP_TILES="osm")
    assert osm.url == "https://tile.openstreetmap.org/{z}/{x}/{y}.png" and "OpenStreetMap" in osm.attribution
    tianditu = _source(app, MAP_TILES="tianditu", MAP_TIANDITU_KEY="k123")
    assert tianditu.url.startswith("https://t{s}.tianditu.gov.cn/vec_w/wmts?") and tianditu.url.endswith("&tk=k123")
    assert tianditu.subdomains == "01234567" and tianditu.coord_system == "wgs84"
    folder = _source(app, MAP_TILES="folder", MAP_TILE_EXT="png")
    assert folder.url == "/map-tiles/{z}/{x}/{y}.png"
    company = _source(app, MAP_TILES="osm", MAP_TILE_URL="https://tiles.example.cn/{z}/{x}/{y}.png")
    assert company.url == "https://tiles.example.cn/{z}/{x}/{y}.png"  # a company tile server's URL wins
    assert company.attribution == "地图瓦片"  # without MAP_TILE_ATTRIBUTION: folium needs a credit line


def test_the_map_page_draws_with_a_company_tile_server_without_a_credit_line(app, client, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "MAP_TILE_URL", "https://tiles.example.cn/{z}/{x}/{y}.png")
    monkeypatch.setitem(app.config, "MAP_TILE_ATTRIBUTION", "")
    page = client.get("/map")
    assert page.status_code == 200 and "tiles.example.cn" in page.get_data(as_text=True)


def test_a_wrong_tile_setting_is_refused_with_what_to_set(app) -> None:
    with pytest.raises(RuntimeError, match="MAP_TIANDITU_KEY"):
        _source(app, MAP_TILES="tianditu", MAP_TIANDITU_KEY="")
    with pytest.raises(RuntimeError, match="one of demo, osm, tianditu, folder, url"):
        _source(app, MAP_TILES="google")


def test_the_demo_basemap_tiles_are_served_by_the_app(client) -> None:
    z, x, y = 14, *_tile_of(30.2440, 120.1450, 14)  # West Lake
    response = client.get(f"/map-tiles/{z}/{x}/{y}.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert "max-age=86400" in response.headers["Cache-Control"]
    root = ET.fromstring(response.get_data(as_text=True))
    assert root.get("width") == "256" and root.find(f"{SVG}polygon").get("fill") == basemap.WATER
    assert "西湖" in "".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert client.get(f"/map-tiles/{z}/{x}/{y}.png").status_code == 404  # the demo draws SVG only
    assert client.get("/map-tiles/3/9/0.svg").status_code == 404  # no such tile at zoom 3


def test_a_folder_of_tiles_is_served_by_the_app(app, client, tmp_path) -> None:
    (tmp_path / "12" / "3429").mkdir(parents=True)
    (tmp_path / "12" / "3429" / "1673.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    app.config.update(MAP_TILES="folder", MAP_TILE_DIR=str(tmp_path), MAP_TILE_EXT="png")
    try:
        found = client.get("/map-tiles/12/3429/1673.png")
        assert found.status_code == 200 and found.mimetype == "image/png"
        assert found.data.startswith(b"\x89PNG")
        assert client.get("/map-tiles/12/3429/1674.png").status_code == 404
        assert client.get("/map-tiles/12/3429/1673.svg").status_code == 404
    finally:
        app.config.update(MAP_TILES="demo", MAP_TILE_DIR="")


def _tile_of(lat: float, lon: float, z: int) -> tuple[int, int]:
    px, py = basemap._world(lat, lon, z)
    return int(px // 256), int(py // 256)


def test_tiles_outside_the_city_are_plain_land_and_the_city_set_is_small(tmp_path) -> None:
    far = ET.fromstring(basemap.tile(10, 0, 0))
    assert [child.tag for child in far] == [f"{SVG}rect"]
    assert len(list(basemap.tiles_covering(range(10, 15)))) < 1000
    written = basemap.write_tiles(tmp_path, [11, 12])
    assert written == len(list(tmp_path.glob("*/*/*.svg"))) and written > 4
    with pytest.raises(ValueError):
        basemap.tile(2, 4, 0)


def test_the_cli_writes_the_basemap_as_a_folder_of_tiles(app, tmp_path) -> None:
    result = app.test_cli_runner().invoke(
        args=["griddesk", "service-points", "basemap-tiles", str(tmp_path), "--zoom", "11-12"]
    )
    assert result.exit_code == 0, result.output
    written = sorted(tmp_path.glob("*/*/*.svg"))
    assert f"{len(written)} tiles written" in result.output and {p.parts[-3] for p in written} == {"11", "12"}
