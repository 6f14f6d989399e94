"""The audit's commands: the API and the supervisor's forms refuse the same input with the same codes."""

from __future__ import annotations

import pytest

from audit.commands import RequestRun, TransitionFinding
from audit.models import Finding
from core.errors import InvalidInput
from tests.support import csrf_token, staff_sign_in
from webapp.errors import render

ZH = {"Accept-Language": "zh-CN"}


def _shown(app, label: str, code: str) -> str:  # type: ignore[no-untyped-def]
    with app.test_request_context(headers=ZH):
        return f"{label}：{render(code)}"


def _codes(error: InvalidInput) -> dict[str, str]:
    return {field: problem.code for field, problem in error.problems.items()}


@pytest.mark.parametrize(
    ("body", "codes"),
    [
        ({"to": "waived", "reason": " "}, {"reason": "waiver_needs_reason"}),
        ({"to": "assigned"}, {"assignee": "required"}),
        ({"to": "sideways"}, {"to": "not_a_choice"}),
        ({"to": "waived", "reason": "x" * 2001}, {"reason": "too_long"}),
    ],
)
def test_a_transition_is_checked_once(body: dict, codes: dict) -> None:
    with pytest.raises(InvalidInput) as caught:
        TransitionFinding.parse(body)
    assert _codes(caught.value) == codes


def test_a_run_scope_names_an_account_by_its_number() -> None:
    with pytest.raises(InvalidInput) as caught:
        RequestRun.parse({"scope": {"account_no": "abc"}})
    assert _codes(caught.value) == {"scope.account_no": "wrong_format"}
    assert RequestRun.parse({"scope": {"unit": "", "account_no": ""}}).scope.unit is None


def test_a_waiver_without_a_reason_is_refused_by_the_api_and_the_page(app, client, world, session) -> None:
    finding = Finding(rule="T-TEST", severity="high", subject="doc:1", account_id=world.own_account.id, evidence={})
    session.add(finding)
    session.commit()
    api = client.post(
        f"/api/v1/audit/violations/{finding.id}/transitions",
        json={"to": "waived", "reason": ""},
        headers=world.headers("supervisor"),
    )
    assert api.status_code == 422
    assert api.get_json()["error"]["details"]["problems"] == {"reason": {"code": "waiver_needs_reason", "params": {}}}
    staff_sign_in(client, "supervisor-a")
    url = f"/staff/audit/findings/{finding.id}"
    token = csrf_token(client.get(url).get_data(as_text=True))
    client.post(f"{url}/transition", data={"csrf_token": token, "to": "waived", "reason": ""})
    assert _shown(app, "豁免理由", "waiver_needs_reason") in client.get(url, headers=ZH).get_data(as_text=True)
    session.rollback()
    assert session.get(Finding, finding.id).status == "open"
