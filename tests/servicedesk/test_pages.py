"""Service desk pages through the test client: the customer's fault report, complaint, timeline, rating and
reopening; the staff queue with its marks, a step, the crew page, an incident's notice and restoration, the map."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

from sqlalchemy import func, select

from servicedesk.models import Incident, Ticket, TicketPhoto
from tests.servicedesk.helpers import FAR_AWAY, STREET, fault, move, open_ticket, png_bytes
from tests.support import PASSWORD, csrf_token, staff_sign_in


def _sign_in(client: Any, username: str = "13900000001") -> None:
    token = csrf_token(client.get("/login").get_data(as_text=True))
    done = client.post("/login", data={"phone": username, "password": PASSWORD, "csrf_token": token})
    assert done.status_code == 302


def _form_token(client: Any, path: str) -> str:
    return csrf_token(client.get(path).get_data(as_text=True))


def _report(client: Any, path: str = "/repair", photos: list[tuple[bytes, str]] | None = None, **fields: Any) -> Any:
    data: dict[str, Any] = {"csrf_token": _form_token(client, path), "coords": "wgs84", **fields}
    if photos:
        data["photo"] = [(io.BytesIO(content), name) for content, name in photos]
    return client.post(path, data=data, content_type="multipart/form-data")


def test_a_passer_by_reports_a_fault_with_a_pin_a_phone_and_a_photo(client, world, session) -> None:
    page = client.get("/repair")
    assert page.status_code == 200 and "故障报修" in page.get_data(as_text=True)
    lat, lon = STREET[0]
    done = _report(
        client,
        description="路口电线掉落",
        lat=str(lat),
        lon=str(lon),
        contact_phone="13912345678",
        photos=[(png_bytes(), "line.png")],
    )
    assert done.status_code == 201
    ticket = session.scalar(select(Ticket))
    assert ticket is not None and ticket.ticket_no in done.get_data(as_text=True)
    assert ticket.reporter_id is None and session.scalar(select(func.count()).select_from(TicketPhoto)) == 1


def test_a_report_with_a_file_that_is_no_image_or_a_pin_far_away_keeps_nothing(client, world, session) -> None:
    lat, lon = STREET[0]
    fake = _report(
        client,
        description="x",
        lat=str(lat),
        lon=str(lon),
        contact_phone="13912345678",
        photos=[(b"MZ\x90\x00", "a.jpg")],
    )
    assert fake.status_code == 422 and "请上传照片" in fake.get_data(as_text=True)
    far = _report(client, description="x", lat=str(FAR_AWAY[0]), lon=str(FAR_AWAY[1]), contact_phone="13912345678")
    assert far.status_code == 422 and "服务范围" in far.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Ticket)) == 0
    assert session.scalar(select(func.count()).select_from(TicketPhoto)) == 0


def test_the_customer_reports_from_the_account_and_follows_it_to_restoration(client, world) -> None:
    _sign_in(client)
    done = _report(client, account_no=world.own_account.account_no, description="家里停电了", lat="", lon="")
    assert done.status_code == 302
    ticket_no = done.headers["Location"].rsplit("/", 1)[-1]
    for step, extra in [("dispatched", {"crew": "抢修一班"}), ("on_site", {}), ("restored", {"cause": "熔丝熔断"})]:
        assert move(client, world, ticket_no, to=step, **extra).status_code == 200
    page = client.get(f"/service/{ticket_no}").get_data(as_text=True)
    assert re.findall(r'data-action="(\w+)"', page) == ["received", "dispatched", "on_site", "restored"]
    assert "熔丝熔断" in page


def test_the_customer_complains_then_rates_and_reopens_on_the_ticket_page(client, world) -> None:
    _sign_in(client)
    token = _form_token(client, "/service/new")
    done = client.post(
        "/service/new",
        data={
            "csrf_token": token,
            "kind": "complaint",
            "account_no": world.own_account.account_no,
            "description": "营业厅排队太久",
        },
    )
    assert done.status_code == 302
    ticket_no = done.headers["Location"].rsplit("/", 1)[-1]
    assert move(client, world, ticket_no, to="closed").status_code == 200
    page = client.get(f"/service/{ticket_no}").get_data(as_text=True)
    assert 'name="score"' in page and 'name="reason"' in page
    rated = client.post(
        f"/service/{ticket_no}/rating", data={"csrf_token": csrf_token(page), "score": "2", "comment": "太慢"}
    )
    assert rated.status_code == 302
    page = client.get(f"/service/{ticket_no}").get_data(as_text=True)
    assert 'name="score"' not in page
    reopened = client.post(f"/service/{ticket_no}/reopen", data={"csrf_token": csrf_token(page), "reason": "没解决"})
    assert reopened.status_code == 302
    assert 'data-status="received"' in client.get(f"/service/{ticket_no}").get_data(as_text=True)


def test_an_empty_complaint_form_shows_its_problems_in_chinese(client, world) -> None:
    _sign_in(client)
    refused = client.post("/service/new", data={"csrf_token": _form_token(client, "/service/new"), "kind": ""})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "情况描述" in text and 'aria-invalid="true"' in text


def test_the_staff_queue_marks_an_overdue_complaint_and_sorts_by_due_time(client, world, session) -> None:
    late_no = open_ticket(client, world).get_json()["ticket_no"]
    soon_no = fault(client, world, *STREET[0], role="customer").get_json()["ticket_no"]  # on site within 45 min
    fresh_no = open_ticket(client, world, kind="enquiry").get_json()["ticket_no"]  # answered within a working day
    ticket = session.scalar(select(Ticket).where(Ticket.ticket_no == late_no))
    ticket.due_at -= dt.timedelta(hours=25)
    session.commit()
    staff_sign_in(client, "clerk-a")
    page = client.get("/staff/service").get_data(as_text=True)
    assert re.findall(r'data-ticket="(\d+)" data-mark="(\w+)"', page) == [
        (late_no, "overdue"),
        (soon_no, "due_soon"),
        (fresh_no, "on_time"),
    ]
    only = client.get("/staff/service?overdue=1").get_data(as_text=True)
    assert re.findall(r'data-ticket="(\d+)"', only) == [late_no]


def test_staff_do_a_step_from_the_ticket_page_and_the_crew_page(client, world, session) -> None:
    ticket_no = fault(client, world, *STREET[0], role="customer").get_json()["ticket_no"]
    token = staff_sign_in(client, "clerk-a")
    refused = client.post(f"/staff/service/tickets/{ticket_no}", data={"csrf_token": token, "to": "dispatched"})
    assert refused.status_code == 422 and "抢修班组" in refused.get_data(as_text=True)
    done = client.post(
        f"/staff/service/tickets/{ticket_no}", data={"csrf_token": token, "to": "dispatched", "crew": "二班"}
    )
    assert done.status_code == 302
    crew = client.get("/staff/service/crew").get_data(as_text=True)
    assert f'data-ticket="{ticket_no}"' in crew and 'value="on_site"' in crew
    on_site = client.post(
        f"/staff/service/tickets/{ticket_no}", data={"csrf_token": csrf_token(crew), "to": "on_site", "back": "crew"}
    )
    assert on_site.status_code == 302 and on_site.headers["Location"].endswith("/staff/service/crew")
    assert session.scalar(select(Ticket.status).where(Ticket.ticket_no == ticket_no)) == "on_site"


def test_the_duty_officer_announces_an_incident_and_restores_it(client, world, session) -> None:
    for lat, lon in STREET:
        fault(client, world, lat, lon)
    incident_id = session.scalar(select(Incident.id))
    token = staff_sign_in(client, "clerk-a")
    page = client.get(f"/staff/service/incidents/{incident_id}").get_data(as_text=True)
    assert "map-features-" in page
    sent = client.post(
        f"/staff/service/incidents/{incident_id}/notice",
        data={
            "csrf_token": token,
            "title": "故障停电",
            "body": "抢修中",
            "starts_at": "2026-12-07T09:00",
            "ends_at": "2026-12-07T13:00",
        },
    )
    assert sent.status_code == 302 and "/staff/notices/" in sent.headers["Location"]
    restored = client.post(
        f"/staff/service/incidents/{incident_id}/restoration", data={"csrf_token": token, "cause": "变压器烧毁"}
    )
    assert restored.status_code == 302
    assert set(session.scalars(select(Ticket.status))) == {"closed"}


def test_the_map_of_open_repairs_carries_them_as_data(client, world) -> None:
    ticket_no = fault(client, world, *STREET[0], role="customer").get_json()["ticket_no"]
    staff_sign_in(client, "clerk-a")
    page = client.get("/staff/service/map").get_data(as_text=True)
    features = re.search(r'<script type="application/json" id="map-features-[^"]+">(.*?)</script>', page, re.S)
    assert features and ticket_no in features.group(1)


def test_the_supervisor_sees_on_time_rates_causes_and_satisfaction_and_gets_them_as_csv(client, world) -> None:
    late = fault(client, world, *STREET[0], role="customer").get_json()["ticket_no"]
    for step, extra in [("dispatched", {"crew": "一班"}), ("on_site", {}), ("restored", {"cause": "=树枝碰线"})]:
        move(client, world, late, to=step, **extra)
    move(client, world, late, to="closed")
    client.post(f"/api/v1/tickets/{late}/rating", json={"score": 4}, headers=world.headers("customer"))
    open_ticket(client, world)
    staff_sign_in(client, "clerk-a")
    assert client.get("/staff/service/supervision").status_code == 403
    staff_sign_in(client, "supervisor-a")
    page = client.get("/staff/service/supervision").get_data(as_text=True)
    assert 'data-kind="fault_repair"' in page and "100.0%" in page and "=树枝碰线" in page
    csv_text = client.get("/staff/service/supervision.csv?days=7").get_data(as_text=True)
    lines = csv_text.lstrip("\ufeff").splitlines()
    assert "on_time_rate,fault_repair,单位甲,1.0000,4,4" in lines  # four steps, each done in time
    assert "cause,fault_repair,,'=树枝碰线,1," in lines  # a formula-looking cause stays text
    assert "satisfaction,fault_repair,,4.00,1," in lines


def test_the_queue_shows_one_unit_of_the_callers_subtree(client, world, session) -> None:
    from core.identity import create_unit
    from tests.support import make_account

    station = create_unit(session, "UA1", "甲一供电所", world.unit_a.code)
    make_account(session, "1000000009", station, lat=30.2801, lon=120.1701)
    session.commit()
    at_station = open_ticket(client, world, "clerk", kind="enquiry", account_no="1000000009").get_json()["ticket_no"]
    at_a = open_ticket(client, world, kind="enquiry").get_json()["ticket_no"]
    staff_sign_in(client, "clerk-a")
    both = client.get("/staff/service").get_data(as_text=True)
    assert set(re.findall(r'data-ticket="(\d+)"', both)) == {at_station, at_a} and 'name="unit"' in both
    one = client.get("/staff/service?unit=UA1").get_data(as_text=True)
    assert re.findall(r'data-ticket="(\d+)"', one) == [at_station]


def test_the_supervisor_sees_each_units_arrival_restoration_and_complaints_and_may_pick_one_unit(
    client, world, session
) -> None:
    from core.identity import create_unit
    from tests.support import make_account

    station = create_unit(session, "UA1", "甲一供电所", world.unit_a.code)
    make_account(session, "1000000009", station, lat=30.2801, lon=120.1701)
    session.commit()
    repair = open_ticket(client, world, "clerk", kind="fault_repair", account_no="1000000009").get_json()
    for step, extra in [("dispatched", {"crew": "一班"}), ("on_site", {}), ("restored", {"cause": "树枝碰线"})]:
        assert move(client, world, repair["ticket_no"], to=step, **extra).status_code == 200
    open_ticket(client, world)  # a complaint of the own account, in 单位甲 itself
    staff_sign_in(client, "supervisor-a")
    page = client.get("/staff/service/supervision").get_data(as_text=True)
    rows = dict(re.findall(r'<tr data-unit="([^"]+)">(.*?)</tr>', page, re.S))
    assert set(rows) == {"单位甲", "甲一供电所"}
    assert "0 分钟，承诺 45" in rows["甲一供电所"] and "0.0 小时，承诺 3" in rows["甲一供电所"]
    assert "超时" not in rows["甲一供电所"] and "10000.00" in rows["单位甲"]  # one complaint, one account
    assert "各单位按时率" in page  # the chart per unit
    csv_text = client.get("/staff/service/supervision.csv?days=7").get_data(as_text=True)
    lines = csv_text.lstrip("\ufeff").splitlines()
    assert "unit_arrival_minutes,fault_repair,甲一供电所,0.0,,45" in lines
    assert "unit_restoration_hours,fault_repair,甲一供电所,0.00,,3" in lines
    assert "unit_on_time_rate,,甲一供电所,1.0000,3,3" in lines
    one = client.get("/staff/service/supervision.csv?days=7&unit=UA1").get_data(as_text=True)
    assert "单位甲" not in one and "unit_on_time_rate,,甲一供电所,1.0000,3,3" in one.lstrip("\ufeff").splitlines()
    outside = client.get("/staff/service/supervision?unit=UB").get_data(as_text=True)  # not one of the caller's
    assert "单位乙" not in outside and 'data-unit="单位甲"' in outside
