"""Tickets through the API: kinds, SLA clocks per step, transitions, ratings, reopening, anonymous reports."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core import clock, workdays
from servicedesk import settings
from servicedesk.models import Ticket, TicketPhoto
from tests.servicedesk.helpers import FAR_AWAY, STREET, fault, inbox_titles, move, open_ticket, png_bytes

# the flow of every kind, written down here (not imported): a new kind fails until it is classified
FLOWS = {
    "fault_repair": ["dispatched", "on_site", "restored", "closed"],
    "complaint": ["contacted", "replied", "closed"],
    "report": ["contacted", "replied", "closed"],
    "meter_check": ["contacted", "tested", "replied", "closed"],
    "opinion": ["replied", "closed"],
    "suggestion": ["replied", "closed"],
    "praise": ["replied", "closed"],
    "enquiry": ["replied", "closed"],
}
STEP_FIELDS = {"dispatched": {"crew": "抢修一班"}, "restored": {"cause": "树枝碰线"}, "replied": {"note": "已核实处理"}}


def _iso(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def test_the_flows_cover_every_kind() -> None:
    from servicedesk.models import TicketKind

    assert set(FLOWS) == {k.value for k in TicketKind}


@pytest.mark.parametrize("kind", sorted(FLOWS))
def test_each_kind_goes_through_its_steps_to_closed_and_its_reporter_hears_of_each(client, world, kind) -> None:
    extra = {"account_no": world.own_account.account_no}
    created = open_ticket(client, world, kind=kind, **extra)
    assert created.status_code == 201, created.get_json()
    ticket_no = created.get_json()["ticket_no"]
    assert created.get_json()["status"] == "received"
    for step in FLOWS[kind]:
        response = move(client, world, ticket_no, to=step, **STEP_FIELDS.get(step, {}))
        assert response.status_code == 200, (step, response.get_json())
        assert response.get_json()["status"] == step
    ticket = client.get(f"/api/v1/tickets/{ticket_no}", headers=world.headers("customer")).get_json()
    assert [s["step"] for s in ticket["steps"]] == FLOWS[kind]
    assert all(s["done_at"] for s in ticket["steps"])
    assert [e["action"] for e in ticket["timeline"]] == ["received", *FLOWS[kind]]
    assert ticket["due_at"] is None and ticket["closed_at"]
    # one notice per step the staff did (the customer's own report is acknowledged too)
    assert len([t for t in inbox_titles(client, world) if ticket_no in t]) == 1 + len(FLOWS[kind])


def test_a_complaint_is_due_for_contact_in_24_hours_and_for_an_answer_in_5_working_days(client, world) -> None:
    body = open_ticket(client, world, account_no=world.own_account.account_no).get_json()
    ticket = client.get(f"/api/v1/tickets/{body['ticket_no']}", headers=world.headers("clerk")).get_json()
    received = _iso(ticket["received_at"])
    due = {s["step"]: _iso(s["due_at"]) for s in ticket["steps"]}
    assert due["contacted"] - received == dt.timedelta(hours=24)
    assert clock.local(due["replied"]).date() == workdays.add(clock.local(received).date(), 5)
    assert _iso(body["due_at"]) == due["contacted"]


@pytest.mark.parametrize(
    ("area_class", "arrival", "restore"), [("urban", 45, 180), ("rural", 90, 240), ("remote", 120, 240)]
)
def test_a_fault_report_is_due_on_site_and_restored_within_the_published_limits_of_its_area(
    client, world, monkeypatch, area_class, arrival, restore
) -> None:
    if area_class != "urban":
        monkeypatch.setitem(settings.SETTINGS._current, "SERVICEDESK_AREA_CLASSES", f"{world.unit_a.code}={area_class}")
    body = fault(client, world, *STREET[0], role="customer").get_json()
    ticket = client.get(f"/api/v1/tickets/{body['ticket_no']}", headers=world.headers("clerk")).get_json()
    received = _iso(ticket["received_at"])
    due = {s["step"]: _iso(s["due_at"]) for s in ticket["steps"]}
    assert due["on_site"] - received == dt.timedelta(minutes=arrival)
    assert due["restored"] - received == dt.timedelta(minutes=restore)
    assert ticket["unit"] == world.unit_a.code  # the pin's nearest accounts are unit A's


def test_a_meter_check_is_due_tested_within_5_working_days(client, world) -> None:
    body = open_ticket(client, world, kind="meter_check", account_no=world.own_account.account_no).get_json()
    ticket = client.get(f"/api/v1/tickets/{body['ticket_no']}", headers=world.headers("clerk")).get_json()
    received = clock.local(_iso(ticket["received_at"])).date()
    tested = next(s for s in ticket["steps"] if s["step"] == "tested")
    assert clock.local(_iso(tested["due_at"])).date() == workdays.add(received, 5)


def test_a_step_outside_the_kinds_flow_or_behind_the_ticket_is_refused(client, world) -> None:
    ticket_no = open_ticket(client, world).get_json()["ticket_no"]
    wrong = move(client, world, ticket_no, to="dispatched", crew="一班")
    assert wrong.status_code == 409 and wrong.get_json()["error"]["code"] == "ticket_step_not_allowed"
    assert move(client, world, ticket_no, to="replied", note="已处理").status_code == 200
    back = move(client, world, ticket_no, to="contacted")
    assert back.status_code == 409


def test_steps_needing_a_crew_a_cause_or_a_reply_refuse_without_them(client, world) -> None:
    fault_no = fault(client, world, *STREET[0], role="customer").get_json()["ticket_no"]
    complaint_no = open_ticket(client, world).get_json()["ticket_no"]
    for ticket_no, to, field in [
        (fault_no, "dispatched", "crew"),
        (fault_no, "restored", "cause"),
        (complaint_no, "replied", "note"),
    ]:
        response = move(client, world, ticket_no, to=to)
        assert response.status_code == 422
        assert response.get_json()["error"]["details"]["problems"][field]["code"] == "required"


def test_the_reporter_rates_a_closed_ticket_once(client, world) -> None:
    ticket_no = open_ticket(client, world, kind="enquiry").get_json()["ticket_no"]
    early = client.post(f"/api/v1/tickets/{ticket_no}/rating", json={"score": 5}, headers=world.headers("customer"))
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "ticket_not_closed"
    move(client, world, ticket_no, to="replied", note="营业时间为 8:30-17:30")
    move(client, world, ticket_no, to="closed")
    bad = client.post(f"/api/v1/tickets/{ticket_no}/rating", json={"score": 6}, headers=world.headers("customer"))
    assert bad.status_code == 422
    rated = client.post(
        f"/api/v1/tickets/{ticket_no}/rating",
        json={"score": 4, "comment": "回复及时"},
        headers=world.headers("customer"),
    )
    assert rated.status_code == 200 and rated.get_json()["rating"]["score"] == 4
    again = client.post(f"/api/v1/tickets/{ticket_no}/rating", json={"score": 1}, headers=world.headers("customer"))
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_rated"


def test_the_reporter_reopens_within_the_window_and_not_after(client, world, session) -> None:
    ticket_no = open_ticket(client, world).get_json()["ticket_no"]
    move(client, world, ticket_no, to="closed")
    reopened = client.post(
        f"/api/v1/tickets/{ticket_no}/reopen", json={"reason": "问题没有解决"}, headers=world.headers("customer")
    )
    assert reopened.status_code == 200
    body = reopened.get_json()
    assert body["status"] == "received" and body["reopened"] == 1 and body["due_at"]
    assert all(s["done_at"] is None for s in body["steps"])
    move(client, world, ticket_no, to="closed")
    ticket = session.scalar(select(Ticket).where(Ticket.ticket_no == ticket_no))
    ticket.closed_at = ticket.closed_at - dt.timedelta(days=int(settings.get("SERVICEDESK_REOPEN_DAYS")) + 1)
    session.commit()
    late = client.post(
        f"/api/v1/tickets/{ticket_no}/reopen", json={"reason": "还是不行"}, headers=world.headers("customer")
    )
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "reopen_window_over"


def test_a_complaint_past_its_first_contact_deadline_is_overdue(client, world, session) -> None:
    ticket_no = open_ticket(client, world, account_no=world.own_account.account_no).get_json()["ticket_no"]
    fresh_no = open_ticket(client, world, kind="enquiry").get_json()["ticket_no"]
    ticket = session.scalar(select(Ticket).where(Ticket.ticket_no == ticket_no))
    ticket.received_at -= dt.timedelta(hours=25)
    for step in ticket.steps:
        step.due_at = step.due_at - dt.timedelta(hours=25)
    ticket.due_at -= dt.timedelta(hours=25)
    session.commit()
    overdue = client.get("/api/v1/tickets?overdue=true", headers=world.headers("clerk")).get_json()
    assert [t["ticket_no"] for t in overdue["items"]] == [ticket_no]
    assert overdue["items"][0]["urgency"] == "overdue"
    queue = client.get("/api/v1/tickets", headers=world.headers("clerk")).get_json()
    assert [t["ticket_no"] for t in queue["items"]] == [ticket_no, fresh_no]  # soonest due first


def test_escalation_marks_overdue_tickets_once_and_tells_the_supervisor(client, world, session) -> None:
    from servicedesk.tasks import escalate_overdue_tickets

    ticket_no = open_ticket(client, world).get_json()["ticket_no"]
    ticket = session.scalar(select(Ticket).where(Ticket.ticket_no == ticket_no))
    ticket.due_at = ticket.due_at - dt.timedelta(days=2)
    session.commit()
    assert escalate_overdue_tickets.delay().get()["escalated"] == 1
    assert escalate_overdue_tickets.delay().get()["escalated"] == 0
    assert len([t for t in inbox_titles(client, world, "supervisor") if ticket_no in t]) == 1
    timeline = client.get(f"/api/v1/tickets/{ticket_no}", headers=world.headers("clerk")).get_json()["timeline"]
    assert [e["action"] for e in timeline].count("escalated") == 1


def test_a_second_complaint_of_an_account_within_90_days_is_flagged_repeated(client, world) -> None:
    first = open_ticket(client, world, account_no=world.own_account.account_no).get_json()
    second = open_ticket(client, world, account_no=world.own_account.account_no).get_json()
    other_kind = open_ticket(client, world, kind="enquiry", account_no=world.own_account.account_no).get_json()
    assert (first["repeated"], second["repeated"], other_kind["repeated"]) == (False, True, False)


def test_a_customer_cannot_open_a_ticket_on_an_account_not_bound_to_them(client, world) -> None:
    response = open_ticket(client, world, account_no=world.foreign_account.account_no)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["problems"]["account_no"]["code"] == "unknown_account"


def test_merging_a_duplicate_closes_it_into_the_other(client, world) -> None:
    first = fault(client, world, *STREET[0], role="customer").get_json()["ticket_no"]
    second = fault(client, world, *STREET[1], role="customer").get_json()["ticket_no"]
    merged = move(client, world, second, to="merged", into=first)
    assert merged.status_code == 200
    assert merged.get_json()["status"] == "merged" and merged.get_json()["merged_into"] == first
    itself = move(client, world, first, to="merged", into=first)
    assert itself.status_code == 422


# --- anonymous fault reports -----------------------------------------------------------------------


def test_a_passer_by_reports_a_fault_with_a_pin_and_a_phone(client, world, session) -> None:
    response = fault(client, world, *STREET[0])
    assert response.status_code == 201, response.get_json()
    ticket = session.scalar(select(Ticket).where(Ticket.ticket_no == response.get_json()["ticket_no"]))
    assert ticket.reporter_id is None and ticket.contact_phone == "13912345678"
    assert ticket.unit_id == world.unit_a.id


def test_an_anonymous_report_needs_a_pin_and_a_phone_and_may_only_be_a_fault(client, world, session) -> None:
    no_phone = open_ticket(client, world, None, kind="fault_repair", lat=STREET[0][0], lon=STREET[0][1])
    assert no_phone.get_json()["error"]["details"]["problems"]["contact_phone"]["code"] == "required"
    no_pin = open_ticket(client, world, None, kind="fault_repair", contact_phone="13912345678")
    assert no_pin.get_json()["error"]["details"]["problems"]["lat"]["code"] in {"required", "place_or_account"}
    complaint = open_ticket(client, world, None, contact_phone="13912345678", lat=STREET[0][0], lon=STREET[0][1])
    assert complaint.status_code == 422
    assert complaint.get_json()["error"]["details"]["problems"]["kind"]["code"] == "sign_in_for_kind"
    assert session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_a_pin_outside_the_service_area_is_refused_and_nothing_is_kept(client, world, session) -> None:
    response = fault(client, world, *FAR_AWAY)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "outside_service_area"
    assert session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_a_configured_service_area_polygon_decides_instead_of_the_hull(client, world, monkeypatch) -> None:
    square = '{"type":"Polygon","coordinates":[[[116.3,39.8],[116.5,39.8],[116.5,40.0],[116.3,40.0],[116.3,39.8]]]}'
    monkeypatch.setitem(settings.SETTINGS._current, "SERVICEDESK_SERVICE_AREA", square)
    assert fault(client, world, *FAR_AWAY).status_code == 201
    assert fault(client, world, *STREET[0]).status_code == 422


def test_anonymous_reports_are_rate_limited_per_address(client, world, app, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "SERVICEDESK_ANONYMOUS_LIMIT", "2 per minute")
    assert [fault(client, world, *STREET[0]).status_code for _ in range(3)] == [201, 201, 429]
    assert fault(client, world, *STREET[0], role="customer").status_code == 201  # signed in: not limited


def test_a_photo_that_is_not_an_image_is_refused_and_nothing_is_kept(client, world, session) -> None:
    ticket_no = fault(client, world, *STREET[0], role="customer").get_json()["ticket_no"]
    url = f"/api/v1/tickets/{ticket_no}/photos"
    headers = world.headers("customer")
    import io

    fake = client.post(url, data={"photo": (io.BytesIO(b"<script>alert(1)</script>"), "x.jpg")}, headers=headers)
    assert fake.status_code == 422
    assert fake.get_json()["error"]["details"]["problems"]["photo"]["code"] == "not_an_image"
    assert session.scalar(select(func.count()).select_from(TicketPhoto)) == 0
    real = client.post(url, data={"photo": (io.BytesIO(png_bytes()), "x.png")}, headers=headers)
    assert real.status_code == 201
    shown = client.get(real.get_json()["url"], headers=headers)
    assert shown.status_code == 200 and shown.mimetype == "image/png" and shown.data == png_bytes()
