"""Staff pages for notices: announce an outage from a form, follow its progress; supervisors only read."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from notifications.models import Message
from tests.notifications.helpers import SQUARE
from tests.support import staff_sign_in


def test_clerk_announces_an_outage_and_sees_its_progress(client, world, session) -> None:
    token = staff_sign_in(client, "clerk-a")
    response = client.post(
        "/staff/notices/outage",
        data={
            "csrf_token": token,
            "title": "计划停电",
            "body": "线路检修",
            "starts_at": "2026-12-05T08:30",
            "ends_at": "2026-12-05T17:30",
            "mode": "area",
            "area": json.dumps({"type": "Feature", "geometry": SQUARE, "properties": {}}),
        },  # fmt: skip
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert session.scalar(select(Message.user_id)) == world.users["customer"].id
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "计划停电" in detail and "100.0%" in detail and "leaflet.js" in detail
    listing = client.get("/staff/notices").get_data(as_text=True)
    assert "计划停电" in listing


def test_outage_form_shows_every_problem(client, world) -> None:
    token = staff_sign_in(client, "clerk-a")
    response = client.post(
        "/staff/notices/outage",
        data={
            "csrf_token": token,
            "title": "",
            "body": "",
            "starts_at": "",
            "ends_at": "",
            "mode": "accounts",
            "account_nos": "",
        },  # fmt: skip
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for field in ("title", "body", "starts_at", "ends_at"):
        assert f'id="{field}-error"' in html


def test_supervisor_reads_notices_but_cannot_announce(client, world, session) -> None:
    token = staff_sign_in(client, "supervisor-a")
    assert client.get("/staff/notices").status_code == 200
    assert client.get("/staff/notices/outage").status_code == 403
    form = {"csrf_token": token, "title": "计划停电", "body": "线路检修", "starts_at": "2026-12-05T08:30",
            "ends_at": "2026-12-05T17:30", "mode": "area", "area": json.dumps(SQUARE)}  # fmt: skip
    assert client.post("/staff/notices/outage", data=form).status_code == 403
    assert session.scalar(select(Message.id)) is None


def test_current_outage_areas_are_drawn_on_the_public_map(client, world, session) -> None:
    token = staff_sign_in(client, "clerk-a")
    client.post(
        "/staff/notices/outage",
        data={
            "csrf_token": token,
            "title": "计划停电",
            "body": "线路检修",
            "starts_at": "2099-12-05T08:30",
            "ends_at": "2099-12-05T17:30",
            "mode": "area",
            "area": json.dumps(SQUARE),
        },  # fmt: skip
    )
    html = client.get("/map").get_data(as_text=True)
    drawn = re.search(r"geo_json_\w+_add\((\{.*?\})\);", html)
    assert drawn, "no outage area on the map"
    assert [f["geometry"] for f in json.loads(drawn.group(1))["features"]] == [SQUARE]


def test_outage_form_preview_shows_the_count_and_sends_nothing(client, world, session) -> None:
    token = staff_sign_in(client, "clerk-a")
    response = client.post(
        "/staff/notices/outage",
        data={
            "csrf_token": token,
            "title": "计划停电",
            "body": "线路检修",
            "starts_at": "2026-12-05T08:30",
            "ends_at": "2026-12-05T17:30",
            "mode": "area",
            "area": json.dumps(SQUARE),
            "action": "preview",
        },  # fmt: skip
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "leaflet.js" in html
    assert '<p class="flash flash-ok" role="status">该通知将送达 1 个用电户的 1 位客户。</p>' in html
    assert session.scalar(select(Message.id)) is None
