"""Geocoding through geopy against a local Nominatim stand-in: cache, dead provider, fallbacks."""

from __future__ import annotations

import json
import time

from sqlalchemy import func, select

from mapping.geocoding import GeocodingService, GeopyGeocoder
from mapping.models import GeocodeResult
from tests.mapping.local_http import free_port, serve


def _nominatim(answers: dict[str, tuple[float, float]]):
    def handle(request, _body):
        from urllib.parse import parse_qs, urlparse

        query = parse_qs(urlparse(request.path).query).get("q", [""])[0]
        found = [
            {"lat": str(lat), "lon": str(lon), "display_name": f"{query}, 中国", "place_id": 1}
            for key, (lat, lon) in answers.items()
            if key in query
        ]
        return 200, {"Content-Type": "application/json"}, json.dumps(found).encode()

    return handle


def _service(base_url: str, cooldown: float = 60.0) -> GeocodingService:
    host = base_url.removeprefix("http://")
    geocoder = GeopyGeocoder("nominatim", user_agent="GridDesk-tests/1", timeout=2, min_delay_seconds=0,
                             domain=host, scheme="http")  # fmt: skip
    return GeocodingService(geocoder, cooldown=cooldown)


def test_answer_comes_from_the_provider_then_from_the_cache(session) -> None:
    with serve(_nominatim({"文三路": (30.2788, 120.1390)})) as (url, log):
        service = _service(url)
        first = service.locate(session, "杭州市西湖区文三路259号")
        session.commit()
        second = service.locate(session, "杭州市西湖区文三路259号")
    assert (first.source, round(first.lat, 4)) == ("geocoder", 30.2788)
    assert second.source == "cache" and second.lat == first.lat
    assert len(log) == 1
    assert "GridDesk-tests/1" in log[0]["headers"]["User-Agent"]


def test_unknown_address_is_cached_as_unknown_and_falls_back_to_the_district(session) -> None:
    with serve(_nominatim({})) as (url, log):
        service = _service(url)
        located = service.locate(session, "杭州市滨江区不存在路1号")
        session.commit()
        again = service.locate(session, "杭州市滨江区不存在路1号")
    assert located.source == "district_centroid" and located.approximate
    assert located.reason == "address_unknown" and located.district == "滨江区" and again.source == "district_centroid"
    assert len(log) == 1
    assert session.scalar(select(func.count()).select_from(GeocodeResult)) == 1


def test_dead_geocoder_answers_at_once_with_the_district_centre_and_is_then_skipped(session) -> None:
    service = _service(f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    located = service.locate(session, "杭州市西湖区文三路259号")
    assert located.source == "district_centroid" and located.reason == "geocoder_unavailable"
    assert not service.available
    again = service.locate(session, "杭州市上城区解放路98号")
    assert again.source == "district_centroid" and again.district == "上城区"
    assert time.monotonic() - started < 5


def test_stored_coordinates_win_over_a_centroid_when_the_geocoder_is_down(session) -> None:
    service = _service(f"http://127.0.0.1:{free_port()}")
    located = service.locate(session, "杭州市西湖区文三路259号", stored=(30.1, 120.1))
    assert (located.lat, located.lon, located.source) == (30.1, 120.1, "stored")


def test_nothing_known_gives_none(session) -> None:
    service = _service(f"http://127.0.0.1:{free_port()}")
    assert service.locate(session, "somewhere unknown") is None
