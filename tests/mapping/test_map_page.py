"""The public /map page: points, popups with navigate links, the caller's position, local Leaflet only."""

from __future__ import annotations

import re

import pytest

from mapping.demo import DEMO_POINTS, seed_service_points
from tests.mapping.features import map_features
from tests.notifications.helpers import SQUARE


def test_map_shows_points_and_your_position_with_no_cdn(client, session, world) -> None:
    seed_service_points(session)
    session.commit()
    response = client.get("/map?lat=30.2600&lon=120.1650")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "湖滨营业厅" in html and "uri.amap.com" in html and "coord_type=bd09ll" in html
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert assets and all(a.startswith("/static/") for a in assets), assets
    [you] = [f for f in map_features(html) if f["properties"]["role"] == "you"]
    assert you["geometry"]["coordinates"] == [120.165, 30.26]
    assert "/map-tiles/{z}/{x}/{y}.svg" in html  # the default tile source: the demo basemap, served by the app
    assert "openstreetmap.org" not in html


def test_the_map_page_lets_the_reader_zoom_the_page(client, session, world) -> None:
    """folium's own viewport tag forbids zooming (maximum-scale=1, user-scalable=no), which people with low vision
    need; the page keeps the one viewport tag of the site's layout."""
    html = client.get("/map?lat=30.2600&lon=120.1650").get_data(as_text=True)
    viewports = re.findall(r'<meta name="viewport"[^>]*>', html)
    assert viewports == ['<meta name="viewport" content="width=device-width, initial-scale=1">'], viewports


def test_chinese_readers_get_no_google_maps_link_and_english_readers_do(client, session, world) -> None:
    seed_service_points(session)
    session.commit()
    for path in ["/map?lat=30.2600&lon=120.1650", "/map"]:
        chinese = client.get(path).get_data(as_text=True)
        assert "google.com" not in chinese and "谷歌" not in chinese and "Google" not in chinese
        assert "uri.amap.com" in chinese and "api.map.baidu.com" in chinese and 'href="geo:30.' in chinese
        assert "其他地图应用" in chinese
    english = client.get("/map?lat=30.2600&lon=120.1650&lang=en").get_data(as_text=True)
    assert "google.com/maps/dir" in english and "Google Maps" in english


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


HOSTILE = "停电</script><script>alert('nt')</script><img src=x onerror=alert(7)>${alert(1)}`"


def test_what_people_wrote_reaches_the_map_as_data_never_as_script(client, session, world) -> None:
    """An outage title and a service point name go to the page as JSON features, drawn by the app's own script:
    folium's generated script holds no text anyone wrote (it once held both, inside a JavaScript template)."""
    future = "2099-12-05T08:30:00+08:00", "2099-12-05T17:30:00+08:00"
    body = {"title": HOSTILE, "body": HOSTILE, "starts_at": future[0], "ends_at": future[1], "area": SQUARE}
    assert client.post("/api/v1/notices/outages", json=body, headers=world.headers("clerk")).status_code == 202
    point = {"name": HOSTILE, "kind": "business_hall", "address": HOSTILE, "lat": 30.27, "lon": 120.16}
    assert client.post("/api/v1/admin/service-points", json=point, headers=world.headers("admin")).status_code == 201
    html = client.get("/map").get_data(as_text=True)
    assert "</script><script>alert" not in html
    inline_scripts = re.findall(r"<script nonce=[^>]*>(.*?)</script>", html, re.S)
    assert inline_scripts and not any("alert" in script or "停电" in script for script in inline_scripts)
    features = map_features(html)
    tooltips = {f["properties"]["role"]: f["properties"]["tooltip"] for f in features}
    assert tooltips == {"area": HOSTILE, "point": HOSTILE}
    popups = " ".join(f["properties"]["popup_html"] for f in features)
    assert "&lt;script&gt;alert(&#39;nt&#39;)&lt;/script&gt;" in popups and "<img" not in popups
