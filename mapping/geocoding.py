"""Geocoding through geopy with a database cache, a short timeout, a circuit breaker and a fallback.

No caller waits on a geocoder that is down: after one failure the geocoder is skipped for ``cooldown``
seconds, and every answer says where the coordinates came from (``source``), so pages can say so.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from geopy.adapters import RequestsAdapter
from geopy.exc import GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import get_geocoder_for_service
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .interfaces import Geocoder, GeocoderUnavailable, Place
from .models import GeocodeResult

# 杭州市 districts and their government seats (WGS-84), the fallback when nothing better is known.
DISTRICT_CENTROIDS: dict[str, tuple[float, float]] = {
    "上城区": (30.2425, 120.1693),
    "拱墅区": (30.3194, 120.1419),
    "西湖区": (30.2594, 120.1300),
    "滨江区": (30.2083, 120.2117),
    "萧山区": (30.1849, 120.2644),
    "余杭区": (30.4187, 120.2999),
    "临平区": (30.4219, 120.2994),
    "钱塘区": (30.3220, 120.4935),
    "富阳区": (30.0490, 119.9602),
    "临安区": (30.2338, 119.7248),
    "桐庐县": (29.7975, 119.6914),
    "淳安县": (29.6087, 119.0421),
    "建德市": (29.4747, 119.2818),
}
CITY_CENTRE = ("杭州市", (30.2741, 120.1551))

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Located:
    lat: float
    lon: float
    source: str  # geocoder | cache | stored | district_centroid | city_centre
    reason: str = ""  # why a fallback stands in: no_address | address_unknown | geocoder_unavailable
    district: str = ""  # the district whose centre stands in (source district_centroid)

    @property
    def approximate(self) -> bool:
        return self.source in {"district_centroid", "city_centre"}


class GeopyGeocoder:
    """Any geopy provider (Nominatim by default) with no retries, a short timeout and its rate limit."""

    def __init__(
        self,
        provider: str = "nominatim",
        *,
        user_agent: str,
        timeout: float = 2.0,
        min_delay_seconds: float = 1.0,
        domain: str | None = None,
        scheme: str | None = None,
        api_key: str | None = None,
    ):
        cls = get_geocoder_for_service(provider)
        kwargs: dict[str, object] = {
            "user_agent": user_agent,
            "timeout": timeout,
            "adapter_factory": lambda proxies, ssl_context: RequestsAdapter(
                proxies=proxies, ssl_context=ssl_context, pool_maxsize=4, max_retries=0
            ),
        }
        if domain:
            kwargs["domain"] = domain
        if scheme:
            kwargs["scheme"] = scheme
        if api_key:
            kwargs["api_key"] = api_key
        self.name = provider
        self._geocoder = cls(**kwargs)
        # Nominatim's usage policy: at most one request a second, from one identified application.
        self._geocode = RateLimiter(
            self._geocoder.geocode, min_delay_seconds=min_delay_seconds, max_retries=0, swallow_exceptions=False
        )
        self._lock = threading.Lock()

    def geocode(self, address: str) -> Place | None:
        try:
            with self._lock:
                found = self._geocode(address, exactly_one=True)
        except GeopyError as exc:
            raise GeocoderUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if found is None:
            return None
        return Place(float(found.latitude), float(found.longitude), str(found.address or ""))


class OfflineGeocoder:
    """A geocoder that is never reachable (GEOCODER_PROVIDER=none): everything uses the fallbacks."""

    name = "none"

    def geocode(self, address: str) -> Place | None:
        raise GeocoderUnavailable("geocoding is turned off")


class GeocodingService:
    """Cache first, then the geocoder (unless it failed recently), then stored coordinates or a centroid."""

    def __init__(self, geocoder: Geocoder, *, cooldown: float = 60.0):
        self.geocoder = geocoder
        self.cooldown = cooldown
        self._down_until = 0.0

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def reset(self) -> None:
        self._down_until = 0.0

    def locate(self, session: Session, address: str, *, stored: tuple[float, float] | None = None) -> Located | None:
        """Coordinates for ``address``. None only if nothing at all is known (not even the district)."""
        query = " ".join(address.split())
        if not query:
            return self._fallback(query, stored, "no_address")
        cached = session.scalar(
            select(GeocodeResult).where(GeocodeResult.provider == self.geocoder.name, GeocodeResult.query == query)
        )
        if cached is not None and cached.lat is not None and cached.lon is not None:
            return Located(cached.lat, cached.lon, "cache")
        if cached is not None:
            return self._fallback(query, stored, "address_unknown")
        if not self.available:
            return self._fallback(query, stored, "geocoder_unavailable")
        try:
            place = self.geocoder.geocode(query)
        except GeocoderUnavailable as exc:
            self._down_until = time.monotonic() + self.cooldown
            log.warning("geocoder %s unavailable: %s", self.geocoder.name, exc)
            return self._fallback(query, stored, "geocoder_unavailable")
        self._remember(session, query, place)
        if place is None:
            return self._fallback(query, stored, "address_unknown")
        return Located(place.lat, place.lon, "geocoder")

    def _remember(self, session: Session, query: str, place: Place | None) -> None:
        row = GeocodeResult(
            provider=self.geocoder.name,
            query=query[:255],
            lat=place.lat if place else None,
            lon=place.lon if place else None,
            display_name=(place.display_name if place else "")[:512],
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            pass  # another request cached the same address first

    @staticmethod
    def _fallback(query: str, stored: tuple[float, float] | None, reason: str) -> Located | None:
        if stored is not None:
            return Located(stored[0], stored[1], "stored", reason)
        centroid = district_centroid(query)
        if centroid is not None:
            name, (lat, lon) = centroid
            return Located(lat, lon, "district_centroid", reason, name)
        if CITY_CENTRE[0] in query:
            return Located(*CITY_CENTRE[1], "city_centre", reason)
        return None


def district_centroid(address: str) -> tuple[str, tuple[float, float]] | None:
    for name, point in DISTRICT_CENTROIDS.items():
        if name in address:
            return name, point
    return None


def district_of(address: str) -> str:
    found = district_centroid(address)
    return found[0] if found else ""
