"""Mapping: service points, geocoding, nearest search, folium maps, outage areas."""

from __future__ import annotations

from typing import Any


def init_app(app: Any) -> None:
    """Register mapping's CLI commands, demo data, health checks and periodic tasks on a Flask app."""
