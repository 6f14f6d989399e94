"""Incidents: fault reports from one street within minutes are one incident; its outage notice and restoration."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from notifications.models import Notice
from servicedesk.models import Incident, Ticket
from tests.servicedesk.helpers import STREET, fault, inbox_titles

NOTICE = {
    "title": "故障停电",
    "body": "线路故障抢修中",
    "starts_at": "2026-12-07T08:30:00+08:00",
    "ends_at": "2026-12-07T12:30:00+08:00",
}


def _three_reports(client, world) -> list[str]:
    numbers = [fault(client, world, *STREET[0], role="customer").get_json()["ticket_no"]]
    numbers += [fault(client, world, lat, lon).get_json()["ticket_no"] for lat, lon in STREET[1:]]
    return numbers


def test_two_reports_are_no_incident_and_the_third_from_the_street_makes_one(client, world, session) -> None:
    first, second = (fault(client, world, lat, lon).get_json()["ticket_no"] for lat, lon in STREET[:2])
    assert session.scalar(select(Incident.id)) is None
    third = fault(client, world, *STREET[2]).get_json()
    assert third["incident_id"] is not None
    incidents = client.get("/api/v1/incidents", headers=world.headers("clerk")).get_json()
    assert incidents["total"] == 1 and incidents["items"][0]["ticket_count"] == 3
    grouped = session.scalars(select(Ticket.ticket_no).where(Ticket.incident_id == third["incident_id"])).all()
    assert set(grouped) == {first, second, third["ticket_no"]}


def test_a_report_far_away_or_long_after_joins_no_incident(client, world, session) -> None:
    _three_reports(client, world)
    far = fault(client, world, 30.29, 120.18).get_json()  # about 3 km away
    assert far["incident_id"] is None
    incident = session.scalar(select(Incident))
    incident.last_reported_at -= dt.timedelta(hours=2)
    session.commit()
    late = fault(client, world, *STREET[0]).get_json()
    assert late["incident_id"] is None


def test_the_incident_becomes_an_outage_notice_for_the_accounts_around_it(client, world, session) -> None:
    _three_reports(client, world)
    incident_id = session.scalar(select(Incident.id))
    response = client.post(
        f"/api/v1/incidents/{incident_id}/outage-notice", json=NOTICE, headers=world.headers("clerk")
    )
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["accounts"] == 1 and body["recipients"] == 1  # the world's own account is on that street
    notice = session.get(Notice, body["notice_id"])
    assert notice is not None and notice.kind == "outage" and notice.area["type"] == "Polygon"
    assert "故障停电" in inbox_titles(client, world)
    incident = client.get(f"/api/v1/incidents/{incident_id}", headers=world.headers("clerk")).get_json()
    assert incident["status"] == "announced" and incident["notice_id"] == body["notice_id"]


def test_restoration_closes_the_grouped_tickets_and_tells_their_reporters(client, world, session) -> None:
    numbers = _three_reports(client, world)
    incident_id = session.scalar(select(Incident.id))
    response = client.post(
        f"/api/v1/incidents/{incident_id}/restoration", json={"cause": "变压器故障"}, headers=world.headers("clerk")
    )
    assert response.status_code == 200 and response.get_json()["closed"] == 3
    statuses = session.scalars(select(Ticket.status).where(Ticket.ticket_no.in_(numbers))).all()
    assert set(statuses) == {"closed"}
    reporter_ticket = numbers[0]
    assert any(reporter_ticket in title and "办结" in title for title in inbox_titles(client, world))
    again = client.post(
        f"/api/v1/incidents/{incident_id}/restoration", json={"cause": "x"}, headers=world.headers("clerk")
    )
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "incident_restored"


def test_a_backlog_of_reports_is_grouped_at_once_by_the_same_rule(client, world, session, monkeypatch) -> None:
    from servicedesk import incidents, settings

    monkeypatch.setitem(settings.SETTINGS._current, "SERVICEDESK_INCIDENT_MIN_REPORTS", 99)  # no grouping on intake
    street = [fault(client, world, lat, lon).get_json()["ticket_no"] for lat, lon in STREET]
    alone = fault(client, world, 30.29, 120.18).get_json()["ticket_no"]
    monkeypatch.setitem(settings.SETTINGS._current, "SERVICEDESK_INCIDENT_MIN_REPORTS", 3)
    now = dt.datetime.now(dt.UTC)
    made = incidents.group_reports(session, now - dt.timedelta(hours=1), now + dt.timedelta(minutes=1))
    session.commit()
    assert [i.ticket_count for i in made] == [3]
    grouped = dict(session.execute(select(Ticket.ticket_no, Ticket.incident_id)).all())
    assert {grouped[n] for n in street} == {made[0].id} and grouped[alone] is None
