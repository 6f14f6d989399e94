"""Mapping: service points, geocoding, nearest search, folium maps, outage areas."""

from __future__ import annotations

import os
from typing import Any

from .geocoding import GeocodingService, GeopyGeocoder, OfflineGeocoder


def _settings(app: Any) -> None:
    env = os.environ.get
    defaults = {
        "GEOCODER_PROVIDER": env("GEOCODER_PROVIDER", "nominatim"),
        "GEOCODER_DOMAIN": env("GEOCODER_DOMAIN", ""),
        "GEOCODER_SCHEME": env("GEOCODER_SCHEME", "https"),
        "GEOCODER_API_KEY": env("GEOCODER_API_KEY", ""),
        "GEOCODER_USER_AGENT": env("GEOCODER_USER_AGENT", "GridDesk/0.1 (service-point map; ops@griddesk.local)"),
        "GEOCODER_TIMEOUT": float(env("GEOCODER_TIMEOUT", "2")),
        "GEOCODER_MIN_DELAY": float(env("GEOCODER_MIN_DELAY", "1")),
        "GEOCODER_COOLDOWN": float(env("GEOCODER_COOLDOWN", "60")),
        # demo (the demo city's basemap, drawn by the app: works offline), osm, tianditu, folder or url
        "MAP_TILES": env("MAP_TILES", "demo"),
        "MAP_TIANDITU_KEY": env("MAP_TIANDITU_KEY", ""),
        "MAP_TILE_DIR": env("MAP_TILE_DIR", ""),
        "MAP_TILE_EXT": env("MAP_TILE_EXT", "png"),
        "MAP_TILE_COORDS": env("MAP_TILE_COORDS", "wgs84"),
        "MAP_TILE_SUBDOMAINS": env("MAP_TILE_SUBDOMAINS", "abc"),
        "MAP_CENTRE": env("MAP_CENTRE", "30.2741,120.1551"),
    }
    for key, value in defaults.items():
        app.config.setdefault(key, value)


def build_geocoding(config: Any) -> GeocodingService:
    provider = str(config["GEOCODER_PROVIDER"]).lower()
    if provider in {"", "none", "off"}:
        geocoder: Any = OfflineGeocoder()
    else:
        geocoder = GeopyGeocoder(
            provider,
            user_agent=config["GEOCODER_USER_AGENT"],
            timeout=float(config["GEOCODER_TIMEOUT"]),
            min_delay_seconds=float(config["GEOCODER_MIN_DELAY"]),
            domain=config["GEOCODER_DOMAIN"] or None,
            scheme=config["GEOCODER_SCHEME"] or None,
            api_key=config["GEOCODER_API_KEY"] or None,
        )
    return GeocodingService(geocoder, cooldown=float(config["GEOCODER_COOLDOWN"]))


def init_app(app: Any) -> None:
    """Register mapping's CLI commands, demo data, health checks and periodic tasks on a Flask app."""
    from . import cli, demo

    _settings(app)
    app.extensions["griddesk_geocoding"] = build_geocoding(app.config)
    app.extensions["griddesk_demo_seeders"].append((40, "service points", demo.seed_service_points))
    app.extensions["griddesk_health"]["geocoder"] = lambda: {
        "ok": True,  # a dead geocoder degrades locations to fallbacks; it never takes the app down
        "provider": app.extensions["griddesk_geocoding"].geocoder.name,
        "available": app.extensions["griddesk_geocoding"].available,
    }
    cli.register(app)
