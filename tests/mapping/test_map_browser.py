"""The public map in headless Chromium at 360 px: markers drawn, popups open, no script errors, no CDN."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from mapping.demo import seed_service_points
from tests.mapping.local_http import free_port

pytestmark = pytest.mark.e2e

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]  # fmt: skip


@pytest.fixture
def live_url(app) -> Iterator[str]:
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_map_draws_markers_and_opens_a_popup(live_url, session, world) -> None:
    from playwright.sync_api import expect, sync_playwright

    seed_service_points(session)
    session.commit()
    errors: list[str] = []
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 360, "height": 800}, locale="zh-CN")
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        def route(r):  # the map works offline: tiles and all come from the app
            if not r.request.url.startswith(live_url):
                outside.append(r.request.url)
                return r.abort()
            return r.continue_()

        page.route("**/*", route)
        page.goto(f"{live_url}/map?lat=30.2600&lon=120.1650")
        page.wait_for_selector("path.leaflet-interactive")
        assert page.locator("path.leaflet-interactive").count() >= 5
        # the basemap's tiles are drawn (loaded from the app: not broken images); looked at before a popup opens,
        # since opening one pans the map and starts new tiles
        page.wait_for_selector("img.leaflet-tile-loaded")
        # every tile settled (Leaflet marks a tile loaded once its image loads or fails), not just the first one
        expect(page.locator("img.leaflet-tile:not(.leaflet-tile-loaded)")).to_have_count(0)
        drawn = page.eval_on_selector_all(
            "img.leaflet-tile", "tiles => tiles.map(t => [t.src, t.complete && t.naturalWidth > 0])"
        )
        page.locator("path.leaflet-interactive").first.dispatch_event("click")
        page.wait_for_selector(".leaflet-popup-content .sp-popup")
        assert "导航" in page.inner_text(".leaflet-popup-content")
        browser.close()
    assert errors == []
    assert outside == []
    assert drawn and all(src.startswith(f"{live_url}/map-tiles/") and ok for src, ok in drawn), drawn
