"""Staff pages for service points: admins create, edit, import and remove; other staff only look."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from mapping.models import ServicePoint
from tests.support import staff_sign_in


def _form(token: str, **fields) -> dict:
    data = {
        "csrf_token": token,
        "name": "文三营业厅",
        "kind": "business_hall",
        "address": "杭州市西湖区文三路259号",
        "lat": "30.2793",
        "lon": "120.1394",
        "services": ["bill_payment", "invoice"],
        "hours_mon": "08:30-17:30",
    }
    data.update(fields)
    return data


def test_admin_creates_edits_and_removes_a_point(client, world, session) -> None:
    token = staff_sign_in(client, "admin-a")
    created = client.post("/staff/service-points/new", data=_form(token))
    assert created.status_code == 302
    point = session.scalar(select(ServicePoint))
    assert point.services == ["bill_payment", "invoice"] and point.hours == {"mon": "08:30-17:30"}
    page = client.get(f"/staff/service-points/{point.id}/edit").get_data(as_text=True)
    assert "文三营业厅" in page
    client.post(
        f"/staff/service-points/{point.id}/edit", data=_form(token, name="文三营业厅(新)", hours_sat="09:00-12:00")
    )
    session.expire_all()
    assert session.scalar(select(ServicePoint.name)) == "文三营业厅(新)"
    listing = client.get("/staff/service-points").get_data(as_text=True)
    assert "文三营业厅(新)" in listing
    client.post(f"/staff/service-points/{point.id}/delete", data={"csrf_token": token})
    assert session.scalar(select(ServicePoint.id)) is None


def test_bad_form_shows_every_problem(client, world) -> None:
    token = staff_sign_in(client, "admin-a")
    response = client.post("/staff/service-points/new", data=_form(token, name="", lat="95", hours_mon="8-5"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="name-error"' in html and 'id="lat-error"' in html and 'id="hours-error"' in html


def test_import_page_reports_rows(client, world, session) -> None:
    token = staff_sign_in(client, "admin-a")
    csv_text = "name,kind,address,lat,lon\n甲,business_hall,杭州市上城区,30.25,120.17\n"
    response = client.post(
        "/staff/service-points/import",
        data={"csrf_token": token, "file": (io.BytesIO(csv_text.encode()), "p.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert response.status_code == 200 and "甲" in response.get_data(as_text=True)
    assert session.scalar(select(ServicePoint.name)) == "甲"


@pytest.mark.parametrize("role", ["archivist", "clerk", "supervisor"])
def test_other_staff_see_the_list_but_cannot_create(client, world, session, role: str) -> None:
    token = staff_sign_in(client, f"{role}-a")
    assert client.get("/staff/service-points").status_code == 200
    assert client.get("/staff/service-points/new").status_code == 403
    assert client.post("/staff/service-points/new", data=_form(token)).status_code == 403
    assert session.scalar(select(ServicePoint.id)) is None
