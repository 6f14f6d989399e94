"""The supervisor's workflow through the API: assign, remediate, waive with a reason, who may do what."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from audit.commands import TransitionFinding
from audit.findings import transition
from audit.models import Finding, FindingEvent
from audit.topics import FINDING_ASSIGNED
from core.identity import create_user
from core.trail import TrailEvent
from tests.support import PASSWORD


def _finding(session, account, subject="account:x") -> int:  # type: ignore[no-untyped-def]
    finding = Finding(rule="T-TEST", severity="high", subject=subject, account_id=account.id, evidence={"a": 1})
    session.add(finding)
    session.commit()
    return finding.id


def _move(client, world, role, fid, **body):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/audit/violations/{fid}/transitions", json=body, headers=world.headers(role))


def test_supervisor_assigns_and_the_assignment_is_announced_with_it(client, world, session, held_outbox) -> None:
    fid = _finding(session, world.own_account)
    archivist = world.users["archivist"]
    response = _move(client, world, "supervisor", fid, to="assigned", assignee=archivist.id)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "assigned" and body["assignee"]["id"] == archivist.id
    assert held_outbox.messages() == [
        {"finding_id": fid, "assignee_id": archivist.id, "account_no": "1000000001", "rule": "T-TEST"}
    ]
    assert held_outbox.messages(FINDING_ASSIGNED) == held_outbox.messages()
    event = session.scalar(select(TrailEvent).where(TrailEvent.action == "finding.assigned"))
    assert event.actor_id == world.users["supervisor"].id
    assert event.before["status"] == "open" and event.after["assignee_id"] == archivist.id


def test_a_finding_without_an_account_is_worked_in_its_units_scope_and_named_by_its_application(
    client, world, session, held_outbox
) -> None:
    evidence = {"application_no": "YK20261001000001", "type": "new_lv_business"}
    finding = Finding(rule="YK-APPLICATION-LATE", severity="medium", subject="application:YK20261001000001",
                      account_id=None, unit_id=world.unit_a.id, evidence=evidence)  # fmt: skip
    session.add(finding)
    session.commit()
    clerk_b = create_user(session, "clerk-b", PASSWORD, "clerk", world.unit_b)
    session.commit()
    refused = _move(client, world, "supervisor", finding.id, to="assigned", assignee=clerk_b.id)
    assert refused.status_code == 422  # the finding's unit is not the assignee's
    clerk = world.users["clerk"]
    response = _move(client, world, "supervisor", finding.id, to="assigned", assignee=clerk.id)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["account_no"], body["application_no"], body["unit"]) == (None, "YK20261001000001", "UA")
    assert held_outbox.messages(FINDING_ASSIGNED) == [
        {"finding_id": finding.id, "assignee_id": clerk.id, "account_no": None,
         "application_no": "YK20261001000001", "rule": "YK-APPLICATION-LATE"}
    ]  # fmt: skip
    event = session.scalar(select(TrailEvent).where(TrailEvent.action == "finding.assigned"))
    assert event.account_no is None and event.after["application_no"] == "YK20261001000001"
    assert _move(client, world, "clerk", finding.id, to="remediated").status_code == 200
    shown = client.get(f"/api/v1/audit/violations/{finding.id}", headers=world.headers("supervisor")).get_json()
    assert shown["status"] == "remediated" and [h["kind"] for h in shown["history"]] == ["assigned", "remediated"]
    assert client.get("/api/v1/audit/violations", headers=world.headers("customer")).status_code == 403


def test_an_assignment_rolled_back_announces_nothing(world, session, held_outbox) -> None:
    fid = _finding(session, world.own_account)
    finding = session.get(Finding, fid)
    command = TransitionFinding.parse({"to": "assigned", "assignee": world.users["archivist"].id})
    transition(session, finding, world.users["supervisor"], command)
    session.rollback()
    assert held_outbox.messages() == []


def test_assignee_sees_and_remediates_only_what_is_assigned_to_them(client, world, session) -> None:
    fid = _finding(session, world.own_account)
    other = _finding(session, world.own_account, "account:y")
    archivist = world.users["archivist"]
    listed = client.get("/api/v1/audit/violations", headers=world.headers("archivist")).get_json()
    assert listed["total"] == 0
    assert _move(client, world, "supervisor", fid, to="assigned", assignee=archivist.username).status_code == 200
    listed = client.get("/api/v1/audit/violations", headers=world.headers("archivist")).get_json()
    assert [item["id"] for item in listed["items"]] == [fid]
    assert _move(client, world, "archivist", other, to="remediated").status_code == 403
    assert _move(client, world, "archivist", fid, to="waived", reason="x").status_code == 403
    response = _move(client, world, "archivist", fid, to="remediated")
    assert response.status_code == 200
    assert response.get_json()["resolution"] == "manual"


def test_waiver_needs_a_reason_and_keeps_it(client, world, session) -> None:
    fid = _finding(session, world.own_account)
    response = _move(client, world, "supervisor", fid, to="waived")
    assert response.status_code == 422
    assert "reason" in response.get_json()["error"]["details"]["fields"]
    response = _move(client, world, "supervisor", fid, to="waived", reason="客户已销户，无需补档")
    assert response.status_code == 200
    assert response.get_json()["reason"] == "客户已销户，无需补档"
    history = client.get(f"/api/v1/audit/violations/{fid}", headers=world.headers("supervisor")).get_json()["history"]
    assert history[-1]["kind"] == "waived" and history[-1]["reason"] == "客户已销户，无需补档"


def test_assignee_must_be_an_archivist_or_clerk_who_can_see_the_account(client, world, session) -> None:
    fid = _finding(session, world.own_account)
    outsider = create_user(session, "arch-b", PASSWORD, "archivist", world.unit_b)
    session.commit()
    for assignee in (outsider.id, world.users["supervisor"].id, 999999, "nobody"):
        response = _move(client, world, "supervisor", fid, to="assigned", assignee=assignee)
        assert response.status_code == 422, assignee
        assert response.get_json()["error"]["details"]["fields"]["assignee"]
    assert session.get(Finding, fid).status == "open"


def test_impossible_transitions_are_conflicts(client, world, session) -> None:
    fid = _finding(session, world.own_account)
    assert _move(client, world, "supervisor", fid, to="open").status_code == 409
    assert _move(client, world, "supervisor", fid, to="remediated").status_code == 200
    response = _move(client, world, "supervisor", fid, to="waived", reason="late")
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "invalid_transition"
    assert _move(client, world, "supervisor", fid, to="open").status_code == 200
    kinds = session.scalars(
        select(FindingEvent.kind).where(FindingEvent.finding_id == fid).order_by(FindingEvent.id)
    ).all()
    assert kinds == ["remediated", "open"]


def test_bad_transition_body_reports_every_field(client, world, session) -> None:
    fid = _finding(session, world.own_account)
    response = _move(client, world, "supervisor", fid, to="sideways", extra=1)
    assert response.status_code == 422
    fields = response.get_json()["error"]["details"]["fields"]
    assert "to" in fields and "extra" in fields


def test_supervisor_of_another_unit_gets_404(client, world, session) -> None:
    fid = _finding(session, world.foreign_account)
    assert _move(client, world, "supervisor", fid, to="remediated").status_code == 404
    assert client.get(f"/api/v1/audit/violations/{fid}", headers=world.headers("supervisor")).status_code == 404


def test_violations_filter_by_status_rule_unit_and_account(client, world, session) -> None:
    a = _finding(session, world.own_account, "account:a")
    _finding(session, world.own_account, "account:b")
    _move(client, world, "supervisor", a, to="waived", reason="ok")
    headers = world.headers("supervisor")
    page = client.get("/api/v1/audit/violations?status=waived", headers=headers).get_json()
    assert [i["id"] for i in page["items"]] == [a]
    item = page["items"][0]
    assert set(item) >= {"id", "rule", "severity", "account_no", "evidence", "status", "assignee", "found_at"}
    assert client.get("/api/v1/audit/violations?rule=T-TEST&unit=UA", headers=headers).get_json()["total"] == 2
    assert client.get("/api/v1/audit/violations?account_no=2000000001", headers=headers).get_json()["total"] == 0
    assert client.get("/api/v1/audit/violations?status=bogus", headers=headers).status_code == 422


STATUSES = ["open", "assigned", "remediated", "waived"]
ALLOWED = {  # (from, to) a supervisor may move a finding along, written down from the workflow
    ("open", "assigned"), ("assigned", "assigned"), ("open", "remediated"), ("assigned", "remediated"),
    ("open", "waived"), ("assigned", "waived"), ("remediated", "open"), ("waived", "open"),
}  # fmt: skip


@pytest.mark.parametrize("to", STATUSES)
@pytest.mark.parametrize("start", STATUSES)
def test_every_transition_between_statuses_is_allowed_or_a_conflict(client, world, session, start, to) -> None:
    from audit.models import FindingStatus

    assert set(STATUSES) == set(FindingStatus)
    fid = _finding(session, world.own_account)
    finding = session.get(Finding, fid)
    finding.status = start
    finding.assignee_id = world.users["archivist"].id if start == "assigned" else None
    finding.reason = "客户已销户" if start == "waived" else ""
    session.commit()
    response = _move(client, world, "supervisor", fid, to=to, assignee=world.users["clerk"].id, reason="已核实")
    session.expire_all()
    if (start, to) in ALLOWED:
        assert response.status_code == 200, response.get_json()
        assert session.get(Finding, fid).status == to
    else:
        assert response.status_code == 409 and response.get_json()["error"]["code"] == "invalid_transition"
        assert session.get(Finding, fid).status == start
