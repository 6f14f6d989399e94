"""An outage notice is one command for the API and the staff form: same checks, same codes."""

from __future__ import annotations

import json

import pytest

from core.errors import InvalidInput
from notifications.commands import AnnounceOutage
from tests.notifications.helpers import SQUARE
from tests.support import staff_sign_in
from webapp.errors import render

ZH = {"Accept-Language": "zh-CN"}
WHEN = {"starts_at": "2026-12-05T08:30:00+08:00", "ends_at": "2026-12-05T17:30:00+08:00"}


def _codes(error: InvalidInput) -> dict[str, str]:
    return {field: problem.code for field, problem in error.problems.items()}


def test_a_notice_reports_every_problem_at_once() -> None:
    with pytest.raises(InvalidInput) as caught:
        AnnounceOutage.parse(
            {"title": "", "body": "x" * 4001, "starts_at": "2026-12-05T17:30:00+08:00", "ends_at": "2026-12-05T08:30"}
        )
    assert _codes(caught.value) == {
        "title": "required",
        "body": "too_long",
        "ends_at": "not_a_datetime",
        "area": "area_or_accounts",
    }


@pytest.mark.parametrize(
    ("area", "code"),
    [
        ("{not json", "not_json"),
        ({"type": "Point", "coordinates": [120, 30]}, "not_a_polygon"),
        ({"type": "Polygon", "coordinates": [SQUARE["coordinates"][0][:3]]}, "ring_too_short"),
    ],
)
def test_an_area_is_a_polygon(area: object, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        AnnounceOutage.parse({"title": "停电", "body": "检修", **WHEN, "area": area})
    assert _codes(caught.value) == {"area": code}


def test_a_pasted_feature_collection_is_its_first_polygon() -> None:
    pasted = json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": SQUARE}]})
    assert AnnounceOutage.parse({"title": "停电", "body": "检修", **WHEN, "area": pasted}).area == SQUARE


def test_an_end_before_the_start_is_refused_by_the_api_and_the_page(app, client, world) -> None:
    body = {"title": "停电", "body": "检修", "starts_at": WHEN["ends_at"], "ends_at": WHEN["starts_at"], "area": SQUARE}
    api = client.post("/api/v1/notices/outages", json=body, headers=world.headers("clerk"))
    assert api.status_code == 422
    assert api.get_json()["error"]["details"]["problems"] == {"ends_at": {"code": "not_after_start", "params": {}}}
    token = staff_sign_in(client, "clerk-a")
    form = {"csrf_token": token, "title": "停电", "body": "检修", "mode": "area", "area": json.dumps(SQUARE)}
    page = client.post(
        "/staff/notices/outage",
        data={**form, "starts_at": "2026-12-05T17:30", "ends_at": "2026-12-05T08:30"},
        headers=ZH,
    )
    assert page.status_code == 422
    with app.test_request_context(headers=ZH):
        expected = f"结束时间（北京时间）：{render('not_after_start')}"
    assert expected in page.get_data(as_text=True)
