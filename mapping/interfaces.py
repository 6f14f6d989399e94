"""Swappable parts of mapping: the geocoder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Place:
    lat: float
    lon: float
    display_name: str = ""


class GeocoderUnavailable(Exception):
    """The geocoder could not answer (down, slow, refused); callers fall back, never wait."""


class Geocoder(Protocol):
    name: str

    def geocode(self, address: str) -> Place | None:
        """The place of ``address`` in WGS-84, None when the provider knows no such address.

        Raises GeocoderUnavailable when the provider cannot be asked.
        """
        ...
