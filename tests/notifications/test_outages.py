"""Outage notices: area or account list, resolved within the sender's units, to the customers' inboxes."""

from __future__ import annotations

from sqlalchemy import func, select

from notifications.models import Delivery, Message, Notice
from tests.notifications.helpers import SQUARE, customer_with_account

WHEN = {"starts_at": "2026-12-05T08:30:00+08:00", "ends_at": "2026-12-05T17:30:00+08:00"}


def _announce(client, world, role="clerk", **body):
    payload = {"title": "计划停电", "body": "线路检修", **WHEN, **body}
    return client.post("/api/v1/notices/outages", json=payload, headers=world.headers(role))


def test_area_notice_reaches_customers_inside_the_area_and_the_senders_units_only(client, world, session) -> None:
    inside, _ = customer_with_account(session, world, 1, 30.27, 120.16)
    also_inside, _ = customer_with_account(session, world, 2, 30.265, 120.155)
    customer_with_account(session, world, 3, 30.30, 120.16)  # outside the square
    customer_with_account(session, world, 4, 30.27, 120.16, unit=world.unit_b)  # inside, other unit
    session.commit()
    response = _announce(client, world, area=SQUARE)
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    # the world's own account (30.27, 120.16, unit A) is inside too: its customer is told as well
    assert body["recipients"] == 3 and body["accounts"] == 3
    users = set(session.scalars(select(Message.user_id).where(Message.notice_id == body["notice_id"])))
    assert {inside.id, also_inside.id, world.users["customer"].id} == users
    inbox = client.get("/api/v1/me/notifications", headers=world.headers("customer")).get_json()
    assert inbox["items"][0]["title"] == "计划停电" and inbox["items"][0]["read"] is False and inbox["unread"] == 1


def test_account_list_notice_and_unknown_accounts_are_refused(client, world, session) -> None:
    response = _announce(client, world, account_nos=[world.own_account.account_no])
    assert response.status_code == 202 and response.get_json()["recipients"] == 1
    refused = _announce(client, world, account_nos=[world.own_account.account_no, world.foreign_account.account_no])
    assert refused.status_code == 422
    assert world.foreign_account.account_no in refused.get_json()["error"]["details"]["fields"]["account_nos"]


def test_bad_notice_reports_every_problem_and_stores_nothing(client, world, session) -> None:
    response = _announce(
        client,
        world,
        starts_at="2026-12-05T17:30:00+08:00",
        ends_at="2026-12-05T08:30:00+08:00",
        area={"type": "Polygon", "coordinates": [[[120.1, 30.2], [120.2, 30.2], [120.1, 30.3]]]},
    )
    assert response.status_code == 422
    fields = response.get_json()["error"]["details"]["fields"]
    assert {"ends_at", "area"} <= set(fields)
    both = _announce(client, world, area=SQUARE, account_nos=["1"])
    assert both.status_code == 422 and "area" in both.get_json()["error"]["details"]["fields"]
    assert session.scalar(select(func.count()).select_from(Notice)) == 0


def test_staff_see_progress_of_their_notices(client, world, session) -> None:
    notice_id = _announce(client, world, area=SQUARE).get_json()["notice_id"]
    detail = client.get(f"/api/v1/notices/{notice_id}", headers=world.headers("supervisor")).get_json()
    assert detail["progress"]["messages"] == detail["recipients"] == 1 and detail["progress"]["percent"] == 100.0
    listing = client.get("/api/v1/notices", headers=world.headers("archivist")).get_json()
    assert [n["id"] for n in listing["items"]] == [notice_id]


def test_marking_read_and_unread(client, world, session) -> None:
    _announce(client, world, area=SQUARE)
    _announce(client, world, area=SQUARE, title="第二次")
    headers = world.headers("customer")
    items = client.get("/api/v1/me/notifications", headers=headers).get_json()["items"]
    assert [i["title"] for i in items] == ["第二次", "计划停电"]  # newest first
    marked = client.post("/api/v1/me/notifications/read", json={"ids": [items[0]["id"]]}, headers=headers)
    assert marked.get_json() == {"updated": 1, "unread": 1}
    other = client.post("/api/v1/me/notifications/read", json={"ids": [items[0]["id"]]}, headers=world.headers("clerk"))
    assert other.status_code == 404  # someone else's message
    assert client.post("/api/v1/me/notifications/read", json={"all": True}, headers=headers).get_json()["unread"] == 0
    unread = client.get("/api/v1/me/notifications?unread=true", headers=headers).get_json()
    assert unread["total"] == 0


def test_the_inbox_counts_ride_on_its_page_and_hold_past_its_end(client, world, session) -> None:
    for n in range(3):
        _announce(client, world, area=SQUARE, title=f"停电{n}")
    headers = world.headers("customer")
    newest = client.get("/api/v1/me/notifications?per_page=2", headers=headers).get_json()
    client.post("/api/v1/me/notifications/read", json={"ids": [newest["items"][0]["id"]]}, headers=headers)

    def inbox(query: str) -> tuple[int, int, int]:
        body = client.get(f"/api/v1/me/notifications?{query}", headers=headers).get_json()
        return len(body["items"]), body["total"], body["unread"]

    assert inbox("per_page=2") == (2, 3, 2)
    assert inbox("per_page=2&page=2") == (1, 3, 2)
    assert inbox("per_page=2&page=3") == (0, 3, 2)  # past the end: counted on their own
    assert inbox("unread=true&per_page=1") == (1, 2, 2)
    assert inbox("unread=true&page=5") == (0, 2, 2)


def test_inbox_only_without_any_channel_makes_no_deliveries(client, world, session) -> None:
    _announce(client, world, area=SQUARE)
    assert session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_preview_counts_without_storing(client, world, session) -> None:
    response = client.post(
        "/api/v1/notices/outages/preview",
        json={"title": "计划停电", "body": "线路检修", **WHEN, "area": SQUARE},
        headers=world.headers("clerk"),
    )
    assert response.get_json() == {"recipients": 1, "accounts": 1}
    assert session.scalar(select(func.count()).select_from(Notice)) == 0


def test_health_reports_notification_state(client, world) -> None:
    report = client.get("/healthz", headers=world.headers("admin")).get_json()
    assert report["notifications"]["ok"] is True and report["notifications"]["dead_letters_24h"] == 0
