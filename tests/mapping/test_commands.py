"""A service point is one command for the API, the admin's form and an imported file: same checks, same codes."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from mapping.commands import NewServicePoint, ServicePointChange
from tests.support import staff_sign_in
from webapp.errors import render

ZH = {"Accept-Language": "zh-CN"}
HALL = {"name": "西湖营业厅", "kind": "business_hall", "address": "杭州市西湖区文三路259号"}


def _codes(error: InvalidInput) -> dict[str, str]:
    return {field: problem.code for field, problem in error.problems.items()}


def test_a_point_reports_every_problem_at_once() -> None:
    with pytest.raises(InvalidInput) as caught:
        NewServicePoint.parse(
            {"name": "", "kind": "castle", "address": "杭州", "lat": "95", "hours": {"mon": "8-5"}, "services": ["spa"]}
        )
    assert _codes(caught.value) == {
        "name": "required",
        "kind": "not_a_choice",
        "lat": "at_most",
        "lon": "lat_lon_together",
        "hours": "hours_format",
        "services": "unknown_services",
    }
    assert caught.value.problems["hours"].params == {"days": ["mon"]}


def test_a_change_names_only_what_changes() -> None:
    assert ServicePointChange.parse({"phone": "0571-1"}).values() == {"phone": "0571-1"}
    assert NewServicePoint.parse({**HALL, "services": ["invoice", "invoice"]}).values()["services"] == ["invoice"]


@pytest.mark.parametrize(
    ("field", "value", "code"), [("code", "坏 码", "code_format"), ("lat", "30.2", "lat_lon_together")]
)
def test_the_api_and_the_page_refuse_the_same_point(app, client, world, field: str, value: str, code: str) -> None:
    api = client.post("/api/v1/admin/service-points", json={**HALL, field: value}, headers=world.headers("admin"))
    assert api.status_code == 422
    problems = api.get_json()["error"]["details"]["problems"]
    assert {name: problem["code"] for name, problem in problems.items()} == {"lon" if field == "lat" else field: code}
    token = staff_sign_in(client, "admin-a")
    page = client.post("/staff/service-points/new", data={"csrf_token": token, **HALL, field: value}, headers=ZH)
    assert page.status_code == 422
    with app.test_request_context(headers=ZH):
        expected = render(code, problems[next(iter(problems))]["params"])
    assert expected in page.get_data(as_text=True)
