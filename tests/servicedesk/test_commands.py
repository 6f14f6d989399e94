"""A ticket is one command for the API and the pages: same checks, same codes."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from servicedesk.commands import AnonymousReport, MoveTicket, OpenTicket
from tests.servicedesk.helpers import STREET, fault, move, open_ticket
from tests.servicedesk.test_pages import _form_token, _report, _sign_in
from tests.support import csrf_token, staff_sign_in
from webapp.errors import render


def _codes(error: InvalidInput) -> dict[str, str]:
    return {field: problem.code for field, problem in error.problems.items()}


def test_a_ticket_reports_every_problem_at_once() -> None:
    with pytest.raises(InvalidInput) as caught:
        OpenTicket.parse({"kind": "outage", "description": "", "lat": "30.2", "contact_phone": "call me"})
    assert _codes(caught.value) == {
        "kind": "not_a_choice",
        "description": "required",
        "contact_phone": "wrong_format",
        "lon": "lat_and_lon",
    }


def test_a_fault_report_needs_a_place_or_an_account_and_a_passer_by_both_a_place_and_a_phone() -> None:
    with pytest.raises(InvalidInput) as caught:
        OpenTicket.parse({"kind": "fault_repair", "description": "停电"})
    assert _codes(caught.value) == {"lat": "place_or_account"}
    assert OpenTicket.parse({"kind": "fault_repair", "description": "停电", "account_no": "1000000001"})
    with pytest.raises(InvalidInput) as caught:
        AnonymousReport.parse({"kind": "enquiry", "description": "电价？"})
    assert _codes(caught.value) == {"kind": "sign_in_for_kind", "lat": "required", "contact_phone": "required"}


@pytest.mark.parametrize(
    ("to", "field"), [("dispatched", "crew"), ("restored", "cause"), ("replied", "note"), ("merged", "into")]
)
def test_a_step_names_what_it_needs(to: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        MoveTicket.parse({"to": to})
    assert _codes(caught.value) == {field: "required"}


def test_the_api_and_the_fault_form_refuse_a_report_without_a_phone_alike(client, world) -> None:
    lat, lon = STREET[0]
    api = open_ticket(client, world, None, kind="fault_repair", description="停电", lat=lat, lon=lon)
    assert api.get_json()["error"]["details"]["problems"]["contact_phone"]["code"] == "required"
    page = _report(client, description="停电", lat=str(lat), lon=str(lon), contact_phone="")
    assert page.status_code == 422
    with client.application.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert render("required", {}) in page.get_data(as_text=True)
    assert 'id="contact_phone-error"' in page.get_data(as_text=True)


def test_the_api_and_the_complaint_form_refuse_an_empty_description_alike(client, world) -> None:
    api = open_ticket(client, world, description="")
    assert api.get_json()["error"]["details"]["problems"]["description"]["code"] == "required"
    _sign_in(client)
    page = client.post(
        "/service/new", data={"csrf_token": _form_token(client, "/service/new"), "kind": "complaint", "description": ""}
    )
    assert page.status_code == 422 and 'id="description-error"' in page.get_data(as_text=True)


def test_the_api_and_the_staff_form_refuse_a_dispatch_without_a_crew_alike(client, world) -> None:
    ticket_no = fault(client, world, *STREET[0], role="customer").get_json()["ticket_no"]
    api = move(client, world, ticket_no, to="dispatched")
    assert api.get_json()["error"]["details"]["problems"]["crew"]["code"] == "required"
    staff_sign_in(client, "clerk-a")
    page_path = f"/staff/service/tickets/{ticket_no}"
    token = csrf_token(client.get(page_path).get_data(as_text=True))
    page = client.post(page_path, data={"csrf_token": token, "to": "dispatched"})
    assert page.status_code == 422 and 'id="crew-error"' in page.get_data(as_text=True)
