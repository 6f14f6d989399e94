"""The public /map page: points, popups with navigate links, the caller's position, local Leaflet only."""

from __future__ import annotations

import re

import pytest

from mapping.demo import DEMO_POINTS, seed_service_points


def test_map_shows_points_and_your_position_with_no_cdn(client, session, world) -> None:
    seed_service_points(session)
    session.commit()
    response = client.get("/map?lat=30.2600&lon=120.1650")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "湖滨营业厅" in html and "uri.amap.com" in html and "coord_type=bd09ll" in html
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert assets and all(a.startswith("/static/") for a in assets), assets
    assert re.search(r"L\.marker\(\s*\[30\.26, 120\.165\]", html)  # your position
    assert "tile.openstreetmap.org" in html  # the configured tile source


def test_leaflet_is_served_by_the_app(client) -> None:
    assert client.get("/static/vendor/leaflet-1.9.3/leaflet.js").status_code == 200
    assert client.get("/static/vendor/leaflet-1.9.3/images/marker-icon.png").status_code == 200


def test_map_in_gcj02_tiles_shifts_markers(app, client, session, world) -> None:
    seed_service_points(session)
    session.commit()
    app.config["MAP_TILE_COORDS"] = "gcj02"
    try:
        html = client.get("/map?lat=30.2600&lon=120.1650").get_data(as_text=True)
    finally:
        app.config["MAP_TILE_COORDS"] = "wgs84"
    from mapping.geo import wgs84_to_gcj02

    lat, lon = wgs84_to_gcj02(30.2601, 120.1648)
    assert str(lat)[:7] in html and str(lon)[:8] in html


def test_map_with_a_dead_geocoder_says_the_position_is_approximate(app, client, session, world) -> None:
    seed_service_points(session)
    session.commit()
    geocoding = app.extensions["griddesk_geocoding"]
    geocoding._down_until = float("inf")
    try:
        html = client.get("/map?address=杭州市滨江区江南大道&lang=en").get_data(as_text=True)
    finally:
        geocoding.reset()
    assert "approximate" in html and "滨江营业厅" in html


KIND_LABELS = {"business_hall": "营业厅", "self_service": "自助终端", "charging_station": "充电站"}


@pytest.mark.parametrize("kind", sorted(KIND_LABELS))
def test_map_without_position_lists_every_point_of_the_kind_around_the_city(client, session, world, kind) -> None:
    from mapping.models import ServicePointKind

    assert set(KIND_LABELS) == set(ServicePointKind)
    seed_service_points(session)
    session.commit()
    response = client.get(f"/map?kind={kind}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    listing = html[html.index('<ol class="sp-list">') : html.index("</ol>", html.index('<ol class="sp-list">'))]
    listed = re.findall(r"<strong>([^<]+)</strong> · ([^\s<]+)", listing)
    assert sorted(listed) == sorted((name, KIND_LABELS[kind]) for _c, name, k, *_rest in DEMO_POINTS if k == kind)
